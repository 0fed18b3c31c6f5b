"""A unit's notices: the inbox and its badge, who has read what, and the 所属長's 周知 confirmation."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import audit, guard
from app.errors import Conflict, NotFound, ValidationError
from app.manuals.models import Manual
from app.notices import quiz, reading
from app.notices.models import CONFIRMED, PENDING, SUPERSEDED, ConfirmDelegate, Notice, Receipt
from app.org.models import CHIEF, User
from app.org.permissions import require
from app.rulings.models import Inquiry
from app.wareki import now_utc, today_jst


def pairs(session: Session, stmt: Select[Any]) -> dict[Any, Any]:
    """A two-column query as a dict."""
    return {k: v for k, v in session.execute(stmt)}


def publication_of(revision_id: int | None, ruling_id: int | None, campaign_id: int | None = None) -> Any:
    """The notices of one publication: a campaign's, a revision's, or a ruling's."""
    if campaign_id:
        return Notice.campaign_id == campaign_id
    return Notice.revision_id == revision_id if revision_id else Notice.ruling_id == ruling_id


def same_publication(notice: Notice) -> Any:
    return publication_of(notice.revision_id, notice.ruling_id, notice.campaign_id)


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


def inbox_query(user: User, *, only_unread: bool = False, kind: str | None = None
                ) -> Select[Notice, datetime | None, datetime | None, int]:
    """The unit's notices with this person's receipt (None: not one of the people it is for)."""
    mine = (Receipt.notice_id == Notice.id) & (Receipt.user_id == user.id)
    stmt = (select(Notice, Receipt.read_at.label("read_at"), Receipt.dismissed_at.label("dismissed_at"),
                   Receipt.id.label("receipt_id"))
            .outerjoin(Receipt, mine).where(Notice.unit_id == user.unit_id))
    if only_unread:  # the same notices the badge counts
        stmt = stmt.where(Receipt.id.is_not(None), Receipt.read_at.is_(None), Receipt.dismissed_at.is_(None),
                          Notice.status != SUPERSEDED)
    if kind:
        stmt = stmt.where(Notice.kind == kind)
    return stmt.order_by(Notice.created_at.desc(), Notice.id.desc())


unread_count = reading.unread_count


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


def _confirm_refusal(notice: Notice | None) -> str:
    if notice is not None and notice.status == SUPERSEDED:
        return "この通知は新しい改正により失効しています。新しい改正の通知を確認してください。"
    who = f"（{notice.confirmed_by_name}）" if notice is not None and notice.confirmed_by_name else ""
    return f"この通知はすでに周知済として確認されています{who}。"


def confirm(session: Session, user: User, notice: Notice, comment: str = "") -> None:
    require(user, "notice.confirm", notice)
    if notice.status != PENDING:
        raise Conflict(_confirm_refusal(notice))
    missing = not_yet(session, notice)
    if missing and notice.needs_acknowledgement and not comment.strip():
        raise ValidationError(f"まだ確認していない職員が{len(missing)}人います（{'、'.join(u.name for u in missing[:5])}"
                              f"{' ほか' if len(missing) > 5 else ''}）。このまま周知済にする場合は、"
                              "どのように周知したかをコメントに記入してください。")
    guard.transition(session, notice, Notice.status == PENDING, _confirm_refusal, status=CONFIRMED,
                     confirmed_by_id=user.id, confirmed_by_name=user.name, confirmed_by_position=user.position,
                     confirmed_at=now_utc(), confirm_comment=comment.strip()[:2000])
    audit.record(session, user, "notice.confirm", "notice", notice.id, unit=notice.unit.name,
                 not_confirmed=len(missing))


def not_yet(session: Session, notice: Notice) -> list[User]:
    """The people who have not confirmed (重要・緊急) or not opened the content (軽微), or not passed."""
    out = []
    questions = bool(notice.needs_acknowledgement and quiz.questions_for(session, notice))
    for u, r in reading.people(session, notice):
        state = reading.person_state(r)
        if state == reading.UNREAD or (notice.needs_acknowledgement and state == reading.READ) or (
                questions and state != reading.PASSED):
            out.append(u)
    return out


NOT_CONFIRMED = "この通知は周知済ではありません（すでに取り消されたか、失効しています）。"


def withdraw(session: Session, user: User, notice: Notice, reason: str) -> None:
    """A mistaken 周知済 taken back by whoever confirmed it or the unit's 所属長: the section is pending
    again (the withdrawal and the confirmation it undid stay in the audit log).

    The state is checked before who may withdraw: once the 所属長 has withdrawn it, the 係長 who had
    confirmed it is told it is no longer 周知済 (not that only the confirmer or the 所属長 may)."""
    if notice.status != CONFIRMED:
        raise Conflict(NOT_CONFIRMED)
    require(user, "notice.withdraw", notice)
    if not reason.strip():
        raise ValidationError("周知済を取り消す理由を入力してください。")
    undone = {"confirmed_by": notice.confirmed_by_name, "confirmed_at": notice.confirmed_at}
    guard.transition(session, notice, Notice.status == CONFIRMED, NOT_CONFIRMED,
                     status=PENDING, confirmed_by_id=None, confirmed_by_name="", confirmed_by_position="",
                     confirmed_at=None, confirm_comment="", withdrawn_at=now_utc(), withdrawn_by_name=user.name,
                     withdraw_reason=reason.strip()[:2000])
    audit.record(session, user, "notice.withdraw", "notice", notice.id, unit=notice.unit.name,
                 reason=reason.strip()[:2000], **undone)


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


def unit_chiefs(session: Session, unit_id: int) -> list[User]:
    return list(session.scalars(select(User).where(User.unit_id == unit_id, User.position == CHIEF,
                                                   User.active.is_(True)).order_by(User.login)))


def delegates(session: Session, unit_id: int) -> list[int]:
    return list(session.scalars(select(ConfirmDelegate.user_id).where(ConfirmDelegate.unit_id == unit_id)))


def is_overdue(notice: Notice, today: date | None = None) -> bool:
    return notice.status == PENDING and notice.due_date is not None and notice.due_date < (today or today_jst())
