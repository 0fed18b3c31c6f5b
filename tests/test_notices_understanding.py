"""Issue 17: evidence that means something (既読 only from the content, by a same-site POST), the
withdrawal of a 周知済, significance, 理解度確認, targeting within a section, 緊急, campaigns."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.audit import AuditEntry
from app.errors import PermissionDenied, ValidationError
from app.extensions import db
from app.manuals.document import parse
from app.notices import campaigns, quiz, reading, understanding
from app.notices import figures as notice_figures
from app.notices import inbox as notice_inbox
from app.notices import mail as notice_mail
from app.notices.models import CONFIRMED, PENDING, Notice, Receipt
from app.org.models import Unit
from app.org.targeting import Audience
from app.revisions import base, drafting, questions
from app.wareki import today_jst
from tests.conftest import csrf_token, login, post
from tests.helpers import approve_all, make_manual, revise, user

pytestmark = pytest.mark.usefixtures("demo_users")

Q1 = questions.QuestionDraft("審査の期間は？", ["14日以内", "21日以内", "30日以内"], 1, "3 審査に21日以内とあります。", "3-審査")
Q2 = questions.QuestionDraft("決定通知書は？", ["郵送のみ", "郵送又は交付"], 1, "4 通知の改正で交付もできます。", "4-通知")


def publish(manual, significance="minor", qs=(), audience=None, old="14日以内", new="21日以内"):
    revision = drafting.open_revision(db.session, user("hq.tanto"), manual)
    doc = parse(base.current_text(revision))
    body = doc.body.replace(old, new, 1).replace("決定通知書を郵送する。", "決定通知書を郵送又は交付する。")
    fields = drafting.DraftFields(
        title=doc.title, targets=doc.targets, tags=doc.tags, effective=today_jst(), review_months=12, body=body,
        reason="審査期間を改める。", understanding=questions.Understanding(significance, audience or Audience(), list(qs)))
    drafting.save_draft(db.session, user("hq.tanto"), revision, fields, expected_head=revision.head_commit)
    db.session.commit()
    approve_all(revision)
    return revision


def unit_notice(revision, unit_name: str) -> Notice:
    return db.session.query(Notice).join(Unit).filter(Notice.revision_id == revision.id, Unit.name == unit_name).one()


def receipt(login_id: str, notice: Notice) -> Receipt | None:
    db.session.flush()
    db.session.expire_all()
    return reading.receipt_of(db.session, user(login_id), notice)


def test_neither_the_notice_page_nor_read_all_records_a_read(client) -> None:
    revision = publish(make_manual())
    notice = unit_notice(revision, "青葉区 保険年金課")
    login(client, "aoba.tanto")
    for url in ("/notices/", f"/notices/{notice.id}", f"/notices/{notice.id}/open", f"/notices/{notice.id}/read",
                "/dashboard"):
        assert client.get(url).status_code in (200, 302)
    assert receipt("aoba.tanto", notice).read_at is None  # no GET records anything
    resp = post(client, "/notices/read-all", follow_redirects=True)
    assert "内容を読んだ記録にはなりません" in resp.get_data(as_text=True)
    r = receipt("aoba.tanto", notice)
    assert r.read_at is None and r.dismissed_at is not None  # the badge only
    assert notice_inbox.unread_count(db.session, user("aoba.tanto")) == 0
    cell = notice_figures.matrix(db.session, user("hq.tanto"), revision_id=revision.id).cells[("青葉区", "保険年金課")]
    assert (cell.readers, cell.label, cell.people["unread"]) == (0, "未読", 3)


def test_a_read_is_a_same_site_post_from_the_content_page(client) -> None:
    revision = publish(make_manual())
    notice = unit_notice(revision, "青葉区 保険年金課")
    login(client, "aoba.tanto")
    token = csrf_token(client, f"/notices/{notice.id}/read")
    url = f"/notices/{notice.id}/read"
    assert client.post(url, data={"number": "2"}).status_code == 400  # no CSRF token
    assert client.post(url, data={"number": "2", "csrf_token": token},
                       headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403  # another site's form
    assert receipt("aoba.tanto", notice).read_at is None
    resp = client.post(url, data={"number": "2", "csrf_token": token},
                       headers={"Sec-Fetch-Site": "same-origin", "X-Requested-With": "fetch"})
    assert resp.get_json() == {"recorded": True}
    assert receipt("aoba.tanto", notice).read_at is not None
    # 本庁 looking at the ward's reading page is not a ward person reading it
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login(client, "hq.tanto")
    assert client.get(url).status_code == 200
    assert post(client, url, {"number": "2"}).status_code == 302
    assert reading.receipt_of(db.session, user("hq.tanto"), notice) is None


def test_a_withdrawn_confirmation_returns_the_section_to_pending(client) -> None:
    revision = publish(make_manual())
    notice = unit_notice(revision, "青葉区 保険年金課")
    kacho, chief, tanto = user("aoba.kacho"), user("aoba.hoken.kakaricho"), user("aoba.tanto")
    notice_inbox.set_delegate(db.session, kacho, chief, True)
    notice_inbox.confirm(db.session, chief, notice, "朝礼で説明")
    db.session.commit()
    with pytest.raises(PermissionDenied, match="確認した本人か所属長"):
        notice_inbox.withdraw(db.session, tanto, notice, "誤り")
    with pytest.raises(PermissionDenied):
        notice_inbox.withdraw(db.session, user("izumi.hoken.kacho"), notice, "誤り")
    with pytest.raises(ValidationError, match="理由"):
        notice_inbox.withdraw(db.session, chief, notice, " ")
    login(client, "aoba.kacho")  # the 所属長 withdraws the 係長's confirmation, over HTTP
    resp = post(client, f"/notices/{notice.id}/withdraw", {"reason": "説明していない職員がいた"}, follow_redirects=True)
    assert "未確認に戻りました" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert notice.status == PENDING and notice.confirmed_by_id is None and notice.withdraw_reason
    cell = notice_figures.matrix(db.session, user("hq.tanto"), revision_id=revision.id).cells[("青葉区", "保険年金課")]
    assert cell.state == "unread"
    entry = db.session.query(AuditEntry).filter_by(action="notice.withdraw").one()
    assert entry.details_dict["reason"] == "説明していない職員がいた" and entry.details_dict["confirmed_by"] == chief.name
    assert "説明していない職員がいた" in client.get(f"/notices/{notice.id}").get_data(as_text=True)
    notice_inbox.confirm(db.session, kacho, notice, "再度説明")  # and it can be confirmed again
    assert notice.status == CONFIRMED


def test_significance_and_questions_are_drafted_shown_to_reviewers_and_checked(client) -> None:
    manual = make_manual()
    revision = revise(manual, "hq.tanto", "14日以内", "21日以内")
    login(client, "hq.tanto")
    page = client.get(f"/revisions/{revision.id}/edit").get_data(as_text=True)
    assert 'name="significance"' in page and 'name="q1_prompt"' in page and "係長以上" in page
    doc = parse(base.current_text(revision))
    form = {"title": doc.title, "targets": doc.targets, "tags": "", "effective": today_jst().isoformat(),
            "review_months": "12", "reason": "改める", "summary": "", "body": doc.body, "head": revision.head_commit,
            "significance": "minor", "q1_prompt": "審査の期間は？", "q1_choices": "14日以内\n21日以内",
            "q1_correct": "2", "q1_explanation": "3 審査を参照", "q1_anchor": "3-審査"}
    resp = post(client, f"/revisions/{revision.id}/edit", form, follow_redirects=True)
    assert "重要」または「緊急」の改正に付けます" in resp.get_data(as_text=True)  # 軽微 has no questions
    resp = post(client, f"/revisions/{revision.id}/edit", {**form, "significance": "major", "q1_anchor": "9-なし"},
                follow_redirects=True)
    assert "本文にありません" in resp.get_data(as_text=True)
    resp = post(client, f"/revisions/{revision.id}/edit", {**form, "significance": "major", "audience_position": "係長"},
                follow_redirects=True)
    assert "保存しました" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert revision.significance == "major" and len(questions.questions_of(db.session, revision)) == 1
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login(client, "hq.kakaricho")  # the reviewer sees the questions with the right answer
    page = client.get(f"/revisions/{revision.id}").get_data(as_text=True)
    assert "理解度確認の設問（1問）" in page and "審査の期間は？" in page and "係長以上" in page
    approve_all(revision)
    assert "理解度確認 1問" in revision.events[-3].comment or any("理解度確認 1問" in e.comment for e in revision.events)
    notice = unit_notice(revision, "青葉区 保険年金課")
    assert notice.significance == "major"
    assert {u.login for u, _ in reading.people(db.session, notice)} == {"aoba.kacho", "aoba.hoken.kakaricho"}


def test_acknowledge_answer_wrong_then_pass_and_hq_figures() -> None:
    revision = publish(make_manual(), "major", [Q1, Q2])
    notice = unit_notice(revision, "青葉区 保険年金課")
    tanto, chief = user("aoba.tanto"), user("aoba.hoken.kakaricho")
    q1, q2 = quiz.questions_for(db.session, notice)
    with pytest.raises(ValidationError, match="内容を確認しました"):
        quiz.answer(db.session, tanto, notice, {q1.id: 1, q2.id: 1})
    reading.acknowledge(db.session, tanto, notice)
    assert reading.person_state(receipt("aoba.tanto", notice)) == reading.ACKNOWLEDGED
    marked = quiz.answer(db.session, tanto, notice, {q1.id: 1, q2.id: 0})
    assert [m.correct for m in marked] == [True, False]
    assert receipt("aoba.tanto", notice).passed_at is None
    quiz.answer(db.session, tanto, notice, {q1.id: 1, q2.id: 1})
    r = receipt("aoba.tanto", notice)
    assert r.passed_at is not None and r.attempts == 2
    reading.acknowledge(db.session, chief, notice)
    quiz.answer(db.session, chief, notice, {q1.id: 1, q2.id: 1})
    db.session.commit()
    assert [u.login for u in notice_inbox.not_yet(db.session, notice)] == ["aoba.kacho"]
    with pytest.raises(ValidationError, match="まだ確認していない職員が1人"):
        notice_inbox.confirm(db.session, user("aoba.kacho"), notice)
    m = notice_figures.matrix(db.session, user("hq.tanto"), revision_id=revision.id)
    assert m.cells[("青葉区", "保険年金課")].people == {"unread": 1, "read": 0, "acknowledged": 0, "passed": 2}
    res = understanding.results(db.session, m.notices)
    r1, r2 = res.questions
    assert (r1.answered, r1.correct, r2.answered, r2.correct) == (2, 2, 2, 1)  # first attempts only
    assert not r1.candidate and r2.candidate  # 1 of 1 ward office: half its people missed it
    (cand,) = understanding.candidates(db.session, revision.manual.owner_unit_id)
    assert cand.prompt == "決定通知書は？" and cand.heading == "4 通知"
    assert understanding.candidates(db.session, user("kaigo.hq.tanto").unit_id) == []


def test_targeting_within_a_section() -> None:
    tanto = user("aoba.tanto")
    tanto.is_fixed_term = True
    user("izumi.hoken.tanto").set_duties(["窓口"])
    db.session.commit()
    revision = publish(make_manual(), audience=Audience(fixed_term="exclude"))
    aoba = {u.login for u, _ in reading.people(db.session, unit_notice(revision, "青葉区 保険年金課"))}
    assert aoba == {"aoba.kacho", "aoba.hoken.kakaricho"}
    assert notice_inbox.unread_count(db.session, tanto) == 0  # not for them
    second = publish(revision.manual, audience=Audience(duty_tags=("窓口",)), old="21日以内", new="28日以内")
    assert {u.login for u, _ in reading.people(db.session, unit_notice(second, "泉区 保険年金課"))} == {"izumi.hoken.tanto"}
    assert reading.people(db.session, unit_notice(second, "青葉区 保険年金課")) == []


def test_urgent_has_a_short_due_date_a_banner_and_daily_reminders(client, app) -> None:
    revision = publish(make_manual(), "urgent")
    notice = unit_notice(revision, "青葉区 保険年金課")
    assert notice.due_date == today_jst() + timedelta(days=3)
    login(client, "aoba.tanto")
    assert 'data-testid="urgent-banner"' in client.get("/dashboard").get_data(as_text=True)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_FROM="tebiki@city.example.lg.jp")
    try:
        sent = notice_mail.remind(db.session)  # not overdue, but 緊急: heads and people the first day
        assert sent == 7 + 7 * 3
        assert notice_mail.remind(db.session) == 0  # once a day
    finally:
        app.config["MAIL_SERVER"] = None
    post(client, f"/notices/{notice.id}/acknowledge")
    assert 'data-testid="urgent-banner"' not in client.get("/dashboard").get_data(as_text=True)


def test_campaign_reconfirms_a_manual_with_the_same_machinery() -> None:
    revision = publish(make_manual(), "major", [Q1])
    with pytest.raises(PermissionDenied):
        campaigns.launch(db.session, user("hq.tanto"), revision.manual, due_date=today_jst() + timedelta(days=30))
    with pytest.raises(ValidationError) as refused:
        campaigns.launch(db.session, user("hq.kacho"), revision.manual, due_date=today_jst())
    assert "明日以降" in refused.value.details[0]
    campaign = campaigns.launch(db.session, user("hq.kacho"), revision.manual, due_date=today_jst() + timedelta(days=30))
    db.session.commit()
    m = notice_figures.matrix(db.session, user("hq.tanto"), campaign_id=campaign.id)
    assert len(m.cells) == 7 and m.notices[0].kind == "再確認"
    notice = next(n for n in m.notices if n.unit.name == "青葉区 保険年金課")
    assert [q.prompt for q in quiz.questions_for(db.session, notice)] == ["審査の期間は？"]  # the version's questions
    reading.acknowledge(db.session, user("aoba.tanto"), notice)
    assert unit_notice(revision, "青葉区 保険年金課").status == PENDING  # the revision's notice is apart
    assert notice_figures.sent_publications(db.session, user("hq.tanto"))[0][0].campaign_id == campaign.id


def test_the_head_exports_who_has_not_confirmed_and_campaigns_renew_yearly(client) -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    revision = publish(make_manual(), "major", [Q1])
    notice = unit_notice(revision, "青葉区 保険年金課")
    reading.acknowledge(db.session, user("aoba.tanto"), notice)
    db.session.commit()
    login(client, "aoba.tanto")
    assert client.get(f"/notices/{notice.id}/people.xlsx").status_code == 403  # staff: not the list of others
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login(client, "aoba.kacho")
    ws = load_workbook(BytesIO(client.get(f"/notices/{notice.id}/people.xlsx").data)).active
    rows = {r[2]: r[4] for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows == {"田中 陽子": "確認済", "伊藤 大輔": "未読", user("aoba.hoken.kakaricho").name: "未読"}
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login(client, "hq.kacho")
    due = (today_jst() + timedelta(days=20)).isoformat()
    resp = post(client, "/notices/campaigns/", {"manual_id": revision.manual_id, "due_date": due,
                                                 "sections": "保険年金課", "audience_fixed_term": "exclude"},
                follow_redirects=True)
    assert "年度の再確認）」を開始しました" in resp.get_data(as_text=True)
    page = client.get("/notices/campaigns/").get_data(as_text=True)
    assert "翌年度も実施" in page
    (first,) = campaigns.campaigns(db.session, user("hq.kacho"))
    nxt = campaigns.next_year(first.due_date)
    post(client, "/notices/campaigns/", {"manual_id": first.manual_id, "due_date": nxt.isoformat(), "sections": "保険年金課",
                                         "audience_fixed_term": "exclude"})
    second, _ = campaigns.campaigns(db.session, user("hq.kacho"))
    assert second.due_date == nxt and campaigns.audience_of(second).fixed_term == "exclude"


def test_migration_carries_old_reads_into_receipts(tmp_path) -> None:
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from app import create_app
    from tests.conftest import make_config

    app = create_app(make_config(f"sqlite:///{tmp_path / 'm.db'}", tmp_path))
    with app.app_context():
        upgrade(revision="0014")
        run = db.session.execute
        run(text("INSERT INTO units (id, kind, group_name, section, name, sort_order, active, created_at) VALUES "
                 "(1, 'ward', '青葉区', '保険年金課', '青葉区 保険年金課', 0, 1, '2026-01-01')"))
        for uid, active in ((1, 1), (2, 1), (3, 0)):
            run(text("INSERT INTO users (id, login, name, unit_id, position, is_admin, active, password_hash, "
                     "local_login, deactivated_by_sync, is_fixed_term, session_version, created_at) VALUES "
                     f"({uid}, 'u{uid}', 'U{uid}', 1, '担当', 0, {active}, 'x', 0, 0, 0, 1, '2026-01-01')"))
        run(text("INSERT INTO notices (id, unit_id, kind, title, reason, summary, owner_copy, status, "
                 "confirmed_by_name, confirmed_by_position, confirm_comment, created_at) VALUES "
                 "(1, 1, '改正', 't', '', '', 0, 'pending', '', '', '', '2026-01-01')"))
        run(text("INSERT INTO notice_reads (notice_id, user_id, read_at) VALUES (1, 1, '2026-01-02')"))
        db.session.commit()
        upgrade()
        rows = run(text("SELECT user_id, read_at IS NOT NULL FROM notice_receipts ORDER BY user_id")).all()
        assert [tuple(r) for r in rows] == [(1, 1), (2, 0)]  # the inactive account gets none
        db.session.commit()
        downgrade(revision="0014")  # and back: the reads return to notice_reads
        assert run(text("SELECT notice_id, user_id FROM notice_reads")).all() == [(1, 1)]
        db.session.commit()
        upgrade()
        db.session.remove()
        db.engine.dispose()
