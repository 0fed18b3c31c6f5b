"""A unit's notices: the inbox and its badge, who has read what, and the 所属長's 周知 confirmation."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import audit, guard
from app.errors import Conflict, NotFound, ValidationError
from app.manuals.models import Manual
from app.notices.models import CONFIRMED, PENDING, SUPERSEDED, ConfirmDelegate, Notice, NoticeRead
from app.org.models import CHIEF, User
from app.org.permissions import require
from app.rulings.models import Inquiry
from app.wareki import now_utc, today_jst


def pairs(session: Session, stmt: Select[Any]) -> dict[Any, Any]:
    """A two-column query as a dict."""
    return {k: v for k, v in session.execute(stmt)}


def publication_of(revision_id: int | None, ruling_id: int | None) -> Any:
    """The notices of one publication: a revision's, or a ruling's."""
    return Notice.revision_id == revision_id if revision_id else Notice.ruling_id == ruling_id


def same_publication(notice: Notice) -> Any:
    return publication_of(notice.revision_id, notice.ruling_id)


def get_notice(session: Session, user: User, notice_id: int) -> Notice:
    """A notice is for its unit; the owner unit and the admin may look at any of theirs."""
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NotFound("指定された通知は見つかりません。")
    if notice.unit_id == user.unit_id or user.is_admin:
        return notice
    owner = session.scalar(select(Notice.unit_id).where(Notice.owner_copy.is_(True), same_publication(notice)))
    if owner != user.unit_id:
        raise NotFound("指定された通知は見つかりません。")
    return notice


def inbox_query(user: User, *, only_unread: bool = False, kind: str | None = None) -> Select[Any]:
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


def link_of(session: Session, notice: Notice) -> str:
    if notice.ruling_id:
        number = session.scalar(select(Inquiry.number).where(Inquiry.id == notice.ruling_id))
        return f"/rulings/{number}"
    manual = session.get(Manual, notice.manual_id)
    if manual is None:
        return "/"
    if notice.kind == "制定" or not notice.number or notice.number < 2:
        return f"/manuals/{manual.slug}/v/{notice.number}"
    return f"/manuals/{manual.slug}/compare?new={notice.number}"


def read_status(session: Session, notice: Notice) -> list[tuple[User, datetime | None]]:
    """Every active member of the unit with the time they opened the notice (None: not yet)."""
    reads = pairs(session, select(NoticeRead.user_id, NoticeRead.read_at).where(NoticeRead.notice_id == notice.id))
    users = session.scalars(select(User).where(User.unit_id == notice.unit_id, User.active.is_(True))
                            .order_by(User.name_kana, User.name))
    return [(u, reads.get(u.id)) for u in users]


def _confirm_refusal(notice: Notice | None) -> str:
    if notice is not None and notice.status == SUPERSEDED:
        return "この通知は新しい改正により失効しています。新しい改正の通知を確認してください。"
    who = f"（{notice.confirmed_by_name}）" if notice is not None and notice.confirmed_by_name else ""
    return f"この通知はすでに周知済として確認されています{who}。"


def confirm(session: Session, user: User, notice: Notice, comment: str = "") -> None:
    require(user, "notice.confirm", notice)
    if notice.status != PENDING:
        raise Conflict(_confirm_refusal(notice))
    guard.transition(session, notice, Notice.status == PENDING, _confirm_refusal, status=CONFIRMED,
                     confirmed_by_id=user.id, confirmed_by_name=user.name, confirmed_by_position=user.position,
                     confirmed_at=now_utc(), confirm_comment=comment.strip()[:2000])
    mark_read(session, user, notice)
    audit.record(session, user, "notice.confirm", "notice", notice.id, unit=notice.unit.name)


def set_delegate(session: Session, head: User, chief: User, grant: bool) -> None:
    require(head, "notice.delegate")
    if chief.unit_id != head.unit_id or chief.position != CHIEF:
        raise ValidationError("委任できるのは同じ所属の係長です。")
    row = session.scalar(select(ConfirmDelegate).where(ConfirmDelegate.unit_id == head.unit_id,
                                                        ConfirmDelegate.user_id == chief.id))
    if grant and row is None:
        try:
            with session.begin_nested():  # granted twice at the same moment: once is enough
                session.add(ConfirmDelegate(unit_id=head.unit_id, user_id=chief.id, granted_by_id=head.id))
        except IntegrityError:
            pass
    elif not grant and row is not None:
        session.delete(row)
    audit.record(session, head, "notice.delegate" if grant else "notice.undelegate", "user", chief.id)


def delegates(session: Session, unit_id: int) -> list[int]:
    return list(session.scalars(select(ConfirmDelegate.user_id).where(ConfirmDelegate.unit_id == unit_id)))


def is_overdue(notice: Notice, today: date | None = None) -> bool:
    return notice.status == PENDING and notice.due_date is not None and notice.due_date < (today or today_jst())
