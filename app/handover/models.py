from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model, UTCDateTime
from app.org.models import Unit, User
from app.wareki import now_utc


class HandoverState(StrEnum):
    """Handover states (the admin dashboard's columns), stored as their values."""

    NOT_STARTED = "not_started"  # opened by the system (staff import), not yet touched by the person
    IN_PROGRESS = "in_progress"  # 作成中
    SUBMITTED = "submitted"  # 確認待ち
    CONFIRMED = "confirmed"  # 確認済


NOT_STARTED, IN_PROGRESS = HandoverState.NOT_STARTED, HandoverState.IN_PROGRESS
SUBMITTED, CONFIRMED = HandoverState.SUBMITTED, HandoverState.CONFIRMED
STATE_LABELS: dict[str, str] = {NOT_STARTED: "未作成", IN_PROGRESS: "作成中", SUBMITTED: "確認待ち", CONFIRMED: "確認済"}

VERDICTS = {"continue": "現行のまま継続", "revise": "改正が必要", "abolish": "廃止"}


class TransferRound(Model):
    """One 人事異動 file applied (e.g. 令和9年4月1日 定期異動)."""

    __tablename__ = "transfer_rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    effective_date: Mapped[date] = mapped_column(Date)
    file_name: Mapped[str] = mapped_column(String(200), default="")
    rows: Mapped[int] = mapped_column(Integer, default=0)
    # The upload it came from: applying the same upload twice (a double submit) is refused.
    upload_token: Mapped[str | None] = mapped_column(String(40), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # replaced by a corrected 内示 file
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the whole 内示 withdrawn


class StaffTransfer(Model):
    """One person's move in a round; `moved_at` is set on the 発令日 when the account follows."""

    __tablename__ = "staff_transfers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("transfer_rounds.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    from_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    to_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))  # None: leaves the city (退職)
    position: Mapped[str] = mapped_column(String(8))
    effective_date: Mapped[date] = mapped_column(Date, index=True)
    moved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # withdrawn before the 発令日

    user: Mapped[User] = relationship(lazy="joined")
    from_unit: Mapped[Unit] = relationship(foreign_keys=[from_unit_id], lazy="joined")
    to_unit: Mapped[Unit | None] = relationship(foreign_keys=[to_unit_id], lazy="joined")


class Handover(Model):
    """事務引継書: written by the person leaving a post, confirmed by the 所属長."""

    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # the post being left
    position: Mapped[str] = mapped_column(String(8))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("transfer_rounds.id"), index=True)
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("staff_transfers.id"))
    status: Mapped[str] = mapped_column(String(12), default=NOT_STARTED, index=True)
    started_by: Mapped[str] = mapped_column(String(8), default="self")  # self / head / import
    due_date: Mapped[date | None] = mapped_column(Date)
    duties: Mapped[str] = mapped_column(Text, default="")  # 担当事務
    concerns: Mapped[str] = mapped_column(Text, default="")  # 懸案事項
    default_successor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    return_comment: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_by_name: Mapped[str] = mapped_column(String(100), default="")
    confirmed_by_position: Mapped[str] = mapped_column(String(8), default="")
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    unit: Mapped[Unit] = relationship(lazy="joined")
    default_successor: Mapped[User | None] = relationship(foreign_keys=[default_successor_id], lazy="joined")
    items: Mapped[list[HandoverItem]] = relationship(cascade="all, delete-orphan", order_by="HandoverItem.id",
                                                     lazy="selectin")

    @property
    def status_label(self) -> str:
        return STATE_LABELS[self.status]

    @property
    def manual_items(self) -> list[HandoverItem]:
        return [i for i in self.items if i.kind == "manual"]


ITEM_LABELS = {"manual": "管理担当のマニュアル", "draft": "進行中の改正案", "inquiry": "未回答の照会",
               "ruling": "要確認の判断事例", "notice": "周知確認待ちの通知", "asked": "回答待ちの照会",
               "finding": "点検で見つかった事項"}


class HandoverItem(Model):
    """One line of the handover, filled in by the system; the person adds a note (and a successor)."""

    __tablename__ = "handover_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("handovers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    ref_id: Mapped[int | None] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text, default="")
    flag: Mapped[str] = mapped_column(String(100), default="")  # e.g. 見直し期限超過
    link: Mapped[str] = mapped_column(String(300), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    successor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    successor: Mapped[User | None] = relationship(lazy="joined")

    @property
    def kind_label(self) -> str:
        return ITEM_LABELS.get(self.kind, self.kind)


class ManualReview(Model):
    """A periodic review of a manual with its verdict."""

    __tablename__ = "manual_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manual_id: Mapped[int] = mapped_column(ForeignKey("manuals.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reviewer_name: Mapped[str] = mapped_column(String(100))
    verdict: Mapped[str] = mapped_column(String(12))
    comment: Mapped[str] = mapped_column(Text, default="")
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    @property
    def verdict_label(self) -> str:
        return VERDICTS[self.verdict]
