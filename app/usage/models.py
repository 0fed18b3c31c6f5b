from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model, UTCDateTime
from app.wareki import now_utc


class UsageCount(Model):
    """Page views per object per unit per month (活用状況). One row per (kind, object, unit, month)."""

    __tablename__ = "usage_counts"
    __table_args__ = (UniqueConstraint("kind", "object_id", "unit_id", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # manual / ruling
    object_id: Mapped[int] = mapped_column(Integer, index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    month: Mapped[str] = mapped_column(String(7), index=True)  # 2026-04
    views: Mapped[int] = mapped_column(Integer, default=0)


class SearchLog(Model):
    """Queries with no result, per unit: the gap list that tells 本庁 what wards look for in vain."""

    __tablename__ = "search_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    query: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="")
    results: Mapped[int] = mapped_column(Integer, default=0)
