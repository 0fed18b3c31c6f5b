"""Exactly once (issue 10): identical requests released together against two real app processes
(gunicorn) on one database and one repository, 20 pairs each. Exactly one succeeds, the other gets a
clear Japanese message (never a 500), and git, the database and `doctor` agree afterwards."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask

from app.extensions import db
from app.manuals.models import Manual, ManualVersion
from app.org import services as org
from tests.helpers import FLASK, approve_step, git, make_manual, revise, submit, user
from tests.realproc import Client, app_env, together

if TYPE_CHECKING:
    import requests

pytestmark = pytest.mark.usefixtures("demo_users")
PAIRS = 20


def second_head() -> None:
    org.create_user(db.session, None, login="hq.kacho2", name="山本 和也", unit=user("hq.kacho").unit,
                    position="課長", password="tebiki-demo")
    db.session.commit()


def flash_of(res: requests.Response, client: Client) -> str:
    """What the user sees after this response (the page it redirects to, in the same browser)."""
    assert res.status_code == 302, (res.status_code, res.text[:2000])
    return client.get(res.headers["Location"]).text


def _flash_text(page: str) -> str:
    start = page.find('class="flashes"')
    return page[start:page.find("</div>", start)] if start >= 0 else "(no message)"


def doctor_clean(app: Flask) -> None:
    res = subprocess.run([FLASK, "--app", "app", "doctor"], env=app_env(app), capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0 and "問題 0件" in res.stdout, res.stdout + res.stderr


def publish_commits(slug: str) -> list[tuple[str, str]]:
    """(Revision, Revision-Id) of every commit on main for the manual, oldest first, parsed by git."""
    out = git("log", "--reverse", "--format=%(trailers:key=Revision,valueonly,separator=)|"
              "%(trailers:key=Revision-Id,valueonly,separator=)", "main", "--", f"manuals/{slug}.md")
    return [tuple(line.split("|")) for line in out.splitlines() if line]  # type: ignore[misc]


def check_versions(app: Flask, manual: Manual, revision_ids: list[int]) -> None:
    db.session.rollback()
    commits = publish_commits(manual.slug)
    numbers = [int(n) for n, _ in commits]
    assert numbers == list(range(1, len(revision_ids) + 2)), numbers  # 1 (import) .. N, no gap, no repeat
    assert [int(r) for _, r in commits[1:]] == revision_ids  # one commit per revision
    versions = db.session.query(ManualVersion).filter_by(manual_id=manual.id).order_by(ManualVersion.number).all()
    assert [v.number for v in versions] == numbers
    assert [v.commit_sha for v in versions] == git("log", "--reverse", "--format=%H", "main", "--",
                                                     f"manuals/{manual.slug}.md").split()
    assert manual.current_version == len(revision_ids) + 1
    doctor_clean(app)


@pytest.mark.parametrize("who", ["two_heads", "double_click"])
def test_final_approval_pairs_publish_once(app: Flask, two_servers: list[str], who: str) -> None:
    second_head()
    manual = make_manual()
    a = Client(two_servers[0], "hq.kacho")
    b = Client(two_servers[1], "hq.kacho2") if who == "two_heads" else a.on(two_servers[1])
    published: list[int] = []
    for i in range(PAIRS):
        revision = revise(manual, "hq.tanto", f"{14 + i}日以内", f"{15 + i}日以内", reason=f"期間を改める（{i}）")
        submit(revision)
        approve_step(revision, "hq.kakaricho")
        path = f"/revisions/{revision.id}/approve"
        ra, rb = together(lambda p=path: a.post(p, {"comment": "決裁"}), lambda p=path: b.post(p, {"comment": "決裁"}))
        pages = [flash_of(ra, a), flash_of(rb, b)]
        ok = [p for p in pages if "マニュアルを公布しました" in p]
        refused = [p for p in pages if "すでに決裁されています" in p]
        assert len(ok) == 1 and len(refused) == 1, [_flash_text(p) for p in pages]
        published.append(revision.id)
        db.session.rollback()  # a fresh snapshot: the servers wrote meanwhile
    check_versions(app, manual, published)


def _pairs(clients: tuple[Client, Client], paths: list[str], data: dict[str, str], ok_text: str, refused_text: str
           ) -> None:
    """For each path: both clients post at the same instant; exactly one succeeds, the other is told why."""
    a, b = clients
    for path in paths:
        ra, rb = together(lambda p=path: a.post(p, data), lambda p=path: b.post(p, data))
        pages = [flash_of(ra, a), flash_of(rb, b)]
        ok = [p for p in pages if ok_text in p]
        refused = [p for p in pages if refused_text in p]
        assert len(ok) == 1 and len(refused) == 1, [_flash_text(p) for p in pages]


def test_ruling_approval_pairs_publish_once(app: Flask, two_servers: list[str]) -> None:
    from app.notices.models import Notice
    from app.rulings import services as rulings
    from app.rulings.models import Inquiry

    second_head()
    manual = make_manual()
    ids = []
    for i in range(PAIRS):
        inquiry = rulings.file_inquiry(db.session, user("aoba.tanto"), kind="疑義照会", subject=f"照会{i}",
                                       body="受け付けてよいか。", manual=manual)
        rulings.save_answer(db.session, user("hq.tanto"), inquiry, answer="差し支えない。", basis="手引き 第2章",
                            tags=["受付"], share_all=True, submit=True)
        ids.append(inquiry.id)
    db.session.commit()
    a, b = Client(two_servers[0], "hq.kacho"), Client(two_servers[1], "hq.kacho2")
    _pairs((a, b), [f"/inquiries/{i}/approve" for i in ids], {"comment": ""}, "として全区に公表しました",
           "すでに決裁されています")
    db.session.rollback()
    rulings_ = db.session.query(Inquiry).filter(Inquiry.id.in_(ids)).order_by(Inquiry.number_seq).all()
    year = rulings_[0].number_year
    assert [r.number for r in rulings_] == [f"R{year}-{n:03d}" for n in range(1, PAIRS + 1)]
    for r in rulings_:  # one set of notices each: 7 ward sections + the owner unit's copy
        assert db.session.query(Notice).filter_by(ruling_id=r.id).count() == 8
    doctor_clean(app)


def test_notice_confirmation_pairs_confirm_once(app: Flask, two_servers: list[str]) -> None:
    from app.notices import inbox
    from app.notices.models import CONFIRMED, Notice

    inbox.set_delegate(db.session, user("aoba.kacho"), user("aoba.hoken.kakaricho"), True)
    for i in range(PAIRS):
        manual = make_manual(f"m-{i}", f"手引き{i}")
        revision = revise(manual, "hq.tanto", "14日以内", "21日以内")
        submit(revision)
        approve_step(revision, "hq.kakaricho")
        approve_step(revision, "hq.kacho")
    unit_id = user("aoba.kacho").unit_id
    ids = [n.id for n in db.session.query(Notice).filter_by(unit_id=unit_id).order_by(Notice.id)]
    assert len(ids) == PAIRS
    db.session.commit()
    a, b = Client(two_servers[0], "aoba.kacho"), Client(two_servers[1], "aoba.hoken.kakaricho")
    _pairs((a, b), [f"/notices/{i}/confirm" for i in ids], {"comment": "課内で説明済み"}, "周知済として確認しました",
           "すでに周知済として確認されています")
    db.session.rollback()
    assert {n.status for n in db.session.query(Notice).filter(Notice.id.in_(ids))} == {CONFIRMED}
    audit = db.session.execute(db.text("SELECT count(*) FROM audit_log WHERE action = 'notice.confirm'")).scalar()
    assert audit == PAIRS
    doctor_clean(app)


def test_handover_confirmation_pairs_confirm_once(app: Flask, two_servers: list[str]) -> None:
    from app.handover import handovers
    from app.handover.models import CONFIRMED, Handover

    second_head()
    unit = user("hq.kacho").unit
    ids = []
    for i in range(PAIRS):
        person = org.create_user(db.session, None, login=f"leaver{i}", name=f"異動 太郎{i}", unit=unit,
                                 position="担当", password="tebiki-demo")
        db.session.flush()
        handover = handovers.start(db.session, person, person)
        handovers.save(db.session, person, handover, duties="国保の資格", concerns="", default_successor_id=None, notes={},
                successors={}, submit=True)
        ids.append(handover.id)
    db.session.commit()
    a, b = Client(two_servers[0], "hq.kacho"), Client(two_servers[1], "hq.kacho2")
    _pairs((a, b), [f"/handovers/{i}" for i in ids], {"action": "confirm"}, "事務引継書を確認しました",
           "すでに確認されています")
    db.session.rollback()
    assert {h.status for h in db.session.query(Handover).filter(Handover.id.in_(ids))} == {CONFIRMED}
    doctor_clean(app)


def test_staff_import_apply_pairs_apply_once(app: Flask, two_servers: list[str], tmp_path: Path) -> None:
    from app.handover.models import Handover, StaffTransfer, TransferRound
    from app.org.models import User

    admin = Client(two_servers[0], "admin")
    second = admin.on(two_servers[1])
    movers = db.session.query(User).filter(User.login.like("%.tanto"), User.employee_no.is_not(None),
                                           ~User.login.like("%.hq.tanto")).order_by(User.id).all()[:PAIRS]
    assert len(movers) == PAIRS
    day = "2099-04-01"
    paths = []
    for i, person in enumerate(movers):
        csv_file = tmp_path / f"idou-{i}.csv"
        csv_file.write_text("職員番号,氏名,異動前所属,異動後所属,職,発令日\n"
                            f"{person.employee_no},{person.name},{person.unit.name},退職,担当,{day}\n",
                            encoding="utf-8")
        with csv_file.open("rb") as f:
            res = admin.http.post(admin.base + "/admin/staff-import", data={"csrf_token": admin.token},
                                  files={"file": (csv_file.name, f, "text/csv")}, allow_redirects=False, timeout=60)
        assert res.status_code == 302, res.text[:1000]
        token = res.headers["Location"].split("/admin/staff-import/")[1].split("?")[0]
        paths.append(f"/admin/staff-import/{token}/apply")
    _pairs((admin, second), paths, {"name": "idou.csv"}, "人事異動を反映しました", "すでに反映されています")
    db.session.rollback()
    assert db.session.query(TransferRound).count() == PAIRS
    assert db.session.query(StaffTransfer).count() == PAIRS
    assert db.session.query(Handover).count() == PAIRS
    doctor_clean(app)
