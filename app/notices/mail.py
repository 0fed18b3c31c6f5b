"""Mail: the outbox sender (at least once, with back-off) and the daily reminders to 所属長."""

from __future__ import annotations

import contextlib
import smtplib
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from email.utils import formatdate

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.errors import ValidationError
from app.guard import changed
from app.notices.models import FAILED, PENDING, QUEUED, SENDING, SENT, MailOutbox, Notice, Receipt
from app.org.models import HEAD, User
from app.wareki import now_utc, today_jst, wareki

MAX_ATTEMPTS = 12


@dataclass
class SendResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


def send_queued(session: Session, *, limit: int = 500, stale_after: timedelta = timedelta(minutes=10)) -> SendResult:
    """Deliver due outbox rows. At least once: a row is claimed (queued → sending) before the SMTP
    conversation and marked sent after; a crash in between leaves it 'sending', and it is retried
    after `stale_after` with the same Message-ID, so a receiving server can drop the duplicate.
    """
    cfg = current_app.config
    if not cfg.get("MAIL_SERVER"):
        raise ValidationError("MAIL_SERVER が設定されていないため、メールは送信しません（通知は画面に表示されています）。")
    now = now_utc()
    session.execute(update(MailOutbox).where(MailOutbox.status == SENDING, MailOutbox.next_attempt_at < now - stale_after)
                    .values(status=QUEUED).execution_options(synchronize_session=False))
    session.commit()
    due = list(session.scalars(select(MailOutbox.id).where(MailOutbox.status == QUEUED, MailOutbox.next_attempt_at <= now)
                               .order_by(MailOutbox.id).limit(limit)))
    result = SendResult()
    if not due:
        return result
    smtp: smtplib.SMTP | None = None
    try:
        for row_id in due:
            # Claim the row: another sender process that claimed it first wins.
            claimed = changed(session, update(MailOutbox).where(MailOutbox.id == row_id, MailOutbox.status == QUEUED)
                                      .values(status=SENDING, next_attempt_at=now_utc())
                                      .execution_options(synchronize_session=False))
            session.commit()
            if not claimed:
                continue
            row = session.get(MailOutbox, row_id)
            assert row is not None
            try:
                if smtp is None:
                    smtp = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=10)
                smtp.send_message(_message(row, cfg["MAIL_FROM"]))
            except (OSError, smtplib.SMTPException) as exc:
                row.attempts += 1
                row.last_error = f"{type(exc).__name__}: {exc}"[:500]
                if row.attempts >= MAX_ATTEMPTS:
                    row.status = FAILED
                    result.failed += 1
                else:
                    row.status = QUEUED
                    row.next_attempt_at = now_utc() + backoff(row.attempts)
                    result.retried += 1
                session.commit()
                if smtp is not None:
                    _quit(smtp)
                smtp = None
                continue
            row.status = SENT
            row.sent_at = now_utc()
            row.attempts += 1
            session.commit()
            result.sent += 1
    finally:
        if smtp is not None:
            _quit(smtp)
    return result


def _quit(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError, smtplib.SMTPException):
        smtp.quit()


def _message(row: MailOutbox, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = row.to_addr
    msg["Subject"] = row.subject
    msg["Message-ID"] = row.message_id
    msg["Date"] = formatdate(localtime=True)
    msg.set_content(row.body, charset="utf-8")
    return msg


def remind(session: Session) -> int:
    """Mail the 所属長 of every unit with overdue, unconfirmed notices — at most once a day per unit,
    however many hosts run the timer: each unit's notices are claimed by a conditional update
    (last_reminded_on moves to today only once; a second host's update waits for the first's row
    locks and then matches nothing), committed with the unit's mail as one unit of work."""
    cfg = current_app.config
    today = today_jst()
    # Overdue ones; and 緊急 ones every day from the first (issue 17).
    due = (Notice.status == PENDING) & Notice.owner_copy.is_(False) & (
        (Notice.due_date < today) | (Notice.significance == "urgent")) & (
        Notice.last_reminded_on.is_(None) | (Notice.last_reminded_on < today))
    units = list(session.scalars(select(Notice.unit_id).where(due).distinct()))
    base = cfg["BASE_URL"].rstrip("/")
    domain = cfg["MAIL_FROM"].split("@")[-1]
    sent = 0
    for unit_id in units:
        notices = list(session.scalars(select(Notice).where(due, Notice.unit_id == unit_id).order_by(Notice.due_date)))
        claimed = changed(session, update(Notice).where(due, Notice.id.in_([n.id for n in notices]))
                                  .values(last_reminded_on=today).execution_options(synchronize_session=False))
        if not claimed:
            session.rollback()
            continue  # another host reminded this unit a moment ago
        heads = session.scalars(select(User).where(User.unit_id == unit_id, User.position == HEAD,
                                                   User.active.is_(True), User.email.is_not(None)))
        lines = ["周知確認の期限を過ぎた通知（または緊急の通知）があります。所属職員への周知を確認し、「周知済」の確認をしてください。", ""]
        lines += [f"・{'【緊急】' if n.significance == 'urgent' else ''}{n.kind}: {n.title}（期限 {wareki(n.due_date)}）"
                  f" {base}/notices/{n.id}" for n in notices]
        for head in heads:
            if cfg.get("MAIL_SERVER"):
                session.add(MailOutbox(
                    notice_id=notices[0].id, user_id=head.id, to_addr=head.email or "",
                    subject=f"【手引】周知確認の期限超過（{len(notices)}件）", body=f"{head.name} 様\n\n" + "\n".join(lines),
                    message_id=f"<remind-{unit_id}-{head.id}-{today.isoformat()}@{domain}>", status=QUEUED,
                    next_attempt_at=now_utc()))
            sent += 1
        sent += _remind_people(session, [n for n in notices if n.needs_acknowledgement], base, domain, today)
        session.commit()
    return sent


def _remind_people(session: Session, notices: list[Notice], base: str, domain: str, today: date) -> int:
    """重要 (overdue) and 緊急 notices: each targeted person who has not confirmed the content yet."""
    cfg = current_app.config
    n = 0
    for notice in notices:
        people = session.scalars(select(User).join(Receipt, Receipt.user_id == User.id).where(
            Receipt.notice_id == notice.id, Receipt.acknowledged_at.is_(None), User.active.is_(True),
            User.email.is_not(None)))
        for person in people:
            if cfg.get("MAIL_SERVER"):
                session.add(MailOutbox(
                    notice_id=notice.id, user_id=person.id, to_addr=person.email or "",
                    subject=f"【手引】{'【緊急】' if notice.significance == 'urgent' else ''}内容の確認のお願い: {notice.title}",
                    body=f"{person.name} 様\n\n{notice.title}（第{notice.number}版）の内容をまだ確認していません。"
                         f"期限は{wareki(notice.due_date)}です。\n新旧対照表を読み「内容を確認しました」を押してください:\n"
                         f"{base}/notices/{notice.id}/read\n\n-- 手引（Tebiki）",
                    message_id=f"<remind-{notice.id}-{person.id}-{today.isoformat()}@{domain}>", status=QUEUED,
                    next_attempt_at=now_utc()))
            n += 1
    return n
