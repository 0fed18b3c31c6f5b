"""Per-person evidence of a notice (issue 17): who it is for, who opened the content, who confirmed
「内容を確認しました」, and the badge, which is no evidence at all.

No GET records anything: the content page (新旧対照表 or the version) posts `read` back with the
session's CSRF token once the browser actually shows it, and a cross-site request is refused
(Sec-Fetch-Site), so a link on another site, a mail scanner, a prefetch or a crawler cannot make a
person 既読."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, case, func, insert, literal, select, update
from sqlalchemy.orm import Session

from app import audit
from app.errors import Conflict, PermissionDenied, ValidationError
from app.guard import changed
from app.notices.models import SUPERSEDED, Notice, Receipt
from app.org.models import POSITIONS, User
from app.org.targeting import Audience, member_select
from app.wareki import now_utc

RANK = case({p: -i for i, p in enumerate(POSITIONS)}, value=User.position, else_=0)  # 課長, 係長, 担当
UNREAD, READ, ACKNOWLEDGED, PASSED = "unread", "read", "acknowledged", "passed"
PERSON_LABELS = {UNREAD: "未読", READ: "既読", ACKNOWLEDGED: "確認済", PASSED: "理解度確認済"}


def audience_of(notice: Notice) -> Audience:
    return Audience.from_dict(json.loads(notice.audience) if notice.audience else None)


def add_receipts(session: Session, notices: list[Notice]) -> None:
    """A receipt for every active member of each notice's section whom its audience targets
    (INSERT … SELECT: one statement per notice, whatever the number of people)."""
    for notice in notices:
        if notice.owner_copy:
            continue
        rows = member_select((User.id, literal(notice.id), literal(0)), [notice.unit_id], audience_of(notice))
        session.execute(insert(Receipt).from_select(["user_id", "notice_id", "attempts"], rows))


def receipt_of(session: Session, user: User, notice: Notice) -> Receipt | None:
    return session.scalar(select(Receipt).where(Receipt.notice_id == notice.id, Receipt.user_id == user.id))


def person_state(receipt: Receipt | None) -> str:
    if receipt is None or receipt.read_at is None:
        return UNREAD
    if receipt.passed_at is not None:
        return PASSED
    return ACKNOWLEDGED if receipt.acknowledged_at is not None else READ


def own_receipt(session: Session, user: User, notice: Notice, doing: str) -> Receipt:
    receipt = receipt_of(session, user, notice)
    if receipt is None:
        raise PermissionDenied(f"この通知はあなたあての通知ではないため、{doing}は記録されません。")
    if notice.status == SUPERSEDED:
        raise Conflict("この通知は新しい改正により失効しています。新しい改正の通知から確認してください。")
    return receipt


def record_read(session: Session, user: User, notice: Notice, number: int | None) -> bool:
    """The person's browser showed this version's content. False when nothing changed (already read,
    or not a targeted person: 本庁 looking at a ward's notice does not count as reading it)."""
    receipt = receipt_of(session, user, notice)
    if receipt is None or receipt.read_at is not None:
        return False
    if number != notice.number:
        raise ValidationError("表示した版が通知の版と異なるため、既読として記録しませんでした。")
    # Conditional: two tabs posting at once record the first time only.
    return bool(changed(session, update(Receipt).where(Receipt.id == receipt.id, Receipt.read_at.is_(None))
                                .values(read_at=now_utc()).execution_options(synchronize_session=False)))


def acknowledge(session: Session, user: User, notice: Notice) -> None:
    """「内容を確認しました」 (重要・緊急), bound to the notice's version; it implies the content was shown."""
    if not notice.needs_acknowledgement:
        raise ValidationError("この通知は軽微な改正のため、個人の「内容を確認しました」は必要ありません。")
    receipt = own_receipt(session, user, notice, "確認")
    if receipt.acknowledged_at is not None:
        return
    now = now_utc()
    # Conditional: a double click landing on two servers at once records the first click only (one
    # timestamp, one audit row); the second finds it recorded, as if it had come after.
    if changed(session, update(Receipt).where(Receipt.id == receipt.id, Receipt.acknowledged_at.is_(None))
               .values(read_at=func.coalesce(Receipt.read_at, now), acknowledged_at=now)
               .execution_options(synchronize_session=False)):
        audit.record(session, user, "notice.acknowledge", "notice", notice.id, number=notice.number)
    session.refresh(receipt)


def dismiss_all(session: Session, user: User) -> int:
    """「すべて既読にする」: the badge only. Nothing here counts as having read anything."""
    return changed(session, update(Receipt).where(
        Receipt.user_id == user.id, Receipt.dismissed_at.is_(None), Receipt.read_at.is_(None))
        .values(dismissed_at=now_utc()).execution_options(synchronize_session=False))


def _unread(user_id: Any) -> Select[Any]:
    return select(func.count(Receipt.id)).join(Notice, Notice.id == Receipt.notice_id).where(
        Receipt.user_id == user_id, Receipt.read_at.is_(None), Receipt.dismissed_at.is_(None),
        Notice.status != SUPERSEDED)


# Built once: the badge is counted on every page — alone, or as a column of a query about the user
# (the sign-in query reads it with the user).
_UNREAD = _unread(bindparam("user_id"))
UNREAD_COLUMN = _unread(User.id).correlate(User).scalar_subquery()


def unread_count(session: Session, user: User) -> int:
    return session.scalar(_UNREAD, {"user_id": user.id}) or 0


def urgent_for(session: Session, user: User) -> list[Notice]:
    """緊急 notices this person has not confirmed yet: the banner stays until they do."""
    if not getattr(user, "is_authenticated", False) or not user.is_ward:
        return []
    return list(session.scalars(select(Notice).join(Receipt, Receipt.notice_id == Notice.id).where(
        Receipt.user_id == user.id, Receipt.acknowledged_at.is_(None), Notice.significance == "urgent",
        Notice.status != SUPERSEDED).order_by(Notice.due_date).limit(5)))


def people(session: Session, notice: Notice) -> list[tuple[User, Receipt]]:
    """Everyone the notice is for, with their evidence (the section's members as delivered)."""
    return [(u, r) for u, r in session.execute(
        select(User, Receipt).join(Receipt, Receipt.user_id == User.id)
        .where(Receipt.notice_id == notice.id, User.active.is_(True)).order_by(RANK, User.login))]


def state_counts(rows: list[tuple[User, Receipt]]) -> dict[str, int]:
    counts = dict.fromkeys(PERSON_LABELS, 0)
    for _, r in rows:
        counts[person_state(r)] += 1
    return counts


def when(receipt: Receipt | None) -> datetime | None:
    return receipt.read_at if receipt is not None else None
