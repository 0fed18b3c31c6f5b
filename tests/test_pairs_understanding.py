"""Barrier pairs for the per-person evidence, the withdrawal of a 周知済, attachments and the search
synonyms: identical (or competing) requests released together by a barrier against two real app
processes (gunicorn) on one database and one repository, 20 pairs each.

What it proves, pair by pair and then in the database, in git (the real `git` CLI) and with
`flask doctor`:
- 「内容を確認しました」 double-clicked on two servers is recorded once (one timestamp, one audit row)
  and the 本庁 matrix counts the person once;
- 理解度確認 answers double-clicked record one answer set per attempt (all right: one attempt, one
  pass, the other click is told it is already complete; wrong: two whole attempts, never two sets
  under one attempt number), and the first-attempt figures count the person once;
- a 周知済 withdrawn by two people (or a double click) at once is withdrawn once, audited once, and
  the notice keeps the winner's name and reason together;
- an attachment uploaded into a draft from two servers with the same form (head) lands in exactly
  one commit on the draft's ref; the other is told its form is stale and nothing is lost (its retry
  with the new head lands in a commit of its own);
- two admins adding the same 正規形 at once: one group is saved, the other is told so and nothing of
  it is stored; two admins editing the same group at once: the stored group is one of the two
  submissions, never a mix, and the audit log's last entry says which.
Every response is a clear Japanese message or redirect (never a 500), and the server logs hold no
Traceback."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask

from app.audit import AuditEntry
from app.extensions import db
from app.notices import figures, quiz, reading, understanding
from app.notices import inbox as notice_inbox
from app.notices.models import CONFIRMED, PENDING, Answer, Notice, Receipt
from app.org import services as org
from app.org.models import User
from app.revisions.models import Revision, WorkflowEvent
from app.search import analysis, synonyms
from app.search.models import SynonymGroup
from tests import docx_samples
from tests.helpers import git, make_manual, revise, user
from tests.realproc import Client, together
from tests.test_exactly_once import _flash_text, doctor_clean, flash_of
from tests.test_notices_understanding import Q1, Q2, publish

pytestmark = pytest.mark.usefixtures("demo_users")
PAIRS = 20
WARD_PEOPLE = 21  # 保険年金課 of the 7 ward offices, 3 people each (課長, 係長, 担当)


def audits(action: str, **where: Any) -> list[AuditEntry]:
    return db.session.query(AuditEntry).filter_by(action=action, **where).order_by(AuditEntry.id).all()


def pages_of(results: list[Any], clients: tuple[Client, Client]) -> list[str]:
    """The page each browser sees after its response (both must be redirects, never an error)."""
    for res in results:
        assert isinstance(res, requests.Response), res
    return [flash_of(res, c) for res, c in zip(results, clients, strict=True)]


def both(a: Client, b: Client, path: str, form_a: dict[str, str] | None = None, form_b: dict[str, str] | None = None
         ) -> list[Any]:
    """a and b post their forms (b: the same as a unless given) to `path`, released by the barrier."""
    return together(lambda: a.post(path, form_a), lambda: b.post(path, form_a if form_b is None else form_b))


def targeted(revision: Revision) -> list[tuple[User, Notice]]:
    """Every ward person the publication is for, with their section's notice."""
    notices = [n for n in figures.publication_notices(db.session, revision_id=revision.id) if not n.owner_copy]
    return [(u, n) for n in notices for u, _ in reading.people(db.session, n)]


# --- 1. 「内容を確認しました」 ------------------------------------------------------------------------


def test_acknowledge_double_click_records_once(app: Flask, two_servers: list[str]) -> None:
    revision = publish(make_manual(), "major")
    people = targeted(revision)
    assert len(people) == WARD_PEOPLE
    done = []
    for person, notice in people[:PAIRS]:
        a = Client(two_servers[0], person.login)
        b = a.on(two_servers[1])
        path = f"/notices/{notice.id}/acknowledge"
        results = both(a, b, path)
        pages = pages_of(results, (a, b))
        assert [r.headers["Location"] for r in results] == [f"/notices/{notice.id}/read"] * 2
        # Both clicks say what is recorded (the second finds it recorded: nothing to refuse).
        assert all("「内容を確認しました」を記録しました（第2版）" in p for p in pages), [_flash_text(p) for p in pages]
        done.append((person.id, notice.id))
    db.session.rollback()
    for user_id, notice_id in done:
        r = db.session.query(Receipt).filter_by(user_id=user_id, notice_id=notice_id).one()
        assert r.acknowledged_at is not None and r.read_at is not None and r.passed_at is None
        (entry,) = audits("notice.acknowledge", actor_id=user_id, object_id=str(notice_id))  # exactly one
        assert entry.details_dict == {"number": 2}
    assert len(audits("notice.acknowledge")) == PAIRS
    acknowledged = db.session.query(Receipt).filter(Receipt.acknowledged_at.is_not(None)).count()
    assert acknowledged == PAIRS
    m = figures.matrix(db.session, user("hq.tanto"), revision_id=revision.id)
    assert sum(c.members for c in m.cells.values()) == WARD_PEOPLE  # each person once
    totals = {k: sum(c.people[k] for c in m.cells.values()) for k in ("unread", "read", "acknowledged", "passed")}
    assert totals == {"unread": WARD_PEOPLE - PAIRS, "read": 0, "acknowledged": PAIRS, "passed": 0}
    doctor_clean(app)


# --- 2. 理解度確認 ------------------------------------------------------------------------------


@pytest.mark.parametrize("answers", ["right", "wrong"])
def test_answers_double_click_record_one_attempt(app: Flask, two_servers: list[str], answers: str) -> None:
    revision = publish(make_manual(), "major", [Q1, Q2])
    people = targeted(revision)[:PAIRS]
    for person, notice in people:
        reading.acknowledge(db.session, person, notice)
    db.session.commit()
    q1, q2 = quiz.questions_for(db.session, people[0][1])
    # As the form sends them: the answers and the number of attempts the form was shown after.
    choices = {f"q{q1.id}": "1", f"q{q2.id}": "1" if answers == "right" else "0", "after": "0"}
    for person, notice in people:
        a = Client(two_servers[0], person.login)
        b = a.on(two_servers[1])
        path = f"/notices/{notice.id}/answers"
        pages = pages_of(both(a, b, path, choices), (a, b))
        flashes = [_flash_text(p) for p in pages]
        if answers == "right":
            assert sum("全問正解です。理解度確認が完了しました。" in p for p in pages) == 1, flashes
            assert sum("理解度確認はすでに全問正解で完了しています。" in p for p in pages) == 1, flashes
        else:  # a wrong answer may be tried again, from the page that shows the result: not twice from one form
            assert sum("不正解の設問があります（問2）" in p for p in pages) == 1, flashes
            assert sum("この回答はすでに受け付けています" in p for p in pages) == 1, flashes
    db.session.rollback()
    attempts = 1
    for person, notice in people:
        r = db.session.query(Receipt).filter_by(user_id=person.id, notice_id=notice.id).one()
        assert r.attempts == attempts and (r.passed_at is not None) == (answers == "right")
        rows = db.session.query(Answer).filter_by(user_id=person.id, notice_id=notice.id).all()
        # One whole set of answers per attempt, never two sets under one attempt number.
        assert sorted((a.attempt, a.question_id) for a in rows) == sorted(
            (n, q.id) for n in range(1, attempts + 1) for q in (q1, q2))
        passed = audits("notice.passed", actor_id=person.id, object_id=str(notice.id))
        assert [e.details_dict for e in passed] == ([{"attempts": 1}] if answers == "right" else [])
    m = figures.matrix(db.session, user("hq.tanto"), revision_id=revision.id)
    totals = {k: sum(c.people[k] for c in m.cells.values()) for k in ("unread", "read", "acknowledged", "passed")}
    if answers == "right":
        assert totals == {"unread": WARD_PEOPLE - PAIRS, "read": 0, "acknowledged": 0, "passed": PAIRS}
    else:
        assert totals == {"unread": WARD_PEOPLE - PAIRS, "read": 0, "acknowledged": PAIRS, "passed": 0}
    r1, r2 = understanding.results(db.session, m.notices).questions
    # First attempts only, each person once.
    assert (r1.answered, r1.correct) == (PAIRS, PAIRS)
    assert (r2.answered, r2.correct) == (PAIRS, PAIRS if answers == "right" else 0)
    doctor_clean(app)


# --- 3. 周知済の取消し ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["two_people", "double_click"])
def test_withdrawal_pairs_withdraw_once(app: Flask, two_servers: list[str], who: str) -> None:
    kacho, chief = user("aoba.kacho"), user("aoba.hoken.kakaricho")
    notice_inbox.set_delegate(db.session, kacho, chief, True)
    revision = publish(make_manual())
    notice = next(n for u, n in targeted(revision) if u.id == chief.id)
    notice_id = notice.id
    db.session.commit()
    a = Client(two_servers[0], "aoba.kacho")
    b = Client(two_servers[1], "aoba.hoken.kakaricho") if who == "two_people" else a.on(two_servers[1])
    names = {a: kacho.name, b: chief.name if who == "two_people" else kacho.name}
    path = f"/notices/{notice_id}/withdraw"
    for i in range(PAIRS):
        notice = db.session.get(Notice, notice_id)
        notice_inbox.confirm(db.session, chief, notice, f"朝礼で説明（{i}）")  # confirmed again each round
        db.session.commit()
        reasons = {a: f"説明していない職員がいた（{i}）",
                   b: f"対象の係を誤った（{i}）" if who == "two_people" else f"説明していない職員がいた（{i}）"}
        results = both(a, b, path, {"reason": reasons[a]}, {"reason": reasons[b]})
        pages = pages_of(results, (a, b))
        won = [c for c, p in zip((a, b), pages, strict=True) if "周知済を取り消しました。この課は未確認に戻りました" in p]
        lost = [p for p in pages if "この通知は周知済ではありません（すでに取り消されたか、失効しています）。" in p]
        assert len(won) == 1 and len(lost) == 1, [_flash_text(p) for p in pages]
        db.session.rollback()
        notice = db.session.get(Notice, notice_id)
        # The winner's name and reason, together (never one's name with the other's reason).
        assert (notice.status, notice.withdrawn_by_name, notice.withdraw_reason) == (PENDING, names[won[0]],
                                                                                    reasons[won[0]])
        assert notice.confirmed_by_id is None and notice.confirmed_at is None
        entry = audits("notice.withdraw")[-1]
        assert (entry.actor_name, entry.details_dict["reason"], entry.details_dict["confirmed_by"]) == (
            names[won[0]], reasons[won[0]], chief.name)
        db.session.rollback()
    assert len(audits("notice.withdraw")) == PAIRS
    assert len(audits("notice.confirm")) == PAIRS
    m = figures.matrix(db.session, user("hq.tanto"), revision_id=revision.id)
    assert {c.notice.status for c in m.cells.values()} == {PENDING}
    assert db.session.query(Notice).filter_by(owner_copy=False, status=CONFIRMED).count() == 0
    doctor_clean(app)


# --- 4. 添付ファイル ------------------------------------------------------------------------------


STALE = "この改正案は、画面を開いた後に他の人（または別の画面）が保存しています。"


def blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324  (git's object name)


def draft_commits(revision: Revision) -> list[tuple[str, list[str]]]:
    """(sha, paths changed) of every commit on the draft's ref since it started, oldest first (git CLI)."""
    out = git("-c", "core.quotepath=false", "log", "--reverse", "--format=@%H", "--name-only", f"{revision.base_commit}..{revision.ref}")
    commits: list[tuple[str, list[str]]] = []
    for line in out.splitlines():
        if line.startswith("@"):
            commits.append((line[1:], []))
        elif line:
            commits[-1][1].append(line)
    return commits


def upload(client: Client, revision_id: int, name: str, data: bytes, head: str) -> requests.Response:
    return client.post(f"/api/revisions/{revision_id}/files", {"head": head}, files={"file": (name, data, "image/png")})


def uploads(clients: tuple[Client, Client], revision_id: int, files: list[tuple[str, bytes]], head: str
            ) -> list[Any]:
    """Each client uploads its file into the draft with the same form (head), released by the barrier."""
    (a, b), (fa, fb) = clients, files
    return together(lambda: upload(a, revision_id, *fa, head), lambda: upload(b, revision_id, *fb, head))


def outcome(results: list[Any]) -> tuple[dict[str, Any], dict[str, Any], int]:
    """(the accepted upload's JSON, the refused one's JSON, the index of the accepted one)."""
    for res in results:
        assert isinstance(res, requests.Response), res
    assert sorted(r.status_code for r in results) == [200, 409], [(r.status_code, r.text[:500]) for r in results]
    won = next(i for i, r in enumerate(results) if r.status_code == 200)
    return results[won].json(), results[1 - won].json(), won


def check_draft(app: Flask, revision_id: int, uploaded: list[tuple[str, bytes]]) -> None:
    """One commit per file on the draft's ref, in order, each file's content intact; git and the database agree."""
    db.session.rollback()
    revision = db.session.get(Revision, revision_id)
    slug = revision.manual.slug
    commits = draft_commits(revision)
    assert commits[0][1] == [f"manuals/{slug}.md"]  # the text saved by revise()
    assert [paths for _, paths in commits[1:]] == [[f"manuals/{slug}/files/{n}"] for n, _ in uploaded]
    assert git("rev-parse", revision.ref).strip() == revision.head_commit == commits[-1][0]
    for name, data in uploaded:
        assert git("rev-parse", f"{revision.ref}:manuals/{slug}/files/{name}").strip() == blob_sha(data)
    tree = git("-c", "core.quotepath=false", "ls-tree", "--name-only", f"{revision.ref}:manuals/{slug}/files").split()
    assert sorted(tree) == sorted(n for n, _ in uploaded)
    assert [e.details_dict["name"] for e in audits("revision.attach", object_id=str(revision_id))] == [
        n for n, _ in uploaded]
    saves = db.session.query(WorkflowEvent).filter_by(revision_id=revision_id, action="save").count()
    assert saves == 1 + len(uploaded)
    doctor_clean(app)


def test_same_attachment_uploaded_twice_at_once_lands_once(app: Flask, two_servers: list[str]) -> None:
    revision = revise(make_manual(), "hq.tanto", "14日以内", "21日以内")
    revision_id = revision.id
    a = Client(two_servers[0], "hq.tanto")
    b = a.on(two_servers[1])  # the same form, submitted on both servers
    head = revision.head_commit
    uploaded = []
    for i in range(PAIRS):
        name, data = f"窓口{i:02d}.png", docx_samples.png(color=(10 * i, 30, 30))
        accepted, refused, _ = outcome(uploads((a, b), revision_id, [(name, data)] * 2, head))
        assert (accepted["name"], accepted["replaced"], accepted["unchanged"]) == (name, False, False)
        assert accepted["head"] != head and name in [f["name"] for f in accepted["files"]]
        assert STALE in refused["error"], refused
        assert git("rev-parse", f"refs/heads/drafts/{revision_id}").strip() == accepted["head"]
        head = accepted["head"]
        uploaded.append((name, data))
    check_draft(app, revision_id, uploaded)


def test_two_attachments_uploaded_at_once_one_is_refused_and_nothing_is_lost(app: Flask, two_servers: list[str]
                                                                            ) -> None:
    revision = revise(make_manual(), "hq.tanto", "14日以内", "21日以内")
    revision_id = revision.id
    clients = (Client(two_servers[0], "hq.tanto"), Client(two_servers[1], "hq.kakaricho"))
    head = revision.head_commit
    uploaded = []
    for i in range(PAIRS):
        files = [(f"様式A{i:02d}.png", docx_samples.png(color=(10 * i, 60, 90))),
                 (f"様式B{i:02d}.png", docx_samples.png(color=(10 * i, 90, 60)))]
        accepted, refused, won = outcome(uploads(clients, revision_id, files, head))
        assert STALE in refused["error"], refused
        listed = [f["name"] for f in accepted["files"]]
        assert files[won][0] in listed and files[1 - won][0] not in listed  # refused: not written
        # Told its form is stale, the editor sends it again with the draft's new head: it lands too.
        retry = upload(clients[1 - won], revision_id, *files[1 - won], accepted["head"])
        assert retry.status_code == 200, retry.text[:500]
        assert {files[0][0], files[1][0]} <= {f["name"] for f in retry.json()["files"]}
        head = retry.json()["head"]
        uploaded += [files[won], files[1 - won]]
    check_draft(app, revision_id, uploaded)


# --- 5. 検索の同義語 -----------------------------------------------------------------------------


@pytest.fixture
def second_admin(app: Flask, demo_users: None) -> Iterator[None]:
    org.create_user(db.session, None, login="admin2", name="小林 恵美", unit=user("admin").unit, position="課長",
                    password="tebiki-demo", is_admin=True)
    db.session.commit()
    yield
    analysis.set_synonyms(analysis.SYNONYMS)  # this process analyses with the default table again
    synonyms._loaded[0] = None


def stored(canonical: str) -> tuple[list[str], str]:
    (group,) = db.session.query(SynonymGroup).filter_by(canonical=canonical).all()
    return group.variant_list, group.kind


@pytest.mark.usefixtures("second_admin")
def test_two_admins_adding_the_same_word_at_once_save_one_group(app: Flask, two_servers: list[str]) -> None:
    a, b = Client(two_servers[0], "admin"), Client(two_servers[1], "admin2")
    groups_before = len(analysis.SYNONYMS)
    for i in range(PAIRS):
        canonical = f"同時登録語{i}"
        forms = {a: {"canonical": canonical, "variants": f"甲語{i}、乙語{i}", "kind": "synonym"},
                 b: {"canonical": canonical, "variants": f"丙語{i} 丁語{i}", "kind": "variant"}}
        pages = pages_of(both(a, b, "/admin/search/synonyms", forms[a], forms[b]), (a, b))
        won = [c for c, p in zip((a, b), pages, strict=True) if f"「{canonical}」の組を保存しました。" in p]
        lost = [p for p in pages if f"「{canonical}」の組は、この画面を開いた後に他の管理者が登録しています" in p]
        assert len(won) == 1 and len(lost) == 1, [_flash_text(p) for p in pages]
        db.session.rollback()
        winner = forms[won[0]]
        assert stored(canonical) == (synonyms.split_words(winner["variants"]), winner["kind"])  # all of one
        (entry,) = audits("search.synonyms", object_id=str(
            db.session.query(SynonymGroup.id).filter_by(canonical=canonical).scalar()))
        assert (entry.actor_name, entry.details_dict["variants"], entry.details_dict["before"]) == (
            user("admin").name if won[0] is a else "小林 恵美", synonyms.split_words(winner["variants"]), None)
        db.session.rollback()
    assert len(audits("search.synonyms")) == PAIRS
    assert db.session.query(SynonymGroup).count() == groups_before + PAIRS  # the defaults kept, no duplicate
    doctor_clean(app)


@pytest.mark.usefixtures("second_admin")
def test_two_admins_editing_one_group_at_once_save_one_edit(app: Flask, two_servers: list[str]) -> None:
    """Both edit forms were opened on the same state of the group (its stamp): one save is kept
    whole, the other is told the group changed since its form was opened, and nothing of it is stored."""
    groups = []
    for i in range(PAIRS):
        groups.append(synonyms.save(db.session, user("admin"), f"同時編集語{i}", f"元語{i}"))
    db.session.commit()
    a, b = Client(two_servers[0], "admin"), Client(two_servers[1], "admin2")
    for i, group in enumerate(groups):
        canonical = f"同時編集語{i}"
        # One changes the words only, the other the kind only: a mix would be neither.
        opened = {"group_id": str(group.id), "canonical": canonical, "stamp": group.stamp}
        forms = {a: {**opened, "variants": f"甲語{i}", "kind": "synonym"},
                 b: {**opened, "variants": f"元語{i}", "kind": "variant"}}
        pages = pages_of(both(a, b, "/admin/search/synonyms", forms[a], forms[b]), (a, b))
        won = [c for c, p in zip((a, b), pages, strict=True) if f"「{canonical}」の組を保存しました。" in p]
        lost = [p for p in pages if f"「{canonical}」の組は、編集画面を開いた後に他の管理者が変更しています" in p]
        assert len(won) == 1 and len(lost) == 1, [_flash_text(p) for p in pages]
        db.session.rollback()
        winner = forms[won[0]]
        assert stored(canonical) == ([winner["variants"]], winner["kind"])  # the kept save, whole
        entries = audits("search.synonyms", object_id=str(group.id))
        assert len(entries) == 2  # created, then the one save
        assert (entries[-1].details_dict["variants"], entries[-1].details_dict["kind"]) == ([winner["variants"]],
                                                                                            winner["kind"])
        db.session.rollback()
    assert len(audits("search.synonyms")) == 2 * PAIRS
    doctor_clean(app)


@pytest.mark.usefixtures("second_admin")
def test_two_admins_deleting_one_group_at_once_delete_it_once(app: Flask, two_servers: list[str]) -> None:
    ids = [synonyms.save(db.session, user("admin"), f"同時削除語{i}", f"消す語{i}").id for i in range(PAIRS)]
    db.session.commit()
    a, b = Client(two_servers[0], "admin"), Client(two_servers[1], "admin2")
    for group_id in ids:
        path = f"/admin/search/synonyms/{group_id}/delete"
        pages = pages_of(both(a, b, path, {}, {}), (a, b))
        assert sorted("組を削除しました。" in p for p in pages) == [False, True], [_flash_text(p) for p in pages]
        assert any("すでに削除されています" in p for p in pages), [_flash_text(p) for p in pages]
        db.session.rollback()
        assert db.session.get(SynonymGroup, group_id) is None
    assert len(audits("search.synonyms_delete")) == PAIRS
    doctor_clean(app)
