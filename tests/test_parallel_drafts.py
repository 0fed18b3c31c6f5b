"""Revisions as a city works with them (issue 11): two drafts of one manual, any front-matter field
changed, 施行日 rules, the version in force vs 施行予定, precise ruling flags, the 新旧対照表."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.errors import ValidationError
from app.extensions import db
from app.gitstore import store
from app.manuals import diff
from app.manuals import services as manuals
from app.manuals.document import parse
from app.revisions import base, drafting, route
from app.revisions.merge import merge
from app.revisions.models import DRAFT, PUBLISHED
from app.rulings import services as rulings
from app.search import services as search
from app.wareki import today_jst
from tests.helpers import approve_all, approve_step, git, make_manual, manual_text, revise, submit, user

pytestmark = pytest.mark.usefixtures("demo_users")

DOC = manual_text("テスト事務の手引き")


def edited(text: str, **fields: object) -> str:
    doc = parse(text)
    for key, value in fields.items():
        setattr(doc, key, value)
    return doc.dump()


# --- the field-by-field merge ----------------------------------------------------------------


@pytest.mark.parametrize(("main", "draft", "expected"), [
    ({"title": "現行で改めた名前"}, {}, "現行で改めた名前"),  # changed on main only: main's
    ({}, {"title": "改正案の名前"}, "改正案の名前"),  # changed in the draft only: the draft's
    ({"title": "同じ名前"}, {"title": "同じ名前"}, "同じ名前"),  # the same change on both
])
def test_a_field_changed_on_one_side_takes_that_side(main: dict, draft: dict, expected: str) -> None:
    result = merge(store(), DOC, edited(DOC, **main), edited(DOC, **draft))
    assert result.clean and result.doc is not None and result.doc.title == expected


def test_lists_and_numbers_merge_per_field() -> None:
    main = edited(DOC, tags=["テスト", "国保"], review_months=24)
    draft = edited(DOC, targets=["保険年金課", "戸籍住民課"])
    result = merge(store(), DOC, main, draft)
    assert result.clean and result.doc is not None
    assert (result.doc.tags, result.doc.review_months, result.doc.targets) == (
        ["テスト", "国保"], 24, ["保険年金課", "戸籍住民課"])


def test_effective_date_is_the_publishing_drafts_own_never_a_conflict() -> None:
    main = edited(DOC, effective=date(2027, 1, 1))
    draft = edited(DOC, effective=date(2027, 4, 1))
    result = merge(store(), DOC, main, draft)
    assert result.clean and result.doc is not None and result.doc.effective == date(2027, 4, 1)
    assert "<<<<<<<" not in result.doc.dump()


def test_a_field_changed_differently_on_both_sides_is_a_choice() -> None:
    result = merge(store(), DOC, edited(DOC, title="甲"), edited(DOC, title="乙", tags=["新"]))
    assert not result.clean
    (conflict,) = result.fields
    assert (conflict.name, conflict.main, conflict.draft) == ("title", "甲", "乙")
    assert result.doc is not None and result.doc.tags == ["新"]  # the rest merged


def test_body_merges_three_way_and_a_clash_becomes_passages() -> None:
    main = edited(DOC, body=parse(DOC).body.replace("14日以内", "21日以内"))
    other_section = edited(DOC, body=parse(DOC).body.replace("決定通知書を郵送する。", "決定通知書を交付する。"))
    clean = merge(store(), DOC, main, other_section)
    assert clean.clean and clean.doc is not None
    assert "21日以内" in clean.doc.body and "交付する" in clean.doc.body
    same_sentence = edited(DOC, body=parse(DOC).body.replace("14日以内", "30日以内"))
    clash = merge(store(), DOC, main, same_sentence)
    assert not clash.clean and len(clash.hunks) == 1
    assert "21日以内" in clash.hunks[0].main and "30日以内" in clash.hunks[0].draft


# --- two drafts of one manual, through the services ------------------------------------------


def test_two_drafts_each_changing_the_effective_date_publish_in_turn() -> None:
    manual = make_manual()
    first = revise(manual, "hq.tanto", "14日以内", "21日以内", reason="審査期間")
    second = revise(manual, "hq.tanto", "決定通知書を郵送する。", "決定通知書を郵送又は交付する。", reason="交付")
    for r, day in ((first, today_jst() + timedelta(days=10)), (second, today_jst() + timedelta(days=20))):
        r.effective_date = day
        doc = parse(base.current_text(r))
        drafting.save_draft(db.session, user("hq.tanto"), r, drafting.DraftFields(
            title=doc.title, targets=doc.targets, tags=doc.tags, effective=day, review_months=12, body=doc.body,
            reason=r.reason), expected_head=r.head_commit)
        db.session.commit()
    assert approve_all(first).published is not None
    assert approve_all(second).published is not None
    db.session.expire_all()
    assert (first.number, second.number, manual.current_version) == (2, 3, 3)
    text = git("show", "main:manuals/test-manual.md")
    assert "21日以内" in text and "郵送又は交付" in text and "<<<<<<<" not in text
    assert parse(text).effective == today_jst() + timedelta(days=20)  # the second's own 施行日
    _new, _old, sections = manuals.compare_versions(db.session, manual, 3, 2)
    changed = [s.heading for s in sections if s.changed]
    assert changed == ["4 通知"]  # only the second's change, not the first's


def test_a_clash_goes_to_the_resolution_and_then_publishes() -> None:
    manual = make_manual()
    first = revise(manual, "hq.tanto", "14日以内", "21日以内")
    second = revise(manual, "hq.tanto", "14日以内", "30日以内")
    approve_all(first)
    assert approve_all(second).conflict
    db.session.expire_all()
    found = drafting.conflicts_of(second)
    assert found is not None and len(found.hunks) == 1 and second.state == DRAFT
    with pytest.raises(ValidationError, match="競合を解消できません"):
        drafting.resolve_conflict(db.session, user("hq.tanto"), second, fields={}, passages=[("", "")],
                                  expected_head=second.head_commit)
    drafting.resolve_conflict(db.session, user("hq.tanto"), second, fields={},
                              passages=[("edit", "申請内容を審査し、25日以内に決定する。\n")],
                              expected_head=second.head_commit)
    db.session.commit()
    assert second.conflict_data is None
    assert approve_all(second).published is not None
    db.session.expire_all()
    assert second.state == PUBLISHED and manual.current_version == 3
    assert "25日以内" in git("show", "main:manuals/test-manual.md")


def test_a_revision_changing_title_tags_and_targets_publishes_and_is_seen() -> None:
    manual = make_manual()
    revision = drafting.open_revision(db.session, user("hq.tanto"), manual)
    doc = parse(base.current_text(revision))
    drafting.save_draft(db.session, user("hq.tanto"), revision, drafting.DraftFields(
        title="国保資格取得届の手引き", targets=["保険年金課", "戸籍住民課"], tags=["テスト", "資格", "届出"],
        effective=today_jst(), review_months=24, body=doc.body, reason="名称と対象を改める。"),
        expected_head=revision.head_commit)
    db.session.commit()
    assert approve_all(revision).published is not None
    db.session.expire_all()
    assert manual.title == "国保資格取得届の手引き" and manual.review_months == 24
    assert manual.tag_names == ["テスト", "資格", "届出"]
    assert manual.target_names == ["保険年金課", "戸籍住民課"]
    hits = search.search(db.session, None, "資格取得届", record=False).results
    assert hits and hits[0].hit.title == "国保資格取得届の手引き"


def test_a_new_manuals_draft_saves_with_more_tags_and_targets() -> None:
    fields = drafting.DraftFields(title="新しい手引き", targets=["保険年金課"], tags=["a"], effective=today_jst(),
                                  review_months=12, body="# 新しい手引き\n\n## 1 目的\n本文\n", reason="新規制定")
    revision = drafting.create_manual(db.session, user("hq.tanto"), slug="new-manual", fields=fields)
    db.session.commit()
    for targets, tags in ((["保険年金課", "戸籍住民課"], ["a", "b"]), (["戸籍住民課"], ["b", "c", "d"])):
        fields.targets, fields.tags = targets, tags
        drafting.save_draft(db.session, user("hq.tanto"), revision, fields, expected_head=revision.head_commit)
        db.session.commit()
        db.session.expire_all()
        assert revision.manual.target_names == targets and revision.manual.tag_names == tags


def test_opening_a_second_draft_lists_the_first() -> None:
    manual = make_manual()
    first = drafting.open_revision(db.session, user("hq.tanto"), manual)
    db.session.commit()
    assert [r.id for r in drafting.open_drafts(db.session, manual)] == [first.id]


# --- 施行日 ----------------------------------------------------------------------------------


def test_an_effective_date_before_the_current_versions_is_refused() -> None:
    manual = make_manual()  # 第1版 施行 2024-04-01
    revision = drafting.open_revision(db.session, user("hq.tanto"), manual)
    doc = parse(base.current_text(revision))
    fields = drafting.DraftFields(title=doc.title, targets=doc.targets, tags=doc.tags, effective=date(2018, 4, 1),
                                  review_months=12, body=doc.body + "追記\n", reason="改める")
    with pytest.raises(ValidationError) as err:
        drafting.save_draft(db.session, user("hq.tanto"), revision, fields, expected_head=revision.head_commit)
    assert any("第1版の施行日" in d for d in err.value.details)


def test_a_new_draft_does_not_carry_the_old_effective_date(client) -> None:
    from tests.conftest import login

    manual = make_manual()
    revision = drafting.open_revision(db.session, user("hq.tanto"), manual)
    db.session.commit()
    assert revision.effective_date is None
    login(client, "hq.tanto")
    page = client.get(f"/revisions/{revision.id}/edit").get_data(as_text=True)
    assert 'name="effective" type="date" value=""' in page or 'value="2024-04-01"' not in page


def test_retroactive_effective_date_needs_the_final_approvers_confirmation() -> None:
    manual = make_manual()
    revision = revise(manual, "hq.tanto", "14日以内", "21日以内")
    revision.effective_date = today_jst() - timedelta(days=3)
    db.session.commit()
    submit(revision)
    approve_step(revision, "hq.kakaricho")
    with pytest.raises(ValidationError, match="遡及適用"):
        route.approve(db.session, user("hq.kacho"), revision)
    db.session.rollback()
    outcome = route.approve(db.session, user("hq.kacho"), revision, retroactive=True)
    db.session.commit()
    assert outcome.published is not None
    db.session.expire_all()
    assert revision.retroactive
    final = [e for e in revision.events if e.action == "approve"][-1]
    assert "遡及適用を確認" in final.comment


def test_early_submission_before_the_consultation_deadline_is_confirmed_and_recorded() -> None:
    from app.revisions import consultation

    manual = make_manual()
    revision = revise(manual, "hq.tanto", "14日以内", "21日以内")
    consultation.start_consultation(db.session, user("hq.tanto"), revision, today_jst() + timedelta(days=7))
    db.session.commit()
    with pytest.raises(ValidationError, match="期限前"):
        route.submit(db.session, user("hq.tanto"), revision)
    route.submit(db.session, user("hq.tanto"), revision, early=True)
    db.session.commit()
    db.session.expire_all()
    assert "期限" in [e for e in revision.events if e.action == "submit"][-1].comment


# --- in force vs 施行予定 --------------------------------------------------------------------


def test_a_later_effective_date_is_scheduled_until_its_day(monkeypatch: pytest.MonkeyPatch) -> None:
    manual = make_manual()
    revision = revise(manual, "hq.tanto", "14日以内", "21日以内")
    day = today_jst() + timedelta(days=30)
    revision.effective_date = day
    doc = parse(base.current_text(revision))
    drafting.save_draft(db.session, user("hq.tanto"), revision, drafting.DraftFields(
        title=doc.title, targets=doc.targets, tags=doc.tags, effective=day, review_months=12, body=doc.body,
        reason="改める"), expected_head=revision.head_commit)
    db.session.commit()
    approve_all(revision)
    st = manuals.standing(db.session, manual)
    assert (st.in_force.number, st.scheduled.number) == (1, 2)  # type: ignore[union-attr]
    assert st.status(st.scheduled) == "scheduled" and st.shown.number == 1  # type: ignore[arg-type,union-attr]
    monkeypatch.setenv("TEBIKI_TODAY", day.isoformat())  # on the 施行日, with no command run
    st = manuals.standing(db.session, manual)
    assert st.in_force.number == 2 and st.scheduled is None  # type: ignore[union-attr]


# --- precise ruling flags and the 新旧対照表 ----------------------------------------------------


def _ruling(manual, anchor: str):  # type: ignore[no-untyped-def]
    inquiry = rulings.file_inquiry(db.session, user("aoba.tanto"), kind="疑義照会", subject=f"{anchor}について",
                                   body="どうするか", manual=manual, anchor=anchor)
    rulings.save_answer(db.session, user("hq.tanto"), inquiry, answer="こうする", basis="手引き", tags=[],
                        share_all=True, submit=True)
    rulings.approve(db.session, user("hq.kacho"), inquiry)
    db.session.commit()
    return inquiry


def test_only_rulings_on_changed_sections_are_flagged_and_say_what_changed() -> None:
    manual = make_manual()
    on_review, on_receipt = _ruling(manual, "3-審査"), _ruling(manual, "2-受付")
    approve_all(revise(manual, "hq.tanto", "14日以内", "21日以内"))
    db.session.expire_all()
    assert on_review.needs_recheck and "「3 審査」の本文が改正" in on_review.recheck_note
    assert not on_receipt.needs_recheck


def test_a_renumbered_heading_with_the_same_text_is_no_change() -> None:
    manual = make_manual()
    ruling = _ruling(manual, "4-通知")
    body = parse(manual_text("x")).body
    renumbered = body.replace("## 3 審査", "## 3 審査\n\n審査の前に受付簿を確認する。\n\n## 3-2 補足").replace(
        "## 4 通知", "## 5 通知")
    revision = drafting.open_revision(db.session, user("hq.tanto"), manual)
    doc = parse(base.current_text(revision))
    drafting.save_draft(db.session, user("hq.tanto"), revision, drafting.DraftFields(
        title=doc.title, targets=doc.targets, tags=doc.tags, effective=today_jst(), review_months=12,
        body=renumbered.replace("# x", f"# {doc.title}"), reason="節を追加"), expected_head=revision.head_commit)
    db.session.commit()
    approve_all(revision)
    db.session.expire_all()
    assert not ruling.needs_recheck
    assert ruling.anchor == "5-通知"  # the link follows the renumbered heading


def test_compare_marks_new_and_removed_sections_and_folds_unchanged_runs() -> None:
    old = "## 1 目的\n目的。\n\n## 2 受付\n受付。\n\n## 3 審査\n審査。\n\n## 4 通知\n通知。\n"
    new = "## 1 目的\n目的。\n\n## 2 受付\n受付。  \n\n## 3 審査\n審査する。\n\n## 5 新設\nまったく新しい節。\n"
    sections = diff.compare(old, new)
    status = {s.heading: s.status for s in sections}
    assert status == {"1 目的": "unchanged", "2 受付": "unchanged", "3 審査": "changed", "5 新設": "new",
                      "4 通知": "removed"}  # trailing spaces are not a change
    blocks = diff.blocks(sections)
    assert blocks[0].folded and [s.heading for s in blocks[0].sections] == ["1 目的", "2 受付"]  # one （略）
