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
    # Copied from the revision when delivered (issue 17): 軽微 / 重要 / 緊急 and who in the section it is for.
    significance: Mapped[str] = mapped_column(String(8), default="minor", server_default="minor")
    audience: Mapped[str] = mapped_column(Text, default="", server_default="")
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("notice_campaigns.id"), index=True)
    # The last withdrawn 周知済 (the audit log keeps every one).
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by_name: Mapped[str] = mapped_column(String(100), default="", server_default="")
    withdraw_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc, index=True)

    unit: Mapped[Unit] = relationship(lazy="joined")

    @property
    def needs_acknowledgement(self) -> bool:
        """重要・緊急: each targeted person confirms 「内容を確認しました」."""
        return self.significance in ("major", "urgent") and not self.owner_copy

    @property
    def significance_label(self) -> str:
        return {"major": "重要", "urgent": "緊急"}.get(self.significance, "軽微")


class Receipt(Model):
    """One targeted person's evidence for one notice (written at delivery for everyone targeted).

    dismissed_at: 「すべて既読にする」 — clears the badge, is no evidence of anything;
    read_at: the person's browser showed the content (新旧対照表 or the version) and posted it back;
    acknowledged_at: 「内容を確認しました」 on that page (重要・緊急), bound to the notice's version;
    passed_at: every 理解度確認 question answered correctly (after any number of attempts)."""

    __tablename__ = "notice_receipts"
    __table_args__ = (UniqueConstraint("notice_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    passed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Answer(Model):
    """One answer to one 理解度確認 question in one attempt (every attempt is kept)."""

    __tablename__ = "notice_answers"
    __table_args__ = (Index("ix_notice_answers_question", "question_id", "attempt"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    question_id: Mapped[int] = mapped_column(ForeignKey("revision_questions.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    choice: Mapped[int] = mapped_column(Integer)
    correct: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)


class Campaign(Model):
    """An annual re-confirmation of a manual: the same notices, receipts and reminders as a revision."""

    __tablename__ = "notice_campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manual_id: Mapped[int] = mapped_column(ForeignKey("manuals.id"), index=True)
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id"))  # whose questions are asked
    number: Mapped[int] = mapped_column(Integer)  # the version to confirm
    title: Mapped[str] = mapped_column(String(300))
    due_date: Mapped[date] = mapped_column(Date)
    sections: Mapped[str] = mapped_column(Text, default="")  # one section kind a line
    audience: Mapped[str] = mapped_column(Text, default="")
    owner_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)


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
