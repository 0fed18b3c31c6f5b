from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model, UTCDateTime
from app.manuals.models import Manual
from app.org.models import Unit, User
from app.wareki import now_utc

QUESTION = "疑義照会"
SUGGESTION = "改善提案"
KINDS = (QUESTION, SUGGESTION)
URGENCIES = ("通常", "至急")

class InquiryStatus(StrEnum):
    """Status of an inquiry, stored as its value."""

    OPEN = "open"  # 受付（回答作成中）
    AWAITING = "awaiting"  # 回答案を課長に回付（決裁待ち）
    ANSWERED = "answered"  # 課長が承認した回答（組織としての判断）


OPEN, AWAITING, ANSWERED = InquiryStatus.OPEN, InquiryStatus.AWAITING, InquiryStatus.ANSWERED
STATUS_LABELS: dict[str, str] = {OPEN: "回答作成中", AWAITING: "課長決裁待ち", ANSWERED: "回答済"}


class RulingCounter(Model):
    """The last 判断事例 number given in a year, advanced in the approving transaction."""

    __tablename__ = "ruling_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


def ruling_number(year: int, seq: int) -> str:
    return f"R{year}-{seq:03d}"


class Inquiry(Model):
    """A ward's question or suggestion to the owner unit; once answered and shared, a 判断事例."""

    __tablename__ = "inquiries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), default=QUESTION)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(8), default="通常")
    manual_id: Mapped[int | None] = mapped_column(ForeignKey("manuals.id"), index=True)
    anchor: Mapped[str] = mapped_column(String(200), default="")
    heading: Mapped[str] = mapped_column(String(200), default="")
    manual_version: Mapped[int | None] = mapped_column(Integer)  # the version the question was about
    asking_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    asker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    asker_name: Mapped[str] = mapped_column(String(100), default="")
    owner_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=OPEN, index=True)
    asked_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    # The answer.
    answer: Mapped[str] = mapped_column(Text, default="")
    basis: Mapped[str] = mapped_column(Text, default="")  # 根拠
    tags: Mapped[str] = mapped_column(Text, default="")  # one per line
    share_all: Mapped[bool] = mapped_column(Boolean, default=False)  # 全区共有
    notice_sections: Mapped[str] = mapped_column(Text, default="")  # without a manual: sections to notify
    answerer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answerer_name: Mapped[str] = mapped_column(String(100), default="")
    return_comment: Mapped[str] = mapped_column(Text, default="")
    # The approval: the organisational decision (snapshot of name and position at that time).
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approver_name: Mapped[str] = mapped_column(String(100), default="")
    approver_position: Mapped[str] = mapped_column(String(8), default="")
    approver_unit: Mapped[str] = mapped_column(String(110), default="")
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_on: Mapped[date | None] = mapped_column(Date)
    # Published as a 判断事例.
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    # The number's parts, so R2026-1000 sorts after R2026-999 (numbers compared as text would not).
    number_year: Mapped[int | None] = mapped_column(Integer)
    number_seq: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    needs_recheck: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    recheck_note: Mapped[str] = mapped_column(Text, default="")
    reflected_version: Mapped[int | None] = mapped_column(Integer)  # 改善提案: reflected in revision N
    # A proposed amendment of a published ruling, waiting for the 課長 (the published text stays until then).
    amend_answer: Mapped[str] = mapped_column(Text, default="")
    amend_basis: Mapped[str] = mapped_column(Text, default="")
    amend_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    amend_by_name: Mapped[str] = mapped_column(String(100), default="")
    imported: Mapped[bool] = mapped_column(Boolean, default=False)

    manual: Mapped[Manual | None] = relationship(lazy="joined")
    asking_unit: Mapped[Unit] = relationship(foreign_keys=[asking_unit_id], lazy="joined")
    owner_unit: Mapped[Unit] = relationship(foreign_keys=[owner_unit_id], lazy="joined")
    asker: Mapped[User | None] = relationship(foreign_keys=[asker_id])

    def set_number(self, year: int, seq: int) -> None:
        self.number, self.number_year, self.number_seq = ruling_number(year, seq), year, seq

    @property
    def is_published(self) -> bool:
        return self.number is not None

    @property
    def status_label(self) -> str:
        if self.is_published:
            return "判断事例（全区共有）"
        return STATUS_LABELS[self.status]

    @property
    def amendment_pending(self) -> bool:
        return bool(self.amend_answer)

    @property
    def tag_list(self) -> list[str]:
        return [t for t in self.tags.split("\n") if t]

    @property
    def asking_office(self) -> str:
        return self.asking_unit.group_name
