from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model, UTCDateTime
from app.org.models import Unit
from app.wareki import now_utc


class DirectoryDepartment(Model):
    """A department value seen in the directory (or a roster), and the Tebiki unit it maps to.
    A value equal to a unit's name maps without a row; `unit_id` set here maps any other value."""

    __tablename__ = "directory_departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[str] = mapped_column(String(300), unique=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    people: Mapped[int] = mapped_column(Integer, default=0)  # in the last sync
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    unit: Mapped[Unit | None] = relationship(lazy="joined")
