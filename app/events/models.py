from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model, UTCDateTime
from app.wareki import now_utc

PENDING = "pending"
DONE = "done"


class Reaction(Model):
    """One consumer's work on one event (a transactional outbox row): written in the same
    transaction as the change it follows, done exactly once per (event, consumer)."""

    __tablename__ = "event_reactions"
    __table_args__ = (Index("ix_event_reactions_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic: Mapped[str] = mapped_column(String(40), index=True)
    consumer: Mapped[str] = mapped_column(String(40), index=True)
    payload: Mapped[str] = mapped_column(Text, default="{}")
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str] = mapped_column(String(100), default="")  # host:pid of the process running it
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.payload or "{}")
