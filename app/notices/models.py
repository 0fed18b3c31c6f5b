from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model, UTCDateTime
from app.org.models import Unit
from app.wareki import now_utc


class NoticeStatus(StrEnum):
    """Status of a notice to a unit, stored as its value."""

    PENDING = "pending"
    CONFIRMED = "confirmed"  # 周知済
    SUPERSEDED = "superseded"  # a later version's notice replaced it


PENDING, CONFIRMED, SUPERSEDED = NoticeStatus.PENDING, NoticeStatus.CONFIRMED, NoticeStatus.SUPERSEDED


class Notice(Model):
    """One notice to one unit (a ward section, or the owner unit's copy) about one publication."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_unit_status", "unit_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    kind: Mapped[str] = mapped_column(String(8))  # 制定 / 改正 / 廃止 / 判断事例
    manual_id: Mapped[int | None] = mapped_column(ForeignKey("manuals.id"), index=True)
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id"), index=True)
    ruling_id: Mapped[int | None] = mapped_column(ForeignKey("inquiries.id"), index=True)
    number: Mapped[int | None] = mapped_column(Integer)  # the manual version
    title: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    effective_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    owner_copy: Mapped[bool] = mapped_column(Boolean, default=False)  # the owner unit's copy: nothing to confirm
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_by_name: Mapped[str] = mapped_column(String(100), default="")
    confirmed_by_position: Mapped[str] = mapped_column(String(8), default="")
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirm_comment: Mapped[str] = mapped_column(Text, default="")
    last_reminded_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc, index=True)

    unit: Mapped[Unit] = relationship(lazy="joined")


class NoticeRead(Model):
    """A person opened the notice (or the revision it links to)."""

    __tablename__ = "notice_reads"
    __table_args__ = (UniqueConstraint("notice_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)


class ConfirmDelegate(Model):
    """A 係長 whom the 所属長 lets confirm 周知 for the unit."""

    __tablename__ = "confirm_delegates"
    __table_args__ = (UniqueConstraint("unit_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    granted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)


class MailStatus(StrEnum):
    """Mail outbox states."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


QUEUED, SENDING, SENT, FAILED = MailStatus.QUEUED, MailStatus.SENDING, MailStatus.SENT, MailStatus.FAILED


class MailOutbox(Model):
    """Mail written in the same transaction as the notice; `flask notices send` delivers it."""

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    to_addr: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(10), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
