"""The revision lifecycle through the services, checked in the DB and with the real git CLI."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask

from app import events
from app.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.extensions import db
from app.manuals import services as manuals
from app.manuals.document import parse
from app.manuals.importer import import_documents
from app.manuals.models import Manual, ManualVersion
from app.org.services import find_unit
from app.revisions import base, consultation, drafting, models, publishing, route
from app.revisions.models import CONSULTATION, DRAFT, IN_REVIEW, PUBLISHED, PUBLISHING, WITHDRAWN
from app.wareki import today_jst
from tests.helpers import approve_all, git, make_manual, manual_text, revise, user

pytestmark = pytest.mark.usefixtures("demo_users")


def test_full_lifecycle_writes_one_commit_per_published_version(app: Flask) -> None:
    manual = make_manual()
    revision = revise(manual, "hq.tanto", "14日以内", "30日以内", reason="審査期間を改める。")
    consultation.start_consultation(db.session, user("hq.tanto"), revision, today_jst() + timedelta(days=7))
    comment = consultation.add_comment(db.session, user("aoba.tanto"), revision, anchor="3-審査", body="期間の根拠を示してほしい。")
    db.session.commit()
    with pytest.raises(ValidationError, match="意見照会の期限.*前です"):
        route.submit(db.session, user("hq.tanto"), revision)  # the wards' time is not cut short silently
    with pytest.raises(ValidationError, match="未対応"):
        route.submit(db.session, user("hq.tanto"), revision, early=True)
    with pytest.raises(ValidationError, match="理由"):
        consultation.dispose_comment(db.session, user("hq.tanto"), revision, comment, disposition="not_reflected",
                                     reason="")
    consultation.dispose_comment(db.session, user("hq.tanto"), revision, comment, disposition="reflected",
                                 reason="根拠を追記")
    route.submit(db.session, user("hq.tanto"), revision, early=True)
    assert revision.state == IN_REVIEW
    assert route.approve(db.session, user("hq.kakaricho"), revision, "確認").final is False
    outcome = route.approve(db.session, user("hq.kacho"), revision)
    assert outcome.final and outcome.published is not None and outcome.published.number == 2
    db.session.commit()
    # What follows the publication was written with it, one reaction per consumer, and has run.
    reactions = db.session.query(events.Reaction).filter_by(topic="manual.published").all()
    assert sorted(r.consumer for r in reactions) == ["notices", "rendered_pages", "ruling_flags", "search_index"]
    assert {r.status for r in reactions} == {"done"}
    assert reactions[0].data == {"revision_id": revision.id, "manual_id": manual.id, "number": 2}
    db.session.expire_all()
    assert revision.state == PUBLISHED and revision.number == 2
    assert manual.current_version == 2
    v2 = manuals.get_version(db.session, manual, 2)
    assert "30日以内" in manuals.read_version(manual, v2).text

    # git, read with the real CLI: one commit per published version, nothing else on main.
    log = git("log", "--format=%H%x00%an%x00%cn%x00%B%x01", "main").strip("\x01\n").split("\x01")
    assert len(log) == 2
    sha, author, committer, message = log[0].strip("\n").split("\x00")
    assert sha == v2.commit_sha == manual.current_commit
    assert author == "佐藤 健一" and committer == "Tebiki"
    assert message.startswith("審査期間を改める。")
    trailers = git("log", "-1", "--format=%(trailers)", "main")
    assert "Manual: test-manual" in trailers and "Revision: 2" in trailers
    assert "Approved-by: 鈴木 美香 <hq.kakaricho>" in trailers and "Approved-by: 高橋 誠 <hq.kacho>" in trailers
    assert git("show", "main:manuals/test-manual.md").count("30日以内") == 1
    assert git("diff", "--stat", "main~1", "main").strip().startswith("manuals/test-manual.md")
    # the draft's own saves live on its own ref, not on main
    assert git("rev-parse", f"refs/heads/drafts/{revision.id}").strip() != sha


def test_drafter_cannot_approve_and_return_needs_comment() -> None:
    manual = make_manual()
    revision = revise(manual, "hq.kakaricho", "受付印を押す。", "受付印を押し、受付簿に記録する。")
    route.submit(db.session, user("hq.kakaricho"), revision)
    # The drafter is the 係長 here: the route skips nobody, and the drafter may not approve.
    with pytest.raises(PermissionDenied, match="起案者は自分の改正案を承認できません"):
        route.approve(db.session, user("hq.kakaricho"), revision)
    with pytest.raises(PermissionDenied):
        route.approve(db.session, user("aoba.kacho"), revision)  # a ward head is not on the route
    with pytest.raises(ValidationError, match="差戻しの理由"):
        route.return_revision(db.session, user("hq.kacho"), revision, "  ")
    route.return_revision(db.session, user("hq.kacho"), revision, "表現を見直してください。")
    db.session.commit()
    db.session.expire_all()
    assert revision.state == DRAFT and revision.steps == []
    assert [e.action for e in revision.events][-1] == "return"
    assert revision.events[-1].comment == "表現を見直してください。"
    assert revision.events[-1].actor_position == "課長"


def test_one_person_cannot_approve_two_steps() -> None:
    manual = make_manual()
    revision = revise(manual, "hq.tanto", "受付印を押す。", "受付印を押す。（電子申請を除く。）")
    kacho = user("hq.kacho")
    route.submit(db.session, user("hq.tanto"), revision)
    # 課長 is not a 係長: cannot do the 審査 step
    with pytest.raises(PermissionDenied, match="審査"):
        route.approve(db.session, kacho, revision)


def test_ward_and_other_units_cannot_draft_or_edit() -> None:
    manual = make_manual()
    with pytest.raises(PermissionDenied, match="所管課の職員のみ"):
        drafting.open_revision(db.session, user("aoba.tanto"), manual)
    with pytest.raises(PermissionDenied, match="所管課の職員のみ"):
        drafting.open_revision(db.session, user("kaigo.hq.tanto"), manual)
    with pytest.raises(PermissionDenied, match="本庁"):
        drafting.create_manual(db.session, user("aoba.kacho"), slug="x-y", fields=drafting.DraftFields(
            title="x", targets=["保険年金課"], tags=[], effective=None, review_months=12, body="x", reason="x"))
    revision = revise(manual, "hq.tanto", "14日以内", "21日以内")
    fields = drafting.DraftFields(title="改ざん", targets=["保険年金課"], tags=[], effective=None, review_months=12,
                             body="x", reason="x")
    with pytest.raises(PermissionDenied):
        drafting.save_draft(db.session, user("kaigo.hq.kacho"), revision, fields, expected_head=revision.head_commit)
    with pytest.raises(PermissionDenied):
        route.withdraw(db.session, user("aoba.kacho"), revision)


def test_ward_sees_drafts_only_under_consultation() -> None:
    from app.org.permissions import can

    manual = make_manual()
    revision = revise(manual, "hq.tanto", "14日以内", "21日以内")
    assert not can(user("aoba.tanto"), "revision.view", revision)
    assert can(user("hq.kakaricho"), "revision.view", revision)
    consultation.start_consultation(db.session, user("hq.tanto"), revision, today_jst() + timedelta(days=3))
    assert can(user("aoba.tanto"), "revision.view", revision)
    assert not can(user("aoba.koseki.tanto"), "revision.view", revision)  # not a target section
    with pytest.raises(PermissionDenied):
        consultation.add_comment(db.session, user("aoba.koseki.tanto"), revision, anchor="", body="x")


def test_consultation_deadline_and_comment_checks() -> None:
    manual = make_manual()
    revision = revise(manual, "hq.tanto", "14日以内", "21日以内")
    with pytest.raises(ValidationError, match="明日以降"):
        consultation.start_consultation(db.session, user("hq.tanto"), revision, today_jst())
    consultation.start_consultation(db.session, user("hq.tanto"), revision, today_jst() + timedelta(days=1))
    with pytest.raises(ValidationError, match="見出し"):
        consultation.add_comment(db.session, user("aoba.tanto"), revision, anchor="no-such", body="x")
    with pytest.raises(ValidationError, match="意見の内容"):
        consultation.add_comment(db.session, user("aoba.tanto"), revision, anchor="", body=" ")
    revision.consultation_deadline = today_jst() - timedelta(days=1)
    with pytest.raises(Conflict, match="期限"):
        consultation.add_comment(db.session, user("aoba.tanto"), revision, anchor="", body="遅れた意見")


def test_stale_save_is_refused_with_both_versions() -> None:
    manual = make_manual()
    revision = revise(manual, "hq.tanto", "14日以内", "21日以内")
    opened_at = revision.head_commit
    doc = parse(base.current_text(revision))
    mine = drafting.DraftFields(title=doc.title, targets=doc.targets, tags=doc.tags, effective=today_jst(),
                           review_months=12, body=doc.body + "\n追記A\n", reason="理由")
    theirs = drafting.DraftFields(**{**mine.__dict__, "body": doc.body + "\n追記B\n"})
    drafting.save_draft(db.session, user("hq.kakaricho"), revision, theirs, expected_head=opened_at)
    db.session.commit()
    with pytest.raises(drafting.StaleDraft) as exc:
        drafting.save_draft(db.session, user("hq.tanto"), revision, mine, expected_head=opened_at)
    db.session.rollback()
    assert "追記B" in exc.value.theirs and exc.value.theirs_by == "鈴木 美香"
    assert "追記B" in base.current_text(revision) and "追記A" not in base.current_text(revision)


def test_two_drafts_touching_different_sections_both_publish() -> None:
    manual = make_manual()
    first = revise(manual, "hq.tanto", "この手引きは", "この手引きは、", reason="目的の表現を改める。")
    second = revise(manual, "hq.tanto", "決定通知書を郵送する。", "決定通知書を郵送又は交付する。", reason="通知方法を改める。")
    approve_all(first)
    approve_all(second)
    db.session.expire_all()
    text = manuals.read_version(manual, manuals.get_version(db.session, manual, 3)).text
    assert "この手引きは、" in text and "郵送又は交付する。" in text
    assert git("rev-list", "--count", "main").strip() == "3"


def test_conflicting_drafts_send_the_second_back_without_markers() -> None:
    manual = make_manual()
    first = revise(manual, "hq.tanto", "14日以内", "21日以内")
    second = revise(manual, "hq.tanto", "14日以内", "30日以内")
    approve_all(first)
    outcome = approve_all(second)
    assert outcome.conflict and outcome.published is None
    db.session.expire_all()
    assert second.state == DRAFT and second.conflict_data is not None
    assert "21日以内" in second.conflict_text  # main's side is kept for the resolution page
    text = base.current_text(second)
    assert "<<<<<<<" not in text and "30日以内" in text  # the draft itself is never damaged
    parse(text)  # and still opens
    assert manual.current_version == 2
    assert git("rev-list", "--count", "main").strip() == "2"  # nothing of the second was published
    with pytest.raises(ValidationError) as err:
        route.submit(db.session, user("hq.tanto"), second)
    assert any("競合" in d for d in err.value.details)


def test_withdraw_and_invalid_transitions() -> None:
    manual = make_manual()
    revision = revise(manual, "hq.tanto", "14日以内", "21日以内")
    with pytest.raises(Conflict, match="承認"):
        route.approve(db.session, user("hq.kakaricho"), revision)
    route.withdraw(db.session, user("hq.tanto"), revision, "見送り")
    assert revision.state == WITHDRAWN
    with pytest.raises(Conflict, match="すでに取り下げられています"):
        route.submit(db.session, user("hq.tanto"), revision)


def test_submit_requires_reason_and_a_change() -> None:
    manual = make_manual()
    revision = drafting.open_revision(db.session, user("hq.tanto"), manual)
    with pytest.raises(ValidationError) as exc:
        route.submit(db.session, user("hq.tanto"), revision)
    assert any("改正理由" in d for d in exc.value.details)
    assert any("変更されていません" in d for d in exc.value.details)


def test_create_new_manual_and_abolish_it() -> None:
    fields = drafting.DraftFields(title="新しい手引き", targets=["保険年金課", "戸籍住民課"], tags=["新規"],
                             effective=today_jst(), review_months=24, body="# 新しい手引き\n\n## 1 目的\n本文\n",
                             reason="新規制定")
    with pytest.raises(ValidationError) as exc:
        drafting.create_manual(db.session, user("hq.tanto"), slug="Bad Slug", fields=fields)
    assert any("識別名" in d for d in exc.value.details)
    revision = drafting.create_manual(db.session, user("hq.tanto"), slug="new-manual", fields=fields)
    db.session.commit()
    manual = revision.manual
    assert not manual.is_published
    with pytest.raises(NotFound):
        manuals.get_manual(db.session, user("aoba.tanto"), "new-manual")  # readers never see drafts
    approve_all(revision)
    db.session.expire_all()
    assert manual.current_version == 1 and manual.status == "active"
    assert manual.target_names == ["保険年金課", "戸籍住民課"]

    abolish = drafting.open_revision(db.session, user("hq.tanto"), manual, kind="obsolete")
    abolish.reason = "制度の廃止に伴い廃止する。"
    approve_all(abolish)
    db.session.expire_all()
    assert manual.status == "obsolete" and manual.current_version == 2
    assert "obsolete:" in git("show", "main:manuals/new-manual.md")
    # still readable in history, hidden from the default list
    assert manuals.read_version(manual, manuals.get_version(db.session, manual, 1)).doc.title == "新しい手引き"
    assert manual not in db.session.scalars(manuals.manuals_query()).all()
    assert manual in db.session.scalars(manuals.manuals_query(include_obsolete=True)).all()
    with pytest.raises(Conflict):
        drafting.open_revision(db.session, user("hq.tanto"), manual)


def test_as_of_date() -> None:
    from datetime import datetime

    from app.wareki import JST

    manual = make_manual()
    v1 = manuals.get_version(db.session, manual, 1)
    v1.published_at = datetime(2024, 3, 1, tzinfo=JST)
    v1.effective_date = date(2024, 4, 1)
    revision = revise(manual, "hq.tanto", "14日以内", "21日以内")
    approve_all(revision)
    v2 = manuals.get_version(db.session, manual, 2)
    v2.published_at = datetime(2024, 9, 15, tzinfo=JST)
    v2.effective_date = date(2024, 10, 1)
    db.session.commit()
    assert manuals.as_of(db.session, manual, date(2024, 3, 15)) is None  # published, not yet in force
    assert manuals.as_of(db.session, manual, date(2024, 9, 30)).number == 1  # v2 published but not in force
    assert manuals.as_of(db.session, manual, date(2024, 10, 1)).number == 2


def test_import_is_all_or_nothing_with_every_problem_by_file() -> None:
    files = [
        ("good-one.md", manual_text("良い手引き")),
        ("bad-unit.md", manual_text("所管違い", owner="健康福祉局 存在しない課")),
        ("no-title.md", manual_text("").replace("title: \n", "")),
        ("bad-yaml.md", "---\ntitle: [unclosed\n---\n本文"),
        ("Bad_Name.md", manual_text("名前違反")),
        ("ward-owner.md", manual_text("区が所管", owner="青葉区 保険年金課")),
    ]
    make_manual("existing")
    files.append(("existing.md", manual_text("重複")))
    before = git("rev-parse", "main").strip()
    with pytest.raises(ValidationError) as exc:
        import_documents(db.session, files)
    details = "\n".join(exc.value.details)
    assert "bad-unit.md: 所管課「健康福祉局 存在しない課」は登録されていません。" in details
    assert "no-title.md: title（マニュアル名）がありません。" in details
    assert "bad-yaml.md: 前付けのYAMLが正しくありません" in details
    assert "Bad_Name.md: ファイル名" in details
    assert "ward-owner.md: 所管課「青葉区 保険年金課」は本庁の課ではありません。" in details
    assert "existing.md: 識別名「existing」のマニュアルは既に登録されています。" in details
    db.session.rollback()
    assert db.session.query(Manual).filter_by(slug="good-one").count() == 0
    assert git("rev-parse", "main").strip() == before  # main never moved


def test_import_command_writes_one_commit_per_manual(app: Flask, tmp_path) -> None:
    from tests.test_foundation import _flask

    src = tmp_path / "src"
    src.mkdir()
    (src / "alpha-manual.md").write_text(manual_text("アルファの手引き"), encoding="utf-8")
    (src / "beta-manual.md").write_text(manual_text("ベータの手引き", owner="健康福祉局 介護保険課",
                                                    targets="[障害高齢課]"), encoding="utf-8")
    db.session.commit()
    res = _flask(app, "manuals", "import", str(src), "--as", "hq.kacho")
    assert res.returncode == 0, res.stderr
    assert "2件のマニュアルを第1版として登録しました" in res.stdout
    assert git("log", "--format=%s", "main").count("一括取込") == 2
    assert "Approved-by: 高橋 誠 <hq.kacho>" in git("log", "-1", "--format=%(trailers)", "main")
    (src / "gamma-manual.md").write_text("no front matter", encoding="utf-8")
    res = _flask(app, "manuals", "import", str(src))
    assert res.returncode == 1
    assert "gamma-manual.md" in res.stderr and "alpha-manual.md" in res.stderr  # already registered
    db.session.expire_all()
    assert db.session.query(ManualVersion).count() == 2


def crash_after_git_commit(revision: models.Revision) -> None:
    """The final 決裁, with the process dying between the git commit and the DB commit."""
    original = publishing.record

    def boom(*_a: object, **_kw: object) -> None:
        raise RuntimeError("crash after git commit")

    publishing.record = boom
    try:
        with pytest.raises(RuntimeError):
            route.approve(db.session, user("hq.kacho"), revision)
    finally:
        publishing.record = original
    db.session.rollback()


def test_publish_is_idempotent_after_a_crash_between_git_and_db(app: Flask) -> None:
    manual = make_manual()
    revision = revise(manual, "hq.tanto", "14日以内", "21日以内")
    route.submit(db.session, user("hq.tanto"), revision)
    route.approve(db.session, user("hq.kakaricho"), revision)
    db.session.commit()

    crash_after_git_commit(revision)
    assert git("rev-list", "--count", "main").strip() == "2"  # the commit landed
    db.session.expire_all()
    # The decision and the intent were committed before main moved.
    assert revision.state == PUBLISHING
    (intent,) = db.session.query(models.Publication).filter_by(revision_id=revision.id).all()
    assert intent.status == "pending" and intent.commit_sha == git("rev-parse", "main").strip()
    with pytest.raises(Conflict, match="すでに決裁されています"):
        route.approve(db.session, user("hq.kacho"), revision)  # a second 決裁 is refused …
    db.session.rollback()
    # … and completing the intent finds the commit instead of writing a second one.
    assert len(publishing.complete_pending(db.session, older_than=timedelta(0))) == 1
    assert git("rev-list", "--count", "main").strip() == "2"
    db.session.expire_all()
    assert revision.state == PUBLISHED and manual.current_version == 2 and intent.status == "done"


def test_consult_unit_adds_a_step() -> None:
    manual = make_manual()
    revision = revise(manual, "hq.tanto", "14日以内", "21日以内")
    route.submit(db.session, user("hq.tanto"), revision, consult_unit=find_unit(db.session, "健康福祉局 介護保険課"))
    assert [s.meaning for s in revision.steps] == ["審査", "合議", "決裁"]
    route.approve(db.session, user("hq.kakaricho"), revision)
    with pytest.raises(PermissionDenied):
        route.approve(db.session, user("hq.kacho"), revision)  # 合議 belongs to 介護保険課
    route.approve(db.session, user("kaigo.hq.kacho"), revision)
    route.approve(db.session, user("hq.kacho"), revision)
    assert revision.state == PUBLISHED
    assert [e.meaning for e in revision.events if e.action == "approve"] == ["審査", "合議", "決裁"]
    assert CONSULTATION  # state names are exported for templates


def test_doctor_finds_and_repairs_a_half_done_publish(app: Flask) -> None:
    from app.doctor import check
    from tests.test_foundation import _flask

    manual = make_manual()
    revision = revise(manual, "hq.tanto", "14日以内", "21日以内")
    route.submit(db.session, user("hq.tanto"), revision)
    route.approve(db.session, user("hq.kakaricho"), revision)
    db.session.commit()
    assert check(db.session) == []
    crash_after_git_commit(revision)
    res = _flask(app, "doctor")
    assert res.returncode == 1 and "unrecorded_commit" in res.stdout
    res = _flask(app, "doctor", "--repair")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "修復済" in res.stdout
    db.session.expire_all()
    assert revision.state == PUBLISHED and manual.current_version == 2
    assert check(db.session) == []
    assert git("rev-list", "--count", "main").strip() == "2"


def test_trailers_are_matched_exactly_never_as_prefixes(app: Flask) -> None:
    """Revision-Id 1 is not found in the commit of 12, nor Manual ab for aa: the retry scan of a
    publication compares git's parsed trailer values exactly."""
    from app.gitstore import Person, store
    from app.wareki import now_utc

    gs = store()
    tip = gs.ref("refs/heads/main")
    sha = gs.write_commit(tip, {"x.md": "x"}, "題\n\nManual: ab\nRevision-Id: 12\n", Person("a", "a@b"), now_utc())
    gs.update_ref("refs/heads/main", sha, tip)
    assert gs.find_by_trailer("Revision-Id", "12") == sha
    assert gs.find_by_trailer("Revision-Id", "1") is None
    assert gs.find_by_trailer("Revision-Id", "2") is None
    assert gs.find_by_trailer("Manual", "ab") == sha
    assert gs.find_by_trailer("Manual", "a") is None


def test_publishing_revision_1_after_revision_12_writes_its_own_commit() -> None:
    manual = make_manual()
    drafts = [drafting.open_revision(db.session, user("hq.tanto"), manual) for _ in range(12)]
    db.session.commit()
    first, twelfth = drafts[0], drafts[11]
    assert (first.id, twelfth.id) == (1, 12)
    for revision, (old, new) in ((twelfth, ("14日以内", "21日以内")), (first, ("受付印を押す。", "受付印を押し、記録する。"))):
        doc = parse(base.current_text(revision))
        drafting.save_draft(db.session, user("hq.tanto"), revision, drafting.DraftFields(
            title=doc.title, targets=doc.targets, tags=doc.tags, effective=today_jst(), review_months=12,
            body=doc.body.replace(old, new), reason="改める。"), expected_head=revision.head_commit)
        db.session.commit()
        approve_all(revision)
    db.session.expire_all()
    assert (twelfth.number, first.number) == (2, 3)
    assert twelfth.published_commit != first.published_commit
    ids = git("log", "--format=%(trailers:key=Revision-Id,valueonly,separator=)", "main").split()
    assert ids == ["1", "12"]
