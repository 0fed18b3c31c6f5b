"""Notices on publish, reading, 周知 confirmation, supersession, matrices, usage, mail via real SMTP."""

from __future__ import annotations

import contextlib
import socket
import time
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from app.errors import Conflict, NotFound, PermissionDenied
from app.extensions import db
from app.manuals.models import Manual
from app.notices import figures as notice_figures
from app.notices import inbox as notice_inbox
from app.notices import mail as notice_mail
from app.notices import reading
from app.notices.models import CONFIRMED, PENDING, SENT, SUPERSEDED, MailOutbox, Notice, Receipt
from app.org.models import Unit, User
from app.usage import services as usage_services
from app.wareki import now_utc, today_jst
from tests.conftest import csrf_token, login, post
from tests.helpers import approve_all, make_manual, revise, user

pytestmark = pytest.mark.usefixtures("demo_users")


def publish_revision(manual, old="14日以内", new="21日以内"):
    revision = revise(manual, "hq.tanto", old, new, reason="審査期間を改める。")
    approve_all(revision)
    return revision


def unit_notice(revision, unit_name: str) -> Notice:
    return db.session.query(Notice).join(Unit).filter(Notice.revision_id == revision.id, Unit.name == unit_name).one()


def test_publish_creates_one_notice_per_target_section_and_owner_copy() -> None:
    manual = make_manual(targets="[保険年金課, 戸籍住民課]")
    revision = publish_revision(manual)
    rows = db.session.query(Notice).filter_by(revision_id=revision.id).all()
    ward = [n for n in rows if not n.owner_copy]
    assert len(ward) == 14  # 7 offices × 2 sections
    assert {n.unit.section for n in ward} == {"保険年金課", "戸籍住民課"}
    (copy,) = [n for n in rows if n.owner_copy]
    assert copy.unit.name == "健康福祉局 保険年金課"
    n = ward[0]
    assert (n.kind, n.number, n.reason, n.status) == ("改正", 2, "審査期間を改める。", PENDING)
    assert n.due_date == today_jst() + timedelta(days=14)


def test_due_days_set_at_publishing() -> None:
    from app.revisions import route

    manual = make_manual()
    revision = revise(manual, "hq.tanto", "14日以内", "21日以内")
    route.submit(db.session, user("hq.tanto"), revision)
    route.approve(db.session, user("hq.kakaricho"), revision)
    route.approve(db.session, user("hq.kacho"), revision, notice_due_days=30)
    db.session.commit()
    assert unit_notice(revision, "青葉区 保険年金課").due_date == today_jst() + timedelta(days=30)


def test_inbox_unread_read_and_confirm() -> None:
    manual = make_manual()
    revision = publish_revision(manual)
    tanto, kacho, chief = user("aoba.tanto"), user("aoba.kacho"), user("aoba.hoken.kakaricho")
    assert notice_inbox.unread_count(db.session, tanto) == 1
    assert notice_inbox.unread_count(db.session, user("izumi.hoken.tanto")) == 1
    assert notice_inbox.unread_count(db.session, user("aoba.koseki.tanto")) == 0  # not a target section
    notice = unit_notice(revision, "青葉区 保険年金課")
    assert reading.record_read(db.session, tanto, notice, notice.number)
    assert not reading.record_read(db.session, tanto, notice, notice.number)  # twice is once
    assert notice_inbox.unread_count(db.session, tanto) == 0
    assert db.session.query(Receipt).filter(Receipt.read_at.is_not(None)).count() == 1
    status = dict((u.login, r.read_at) for u, r in reading.people(db.session, notice))
    assert status["aoba.tanto"] is not None and status["aoba.kacho"] is None
    with pytest.raises(PermissionDenied, match="所属長"):
        notice_inbox.confirm(db.session, tanto, notice)
    with pytest.raises(PermissionDenied, match="所属長"):
        notice_inbox.confirm(db.session, chief, notice)
    notice_inbox.set_delegate(db.session, kacho, chief, True)
    notice_inbox.confirm(db.session, chief, notice, "朝礼で説明済み")
    assert notice.status == CONFIRMED and notice.confirmed_by_name == chief.name
    with pytest.raises(Conflict, match="すでに周知済"):
        notice_inbox.confirm(db.session, kacho, notice)
    with pytest.raises(PermissionDenied):
        notice_inbox.confirm(db.session, user("izumi.hoken.kacho"), notice)  # another ward's head


def test_newer_revision_supersedes_and_needs_its_own_confirmation() -> None:
    manual = make_manual()
    first = publish_revision(manual)
    old = unit_notice(first, "青葉区 保険年金課")
    notice_inbox.confirm(db.session, user("aoba.kacho"), old)
    izumi_old = unit_notice(first, "泉区 保険年金課")
    second = publish_revision(manual, "決定通知書を郵送する。", "決定通知書を郵送又は交付する。")
    db.session.expire_all()
    assert old.status == CONFIRMED  # a confirmed one stays confirmed …
    assert izumi_old.status == SUPERSEDED  # … a pending one is superseded, not overdue
    assert not notice_inbox.is_overdue(izumi_old, today_jst() + timedelta(days=60))
    new = unit_notice(second, "青葉区 保険年金課")
    assert new.status == PENDING  # the earlier confirmation does not count for the new revision
    with pytest.raises(Conflict, match="失効"):
        notice_inbox.confirm(db.session, user("izumi.hoken.kacho"), izumi_old)


def test_matrix_shows_each_ward_and_is_for_the_owner() -> None:
    manual = make_manual()
    revision = publish_revision(manual)
    notice = unit_notice(revision, "青葉区 保険年金課")
    izumi = unit_notice(revision, "泉区 保険年金課")
    reading.record_read(db.session, user("izumi.hoken.tanto"), izumi, izumi.number)
    notice_inbox.confirm(db.session, user("aoba.kacho"), notice)
    late = unit_notice(revision, "若林区 保険年金課")
    late.due_date = today_jst() - timedelta(days=1)
    m = notice_figures.matrix(db.session, user("hq.tanto"), revision_id=revision.id)
    assert m.cells[("青葉区", "保険年金課")].label == "周知済"
    assert m.cells[("泉区", "保険年金課")].label == "既読のみ"
    assert m.cells[("若林区", "保険年金課")].label == "期限超過"
    assert m.cells[("太白区", "保険年金課")].label == "未読"
    assert m.totals() == {"confirmed": 1, "read": 1, "overdue": 1, "unread": 4}
    rows = notice_figures.matrix_rows(m)
    assert rows[0][:3] == ["区役所・総合支所", "課", "状態"] and len(rows) == 8
    with pytest.raises(PermissionDenied):
        notice_figures.matrix(db.session, user("aoba.kacho"), revision_id=revision.id)
    with pytest.raises(PermissionDenied):
        notice_figures.matrix(db.session, user("kaigo.hq.tanto"), revision_id=revision.id)
    assert notice_figures.matrix(db.session, user("admin"), revision_id=revision.id).cells


def test_pages_badge_open_marks_read_and_exports(client) -> None:
    manual = make_manual()
    revision = publish_revision(manual)
    login(client, "aoba.tanto")
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'data-testid="unread-badge"' in page and "未読1件" in page
    notice = unit_notice(revision, "青葉区 保険年金課")
    resp = client.get(f"/notices/{notice.id}/open")  # the old link: to the reading page, recording nothing
    assert resp.status_code == 302 and resp.headers["Location"] == f"/notices/{notice.id}/read"
    page = client.get(f"/notices/{notice.id}/read").get_data(as_text=True)
    assert "（傍線部分は改正部分）" in page and "data-read-beacon" in page
    assert "未読1件" in client.get("/dashboard").get_data(as_text=True)  # a GET records nothing
    assert post(client, f"/notices/{notice.id}/read", {"number": "2"}).status_code == 302
    assert 'data-testid="unread-badge"' not in client.get("/dashboard").get_data(as_text=True)
    # another ward's notice cannot be opened
    other = unit_notice(revision, "泉区 保険年金課")
    assert client.get(f"/notices/{other.id}").status_code == 404
    assert client.get(f"/notices/matrix?revision={revision.id}").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login(client, "hq.tanto")
    assert "審査期間を改める" in client.get("/notices/sent").get_data(as_text=True)
    page = client.get(f"/notices/matrix?revision={revision.id}").get_data(as_text=True)
    assert "既読のみ" in page and "未読" in page
    csv_resp = client.get(f"/notices/matrix?revision={revision.id}&format=csv")
    assert csv_resp.mimetype == "text/csv" and "青葉区,保険年金課,既読のみ,1" in csv_resp.get_data(as_text=True)
    xlsx = client.get(f"/notices/matrix?revision={revision.id}&format=xlsx")
    from io import BytesIO

    from openpyxl import load_workbook

    ws = load_workbook(BytesIO(xlsx.data)).active
    assert ws["A1"].value == "区役所・総合支所" and ws["C2"].value in ("既読のみ", "未読")


def test_usage_counts_and_gap_list(client) -> None:
    from app.search import services as search

    manual = make_manual()
    login(client, "aoba.tanto")
    client.get("/manuals/test-manual")
    client.get("/manuals/test-manual")
    search.search(db.session, user("aoba.tanto"), "存在しない語句")
    rows = usage_services.usage_by_office(db.session, manual.owner_unit_id, usage_services.recent_months(1))
    assert rows[0]["total"] == 2 and rows[0]["cells"][("青葉区", today_jst().strftime("%Y-%m"))] == 2
    gaps = usage_services.gap_list(db.session, now_utc() - timedelta(days=1))
    assert gaps[0][:3] == ("存在しない語句", "青葉区", 1)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login(client, "hq.tanto")
    page = client.get("/notices/usage").get_data(as_text=True)
    assert "テスト事務の手引き" in page and "存在しない語句" in page
    assert "存在しない語句,青葉区,1" in client.get("/notices/usage?format=csv").get_data(as_text=True)


def test_ruling_published_is_announced_to_its_manual_sections() -> None:
    from app.rulings import services as rulings

    manual = make_manual()
    inquiry = rulings.file_inquiry(db.session, user("aoba.tanto"), kind="疑義照会", subject="件名", body="内容",
                                   manual=manual)
    rulings.save_answer(db.session, user("hq.tanto"), inquiry, answer="回答", basis="根拠", tags=[], share_all=True,
                        submit=True)
    rulings.approve(db.session, user("hq.kacho"), inquiry)
    db.session.commit()
    rows = db.session.query(Notice).filter_by(ruling_id=inquiry.id).all()
    assert len([n for n in rows if not n.owner_copy]) == 7 and rows[0].kind == "判断事例"
    # a ruling without a manual goes to the sections named when answering (default 総務課)
    free = rulings.file_inquiry(db.session, user("aoba.tanto"), kind="疑義照会", subject="件名2", body="内容",
                                owner_unit=manual.owner_unit)
    rulings.save_answer(db.session, user("hq.tanto"), free, answer="回答", basis="根拠", tags=[], share_all=True,
                        submit=True, notice_sections=["税務課"])
    rulings.approve(db.session, user("hq.kacho"), free)
    db.session.commit()
    sections = {n.unit.section for n in db.session.query(Notice).filter_by(ruling_id=free.id) if not n.owner_copy}
    assert sections == {"税務課"}


# --- mail through a real SMTP server on loopback ------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app: Flask):
    port = free_port()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_FROM="tebiki@city.example.lg.jp")
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    yield controller, inbox
    with contextlib.suppress(AssertionError, RuntimeError):  # stopping one never started
        controller.stop()
    app.config["MAIL_SERVER"] = None


def test_every_target_user_gets_exactly_one_mail(smtp) -> None:
    controller, inbox = smtp
    controller.start()
    manual = make_manual()
    publish_revision(manual)
    expected = {u.email for u in db.session.query(User)
                .join(Unit).filter(Unit.section == "保険年金課") if u.email}
    assert len(expected) == 7 * 3 + 3  # 7 ward sections × 3 staff + the owner unit's 3
    result = notice_mail.send_queued(db.session)
    assert result.sent == len(expected)
    to = [rcpt for rcpts, _ in inbox.messages for rcpt in rcpts]
    assert sorted(to) == sorted(expected)  # exactly one each
    body = inbox.messages[0][1].decode("utf-8", "replace")
    assert "Subject:" in body
    assert notice_mail.send_queued(db.session).sent == 0  # nothing sent twice


def test_mail_stays_queued_while_smtp_is_down_and_goes_out_later(smtp) -> None:
    controller, inbox = smtp
    manual = make_manual()
    publish_revision(manual)  # SMTP server not started: unreachable
    total = db.session.query(MailOutbox).count()
    result = notice_mail.send_queued(db.session)
    assert result.sent == 0 and result.retried >= 1
    db.session.expire_all()
    assert db.session.query(MailOutbox).filter(MailOutbox.status == SENT).count() == 0
    row = db.session.query(MailOutbox).filter(MailOutbox.attempts > 0).first()
    assert row.last_error and row.next_attempt_at > now_utc()
    controller.start()
    # After the back-off the retry goes out; make every row due now.
    db.session.query(MailOutbox).update({MailOutbox.next_attempt_at: now_utc()
                                         - timedelta(seconds=1)})
    db.session.commit()
    deadline = time.time() + 20
    while time.time() < deadline and db.session.query(MailOutbox).filter(MailOutbox.status == SENT).count() < total:
        notice_mail.send_queued(db.session)
        db.session.expire_all()
    assert db.session.query(MailOutbox).filter(MailOutbox.status == SENT).count() == total
    assert len(inbox.messages) == total  # none lost, none twice


def test_a_crash_between_send_and_mark_sent_resends_once_with_the_same_message_id(smtp) -> None:
    controller, inbox = smtp
    controller.start()
    make_manual()
    publish_revision(db.session.query(Manual).one())
    row = db.session.query(MailOutbox).first()
    # Simulate: claimed and sent, then the process died before marking it sent.
    row.status = "sending"
    row.next_attempt_at = now_utc() - timedelta(minutes=30)
    db.session.commit()
    notice_mail.send_queued(db.session)
    resent = [content for _, content in inbox.messages if row.message_id.encode() in content]
    assert len(resent) == 1  # retried once, with its stable Message-ID


def test_remind_mails_heads_once_a_day(smtp) -> None:
    controller, inbox = smtp
    controller.start()
    manual = make_manual()
    revision = publish_revision(manual)
    notice_mail.send_queued(db.session)
    inbox.messages.clear()
    for n in db.session.query(Notice).filter_by(revision_id=revision.id):
        n.due_date = today_jst() - timedelta(days=1)
    notice_inbox.confirm(db.session, user("aoba.kacho"), unit_notice(revision, "青葉区 保険年金課"))
    db.session.commit()
    assert notice_mail.remind(db.session) == 6  # the 6 other ward heads
    notice_mail.send_queued(db.session)
    heads = sorted(r for rcpts, _ in inbox.messages for r in rcpts)
    assert len(heads) == 6 and all(".kacho@" in h for h in heads) and "aoba.kacho@city.example.lg.jp" not in heads
    assert notice_mail.remind(db.session) == 0  # not twice the same day


def test_send_without_mail_server_is_a_clear_error(app: Flask) -> None:
    from app.errors import ValidationError

    with pytest.raises(ValidationError, match="MAIL_SERVER"):
        notice_mail.send_queued(db.session)
    with pytest.raises(NotFound):
        notice_inbox.get_notice(db.session, user("aoba.tanto"), 999)


def test_confirm_over_http(client) -> None:
    manual = make_manual()
    revision = publish_revision(manual)
    notice = unit_notice(revision, "青葉区 保険年金課")
    login(client, "aoba.tanto")
    assert post(client, f"/notices/{notice.id}/confirm").status_code == 403
    db.session.expire_all()
    assert notice.status == PENDING  # a 担当 cannot confirm
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login(client, "aoba.kacho")
    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert "未読" in page and "田中 陽子" in page
    resp = post(client, f"/notices/{notice.id}/confirm", {"comment": "課内会議で説明"}, follow_redirects=True)
    assert "周知済として確認しました" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert notice.status == CONFIRMED and notice.confirm_comment == "課内会議で説明"
