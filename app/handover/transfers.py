"""Queries on pending 人事異動 transfers shared by the import, the round corrections and the
事務引継書 (incoming staff can be chosen as 後任者)."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.handover.models import (
    StaffTransfer,
)
from app.org.models import User


def pending() -> Select:
    return select(StaffTransfer).where(StaffTransfer.moved_at.is_(None), StaffTransfer.cancelled_at.is_(None))


def incoming(session: Session, unit_id: int, round_id: int | None) -> list[User]:
    """People moving into the unit by a pending transfer (of the same round when one is given): they
    can be chosen as 後任者 before they arrive."""
    stmt = pending().where(StaffTransfer.to_unit_id == unit_id)
    if round_id:
        stmt = stmt.where(StaffTransfer.round_id == round_id)
    people = [t.user for t in session.scalars(stmt.order_by(StaffTransfer.id)) if t.user.active]
    return sorted(people, key=lambda u: (u.name_kana, u.name))  # 50音順, as the unit's own members
