"""Delivery of notices on every publication, reading, 周知 confirmation, mail, and the figures.

Listeners of `revision_published` and `ruling_published` create, in one transaction, a notice per
target unit (the matching section in every ward office, plus the owner unit's copy) and — when
MAIL_SERVER is set — one outbox row per recipient. `flask notices send` delivers the outbox.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate

from flask import current_app
from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import audit, signals
from app.errors import Conflict, NotFound, ValidationError
from app.manuals.models import Manual
from app.notices.models import (
    CONFIRMED,
    FAILED,
    PENDING,
    QUEUED,
    SENDING,
    SENT,
    SUPERSEDED,
    ConfirmDelegate,
    MailOutbox,
    Notice,
    NoticeRead,
    UsageCount,
)
from app.org.models import CHIEF, HEAD, WARD, Unit, User
from app.org.permissions import require
from app.wareki import now_utc, to_jst, today_jst, wareki

log = logging.getLogger(__name__)
DUE_DAYS = 14
MAX_ATTEMPTS = 12


def pairs(session: Session, stmt) -> dict:  # type: ignore[no-untyped-def]
    """A two-column query as a dict."""
    return {k: v for k, v in session.execute(stmt)}


# --- delivery ----------------------------------------------------------------------------------


def ward_units(session: Session, sections: list[str]) -> list[Unit]:
    return list(session.scalars(select(Unit).where(
        Unit.kind == WARD, Unit.active.is_(True), Unit.section.in_(sections)).order_by(Unit.sort_order)))


@dataclass
class Publication:
    kind: str  # 制定 / 改正 / 廃止 / 判断事例
    title: str
    reason: str
    summary: str
    due_date: date
    owner_unit_id: int
    manual: Manual | None = None
    revision_id: int | None = None
    ruling_id: int | None = None
    number: int | None = None
    effective_date: date | None = None
    link: str = ""  # path of the page to read (新旧対照表 or the ruling)
    at: datetime | None = None  # when it was published (the notice is dated then, even if delivered late)


def fan_out(session: Session, pub: Publication, units: list[Unit]) -> list[Notice]:
    """Notices for every target unit and the owner's copy, and their mail, in the caller's transaction."""
    if pub.manual is not None and pub.revision_id is not None:
        # A newer revision supersedes older pending notices of the same manual.
        session.execute(update(Notice).where(
            Notice.manual_id == pub.manual.id, Notice.revision_id.is_not(None), Notice.status == PENDING
        ).values(status=SUPERSEDED).execution_options(synchronize_session=False))
    common = dict(kind=pub.kind, manual_id=pub.manual.id if pub.manual else None, revision_id=pub.revision_id,
                  ruling_id=pub.ruling_id, number=pub.number, title=pub.title, reason=pub.reason, summary=pub.summary,
                  effective_date=pub.effective_date, due_date=pub.due_date, status=PENDING,
                  created_at=pub.at or now_utc())
    notices = [Notice(unit_id=u.id, owner_copy=False, **common) for u in units]
    notices.append(Notice(unit_id=pub.owner_unit_id, owner_copy=True, **{**common, "status": CONFIRMED}))
    session.add_all(notices)
    session.flush()
    if current_app.config.get("MAIL_SERVER"):
        _queue_mail(session, pub, notices)
    return notices


def _queue_mail(session: Session, pub: Publication, notices: list[Notice]) -> None:
    by_unit = {n.unit_id: n for n in notices}
    recipients = session.execute(select(User.id, User.unit_id, User.email, User.name).where(
        User.unit_id.in_(by_unit), User.active.is_(True), User.email.is_not(None)))
    base = current_app.config["BASE_URL"].rstrip("/")
    domain = current_app.config["MAIL_FROM"].split("@")[-1]
    rows = []
    for user_id, unit_id, email, name in recipients:
        notice = by_unit[unit_id]
        rows.append({
            "notice_id": notice.id, "user_id": user_id, "to_addr": email,
            "subject": f"【手引】{pub.kind}通知: {pub.title}",
            "body": mail_body(pub, notice, name, base),
            "message_id": f"<notice-{notice.id}-{user_id}-{uuid.uuid4().hex[:8]}@{domain}>",
            "status": QUEUED, "attempts": 0, "next_attempt_at": now_utc(), "last_error": "", "created_at": now_utc(),
        })
    if rows:
        session.execute(insert(MailOutbox), rows)


def mail_body(pub: Publication, notice: Notice, name: str, base: str) -> str:
    lines = [f"{name} 様", "", f"{pub.title} について{pub.kind}の通知があります。", ""]
    if pub.number:
        lines.append(f"版: 第{pub.number}版")
    if pub.effective_date:
        lines.append(f"施行日: {wareki(pub.effective_date)}")
    if pub.reason:
        lines.append(f"改正理由: {pub.reason}")
    if pub.summary:
        lines.append(f"概要: {pub.summary}")
    if not notice.owner_copy:
        lines.append(f"周知確認の期限: {wareki(notice.due_date)}")
    lines += ["", "内容の確認（新旧対照表）:", f"{base}/notices/{notice.id}/open", "",
              "所属長は、所属職員への周知を確認したら「周知済」の確認をしてください。", "", "-- 手引（Tebiki）"]
    return "\n".join(lines)


def _on_revision_published(_sender: object, revision_id: int, manual_id: int, number: int, kind: str,
                           **_kw: object) -> None:
    from app.extensions import db
    from app.revisions.models import KIND_LABELS, Revision

    revision = db.session.get(Revision, revision_id)
    manual = db.session.get(Manual, manual_id)
    if revision is None or manual is None:
        return
    try:
        pub = Publication(
            kind=KIND_LABELS[kind], title=manual.title, reason=revision.reason, summary=revision.summary,
            due_date=to_jst(revision.published_at or now_utc()).date() + timedelta(days=revision.notice_due_days),
            owner_unit_id=manual.owner_unit_id, manual=manual, revision_id=revision.id, number=number,
            effective_date=revision.effective_date, link=f"/manuals/{manual.slug}/compare?new={number}",
            at=revision.published_at)
        fan_out(db.session, pub, ward_units(db.session, manual.target_names))
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("notices for revision %s failed", revision_id)
        raise


def _on_ruling_published(_sender: object, ruling_ids: list[int], imported: bool = False, amended: bool = False,
                         **_kw: object) -> None:
    """A ruling approved for all wards is announced; rulings imported from the past are not."""
    from app.extensions import db
    from app.rulings.models import Inquiry

    if imported:
        return
    for ruling in db.session.scalars(select(Inquiry).where(Inquiry.id.in_(ruling_ids))):
        sections = ruling.manual.target_names if ruling.manual else (
            [s for s in ruling.notice_sections.split("\n") if s] or ["総務課"])
        pub = Publication(
            kind="判断事例", title=f"{ruling.number} {ruling.subject}" + ("（改訂）" if amended else ""),
            reason=ruling.answer[:200], summary="", due_date=today_jst() + timedelta(days=DUE_DAYS),
            owner_unit_id=ruling.owner_unit_id, manual=ruling.manual, ruling_id=ruling.id,
            link=f"/rulings/{ruling.number}", at=None if amended else ruling.published_at)
        fan_out(db.session, pub, ward_units(db.session, sections))
    db.session.commit()


signals.revision_published.connect(_on_revision_published, weak=False)
signals.ruling_published.connect(_on_ruling_published, weak=False)


# --- reading and confirming ----------------------------------------------------------------------


def _publication(revision_id: int | None, ruling_id: int | None):  # type: ignore[no-untyped-def]
    """The notices of one publication: a revision's, or a ruling's."""
    return Notice.revision_id == revision_id if revision_id else Notice.ruling_id == ruling_id


def _same_publication(notice: Notice):  # type: ignore[no-untyped-def]
    return _publication(notice.revision_id, notice.ruling_id)


def get_notice(session: Session, user: User, notice_id: int) -> Notice:
    """A notice is for its unit; the owner unit and the admin may look at any of theirs."""
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NotFound("指定された通知は見つかりません。")
    if notice.unit_id == user.unit_id or user.is_admin:
        return notice
    owner = session.scalar(select(Notice.unit_id).where(Notice.owner_copy.is_(True), _same_publication(notice)))
    if owner != user.unit_id:
        raise NotFound("指定された通知は見つかりません。")
    return notice


def inbox_query(user: User, *, only_unread: bool = False, kind: str | None = None):  # type: ignore[no-untyped-def]
    read = select(NoticeRead.notice_id).where(NoticeRead.user_id == user.id)
    stmt = select(Notice, Notice.id.in_(read).label("is_read")).where(Notice.unit_id == user.unit_id)
    if only_unread:  # the same notices the badge counts
        stmt = stmt.where(Notice.id.not_in(read), Notice.status != SUPERSEDED, Notice.owner_copy.is_(False))
    if kind:
        stmt = stmt.where(Notice.kind == kind)
    return stmt.order_by(Notice.created_at.desc(), Notice.id.desc())


def unread_count(session: Session, user: User) -> int:
    read = select(NoticeRead.notice_id).where(NoticeRead.user_id == user.id)
    return session.scalar(select(func.count(Notice.id)).where(
        Notice.unit_id == user.unit_id, Notice.status != SUPERSEDED, Notice.owner_copy.is_(False),
        Notice.id.not_in(read))) or 0


def mark_read(session: Session, user: User, notice: Notice) -> None:
    if notice.unit_id != user.unit_id:
        return  # someone from the owner unit looking at a ward's notice does not count as reading it
    exists = session.scalar(select(NoticeRead.id).where(NoticeRead.notice_id == notice.id,
                                                         NoticeRead.user_id == user.id))
    if exists:
        return
    try:
        with session.begin_nested():
            session.add(NoticeRead(notice_id=notice.id, user_id=user.id))
    except IntegrityError:
        pass  # read twice at the same moment


def mark_all_read(session: Session, user: User) -> int:
    read = select(NoticeRead.notice_id).where(NoticeRead.user_id == user.id)
    ids = list(session.scalars(select(Notice.id).where(Notice.unit_id == user.unit_id, Notice.id.not_in(read))))
    if ids:
        session.execute(insert(NoticeRead), [{"notice_id": i, "user_id": user.id, "read_at": now_utc()} for i in ids])
    return len(ids)


def link_of(notice: Notice) -> str:
    from app.extensions import db

    if notice.ruling_id:
        from app.rulings.models import Inquiry

        number = db.session.scalar(select(Inquiry.number).where(Inquiry.id == notice.ruling_id))
        return f"/rulings/{number}"
    manual = db.session.get(Manual, notice.manual_id)
    if notice.kind == "制定" or not notice.number or notice.number < 2:
        return f"/manuals/{manual.slug}/v/{notice.number}" if manual else "/"
    return f"/manuals/{manual.slug}/compare?new={notice.number}" if manual else "/"


def read_status(session: Session, notice: Notice) -> list[tuple[User, datetime | None]]:
    """Every active member of the unit with the time they opened the notice (None: not yet)."""
    reads = pairs(session, select(NoticeRead.user_id, NoticeRead.read_at).where(NoticeRead.notice_id == notice.id))
    users = session.scalars(select(User).where(User.unit_id == notice.unit_id, User.active.is_(True))
                            .order_by(User.name))
    return [(u, reads.get(u.id)) for u in users]


def is_delegate(user: User) -> bool:
    from app.extensions import db

    return db.session.scalar(select(ConfirmDelegate.id).where(
        ConfirmDelegate.unit_id == user.unit_id, ConfirmDelegate.user_id == user.id)) is not None


def confirm(session: Session, user: User, notice: Notice, comment: str = "") -> None:
    require(user, "notice.confirm", notice)
    if notice.status == SUPERSEDED:
        raise Conflict("この通知は新しい改正により失効しています。新しい改正の通知を確認してください。")
    if notice.status == CONFIRMED:
        raise Conflict("この通知は既に周知済として確認されています。")
    notice.status = CONFIRMED
    notice.confirmed_by_id, notice.confirmed_by_name, notice.confirmed_by_position = user.id, user.name, user.position
    notice.confirmed_at = now_utc()
    notice.confirm_comment = comment.strip()[:2000]
    mark_read(session, user, notice)
    audit.record(session, user, "notice.confirm", "notice", notice.id, unit=notice.unit.name)


def set_delegate(session: Session, head: User, chief: User, grant: bool) -> None:
    require(head, "notice.delegate")
    if chief.unit_id != head.unit_id or chief.position != CHIEF:
        raise ValidationError("委任できるのは同じ所属の係長です。")
    row = session.scalar(select(ConfirmDelegate).where(ConfirmDelegate.unit_id == head.unit_id,
                                                        ConfirmDelegate.user_id == chief.id))
    if grant and row is None:
        session.add(ConfirmDelegate(unit_id=head.unit_id, user_id=chief.id, granted_by_id=head.id))
    elif not grant and row is not None:
        session.delete(row)
    audit.record(session, head, "notice.delegate" if grant else "notice.undelegate", "user", chief.id)


def delegates(session: Session, unit_id: int) -> list[int]:
    return list(session.scalars(select(ConfirmDelegate.user_id).where(ConfirmDelegate.unit_id == unit_id)))


def is_overdue(notice: Notice, today: date | None = None) -> bool:
    return notice.status == PENDING and notice.due_date is not None and notice.due_date < (today or today_jst())


# --- figures for 本庁 ---------------------------------------------------------------------------------

STATUS_LABELS = {"unread": "未読", "read": "既読のみ", "confirmed": "周知済", "overdue": "期限超過",
                 "superseded": "失効（新しい改正あり）"}


@dataclass
class Cell:
    notice: Notice
    readers: int
    members: int

    @property
    def state(self) -> str:
        if self.notice.status == CONFIRMED:
            return "confirmed"
        if self.notice.status == SUPERSEDED:
            return "superseded"
        if is_overdue(self.notice):
            return "overdue"
        return "read" if self.readers else "unread"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.state]


@dataclass
class Matrix:
    offices: list[str]
    sections: list[str]
    cells: dict[tuple[str, str], Cell]
    notices: list[Notice]

    def totals(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for cell in self.cells.values():
            counts[cell.state] += 1
        return dict(counts)


def publication_notices(session: Session, *, revision_id: int | None = None, ruling_id: int | None = None
                        ) -> list[Notice]:
    return list(session.scalars(select(Notice).where(_publication(revision_id, ruling_id)).order_by(Notice.id)))


def matrix(session: Session, user: User, *, revision_id: int | None = None, ruling_id: int | None = None) -> Matrix:
    notices = publication_notices(session, revision_id=revision_id, ruling_id=ruling_id)
    if not notices:
        raise NotFound("この公布の通知はありません。")
    owner_copy = next(n for n in notices if n.owner_copy)  # every publication has the owner unit's copy
    require(user, "notice.figures", owner_copy.unit_id)
    ward = [n for n in notices if not n.owner_copy]
    ids = [n.id for n in ward]
    readers = pairs(session, select(NoticeRead.notice_id, func.count(NoticeRead.id))
                    .where(NoticeRead.notice_id.in_(ids)).group_by(NoticeRead.notice_id))
    members = pairs(session, select(User.unit_id, func.count(User.id)).where(
        User.unit_id.in_([n.unit_id for n in ward]), User.active.is_(True)).group_by(User.unit_id))
    cells = {(n.unit.group_name, n.unit.section): Cell(n, readers.get(n.id, 0), members.get(n.unit_id, 0)) for n in ward}
    from app.org.services import ward_offices

    sections = list(dict.fromkeys(n.unit.section for n in ward))
    return Matrix(ward_offices(session), sections, cells, notices)


def matrix_rows(m: Matrix) -> list[list[object]]:
    """The matrix as rows for CSV / Excel: one row per ward office × section."""
    rows: list[list[object]] = [["区役所・総合支所", "課", "状態", "既読人数", "職員数", "確認者", "確認日時", "期限"]]
    for office in m.offices:
        for section in m.sections:
            cell = m.cells.get((office, section))
            if cell is None:
                continue
            n = cell.notice
            rows.append([office, section, cell.label, cell.readers, cell.members, n.confirmed_by_name,
                         to_jst(n.confirmed_at).strftime("%Y-%m-%d %H:%M") if n.confirmed_at else "",
                         n.due_date.isoformat() if n.due_date else ""])
    return rows


def sent_publications(session: Session, user: User, limit: int = 50) -> list[tuple[Notice, dict[str, int]]]:
    """The owner unit's recent publications with confirmation progress."""
    copies = list(session.scalars(select(Notice).where(Notice.owner_copy.is_(True), Notice.unit_id == user.unit_id)
                                  .order_by(Notice.created_at.desc()).limit(limit)))
    out = []
    for copy in copies:
        cond = _same_publication(copy)
        counts = pairs(session, select(Notice.status, func.count(Notice.id)).where(
            cond, Notice.owner_copy.is_(False)).group_by(Notice.status))
        overdue = session.scalar(select(func.count(Notice.id)).where(
            cond, Notice.owner_copy.is_(False), Notice.status == PENDING, Notice.due_date < today_jst())) or 0
        out.append((copy, {**counts, "overdue": overdue}))
    return out


# --- usage figures -------------------------------------------------------------------------------------


def count_view(session: Session, user: User, kind: str, object_id: int) -> None:
    """One more view of a manual or ruling by the user's unit this month (活用状況)."""
    month = today_jst().strftime("%Y-%m")
    where = and_(UsageCount.kind == kind, UsageCount.object_id == object_id, UsageCount.unit_id == user.unit_id,
                 UsageCount.month == month)
    for _attempt in range(3):
        if session.execute(update(UsageCount).where(where).values(views=UsageCount.views + 1)
                           .execution_options(synchronize_session=False)).rowcount:
            return
        try:
            with session.begin_nested():
                session.add(UsageCount(kind=kind, object_id=object_id, unit_id=user.unit_id, month=month, views=1))
            return
        except IntegrityError:
            continue


def usage_by_office(session: Session, owner_unit_id: int | None, months: list[str]) -> list[dict[str, object]]:
    """Views per manual per ward office per month, for the owner unit's manuals (all for the admin)."""
    stmt = (select(Manual.slug, Manual.title, Unit.group_name, UsageCount.month, func.sum(UsageCount.views))
            .join(Manual, Manual.id == UsageCount.object_id).join(Unit, Unit.id == UsageCount.unit_id)
            .where(UsageCount.kind == "manual", UsageCount.month.in_(months), Unit.kind == WARD)
            .group_by(Manual.slug, Manual.title, Unit.group_name, UsageCount.month))
    if owner_unit_id:
        stmt = stmt.where(Manual.owner_unit_id == owner_unit_id)
    table: dict[str, dict[str, object]] = {}
    for slug, title, office, month, views in session.execute(stmt):
        row = table.setdefault(slug, {"slug": slug, "title": title, "cells": defaultdict(int), "total": 0})
        row["cells"][(office, month)] += views  # type: ignore[index]
        row["total"] += views  # type: ignore[operator]
    return sorted(table.values(), key=lambda r: -int(r["total"]))  # type: ignore[arg-type]


def ruling_views(session: Session, owner_unit_id: int | None, months: list[str], limit: int = 30
                 ) -> list[tuple[str, str, int]]:
    from app.rulings.models import Inquiry

    stmt = (select(Inquiry.number, Inquiry.subject, func.sum(UsageCount.views).label("v"))
            .join(Inquiry, Inquiry.id == UsageCount.object_id)
            .where(UsageCount.kind == "ruling", UsageCount.month.in_(months))
            .group_by(Inquiry.number, Inquiry.subject).order_by(func.sum(UsageCount.views).desc()).limit(limit))
    if owner_unit_id:
        stmt = stmt.where(Inquiry.owner_unit_id == owner_unit_id)
    return [(n, s, v) for n, s, v in session.execute(stmt)]


def gap_list(session: Session, since: datetime, limit: int = 100) -> list[tuple[str, str, int, datetime]]:
    """Searches with no result per ward office (query, office, times, last)."""
    from app.search.models import SearchLog

    stmt = (select(SearchLog.query, Unit.group_name, func.count(SearchLog.id), func.max(SearchLog.at))
            .join(Unit, Unit.id == SearchLog.unit_id).where(SearchLog.at >= since, SearchLog.results == 0)
            .group_by(SearchLog.query, Unit.group_name).order_by(func.count(SearchLog.id).desc()).limit(limit))
    return [(q, o, n, last) for q, o, n, last in session.execute(stmt)]


def recent_months(n: int = 6) -> list[str]:
    today = today_jst().replace(day=1)
    months = []
    for _ in range(n):
        months.append(today.strftime("%Y-%m"))
        today = (today - timedelta(days=1)).replace(day=1)
    return list(reversed(months))


# --- mail -------------------------------------------------------------------------------------------------


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
            claimed = session.execute(update(MailOutbox).where(MailOutbox.id == row_id, MailOutbox.status == QUEUED)
                                      .values(status=SENDING, next_attempt_at=now_utc())
                                      .execution_options(synchronize_session=False)).rowcount
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
    """Mail the 所属長 of every unit with overdue, unconfirmed notices — at most once a day."""
    cfg = current_app.config
    today = today_jst()
    overdue = list(session.scalars(select(Notice).where(
        Notice.status == PENDING, Notice.owner_copy.is_(False), Notice.due_date < today,
        (Notice.last_reminded_on.is_(None)) | (Notice.last_reminded_on < today))))
    by_unit: dict[int, list[Notice]] = defaultdict(list)
    for n in overdue:
        by_unit[n.unit_id].append(n)
    base = cfg["BASE_URL"].rstrip("/")
    domain = cfg["MAIL_FROM"].split("@")[-1]
    sent = 0
    for unit_id, notices in by_unit.items():
        heads = session.scalars(select(User).where(User.unit_id == unit_id, User.position == HEAD,
                                                   User.active.is_(True), User.email.is_not(None)))
        lines = ["周知確認の期限を過ぎた通知があります。所属職員への周知を確認し、「周知済」の確認をしてください。", ""]
        lines += [f"・{n.kind}: {n.title}（期限 {wareki(n.due_date)}） {base}/notices/{n.id}" for n in notices]
        for head in heads:
            if cfg.get("MAIL_SERVER"):
                session.add(MailOutbox(
                    notice_id=notices[0].id, user_id=head.id, to_addr=head.email or "",
                    subject=f"【手引】周知確認の期限超過（{len(notices)}件）", body=f"{head.name} 様\n\n" + "\n".join(lines),
                    message_id=f"<remind-{unit_id}-{head.id}-{today.isoformat()}@{domain}>", status=QUEUED,
                    next_attempt_at=now_utc()))
            sent += 1
        for n in notices:
            n.last_reminded_on = today
    session.commit()
    return sent
