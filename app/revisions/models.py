from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model, UTCDateTime
from app.manuals.models import Manual
from app.org.models import Unit, User
from app.wareki import now_utc


class RevisionState(StrEnum):
    """States of a revision (DESIGN.md, "Workflow of a revision"), stored as their values; the same
    names in code and templates (`RevisionState.PUBLISHED`)."""

    DRAFT = "draft"
    CONSULTATION = "consultation"
    IN_REVIEW = "in_review"
    PUBLISHING = "publishing"  # 決裁済み: the commit onto main is being made (a moment, or until repaired)
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


DRAFT, CONSULTATION, IN_REVIEW = RevisionState.DRAFT, RevisionState.CONSULTATION, RevisionState.IN_REVIEW
PUBLISHING, PUBLISHED, WITHDRAWN = RevisionState.PUBLISHING, RevisionState.PUBLISHED, RevisionState.WITHDRAWN
STATE_LABELS: dict[str, str] = {
    DRAFT: "起案中", CONSULTATION: "意見照会中", IN_REVIEW: "決裁中", PUBLISHING: "公布処理中", PUBLISHED: "公布済",
    WITHDRAWN: "取下げ",
}
OPEN_STATES = (DRAFT, CONSULTATION, IN_REVIEW, PUBLISHING)
EDITABLE_STATES = (DRAFT, CONSULTATION)

# Kinds of revision.
NEW = "new"
REVISE = "revise"
ABOLISH = "obsolete"
KIND_LABELS = {NEW: "制定", REVISE: "改正", ABOLISH: "廃止"}

# Meanings of an approval step.
REVIEW = "審査"
CONSULT = "合議"
DECIDE = "決裁"

# Significance of a revision (issue 17), chosen by the drafter and approved with the revision.
MINOR = "minor"  # 軽微: the notice only (the 所属長 confirms 周知済 for the section)
MAJOR = "major"  # 重要: each targeted person confirms 「内容を確認しました」 on the 新旧対照表
URGENT = "urgent"  # 緊急: as 重要, with a short due date, daily reminders and a dashboard banner
SIGNIFICANCE_LABELS = {MINOR: "軽微", MAJOR: "重要", URGENT: "緊急"}
URGENT_DUE_DAYS = 3
MAX_QUESTIONS = 5


class Revision(Model):
    """A change to what wards read: drafted, optionally consulted, approved, then published."""

    __tablename__ = "revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manual_id: Mapped[int] = mapped_column(ForeignKey("manuals.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default=REVISE)
    state: Mapped[str] = mapped_column(String(16), default=DRAFT, index=True)
    number: Mapped[int | None] = mapped_column(Integer)  # the version it became, set on publishing
    reason: Mapped[str] = mapped_column(Text, default="")  # 改正理由
    summary: Mapped[str] = mapped_column(Text, default="")
    effective_date: Mapped[date | None] = mapped_column(Date)  # 施行日
    base_commit: Mapped[str | None] = mapped_column(String(40))  # main when the draft started
    head_commit: Mapped[str] = mapped_column(String(40))  # tip of refs/heads/drafts/<id>
    published_commit: Mapped[str | None] = mapped_column(String(40))
    consultation_deadline: Mapped[date | None] = mapped_column(Date)
    drafter_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    conflict_text: Mapped[str | None] = mapped_column(Text)  # main's text when publishing conflicted
    # The conflicts to resolve (JSON: main's commit, field choices, body passages); None = none.
    conflict_data: Mapped[str | None] = mapped_column(Text)
    notice_due_days: Mapped[int] = mapped_column(Integer, default=14)  # 周知確認の期限（公布から）
    retroactive: Mapped[bool] = mapped_column(Boolean, default=False)  # 施行日 before 公布, confirmed (遡及適用)
    significance: Mapped[str] = mapped_column(String(8), default=MINOR, server_default=MINOR)
    # Who in each target section the notice is for: app.org.targeting.Audience as JSON ("" = everyone).
    audience: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    manual: Mapped[Manual] = relationship(lazy="joined")
    drafter: Mapped[User] = relationship(lazy="joined")
    steps: Mapped[list[ApprovalStep]] = relationship(
        cascade="all, delete-orphan", order_by="ApprovalStep.order", lazy="selectin"
    )
    # Loaded when read (the 決裁 record of one revision), never with every revision of a list.
    events: Mapped[list[WorkflowEvent]] = relationship(order_by="WorkflowEvent.id")

    @property
    def ref(self) -> str:
        return f"refs/heads/drafts/{self.id}"

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def significance_label(self) -> str:
        return SIGNIFICANCE_LABELS.get(self.significance, "軽微")

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def current_step(self) -> ApprovalStep | None:
        if self.state != IN_REVIEW:
            return None
        return next((s for s in self.steps if s.status == "pending"), None)


class Publication(Model):
    """The intent to publish a decided revision, recorded before main moves: the idempotency key
    of the publication (not a search of commit messages). `since` is main when it was decided — any
    commit for it lies after that; `parent`, `number` and `commit_sha` are the attempt in flight."""

    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"), unique=True)
    manual_id: Mapped[int] = mapped_column(ForeignKey("manuals.id"), index=True)
    since: Mapped[str | None] = mapped_column(String(40))
    parent: Mapped[str | None] = mapped_column(String(40))
    number: Mapped[int | None] = mapped_column(Integer)
    commit_sha: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)  # pending / done
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApprovalStep(Model):
    """One step of the approval route: who (unit + positions) must give which meaning."""

    __tablename__ = "approval_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"), index=True)
    order: Mapped[int] = mapped_column(Integer)
    meaning: Mapped[str] = mapped_column(String(8))  # 審査 / 合議 / 決裁
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    positions: Mapped[str] = mapped_column(String(32))  # e.g. "係長,課長"
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending / approved / returned
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    unit: Mapped[Unit] = relationship(lazy="joined")
    actor: Mapped[User | None] = relationship(lazy="joined")

    @property
    def position_list(self) -> list[str]:
        return self.positions.split(",")


class WorkflowEvent(Model):
    """Every transition of a revision: the 決裁 record (who, position, when, what, comment)."""

    __tablename__ = "workflow_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"), index=True)
    action: Mapped[str] = mapped_column(String(24))
    meaning: Mapped[str | None] = mapped_column(String(8))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(100))
    actor_unit: Mapped[str] = mapped_column(String(110))
    actor_position: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(Text, default="")
    commit_sha: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)


EVENT_LABELS = {
    "create": "起案", "save": "保存", "consult": "意見照会", "submit": "決裁に回付", "approve": "承認",
    "return": "差戻し", "publish": "公布", "withdraw": "取下げ", "conflict": "公布時に競合（差戻し）",
    "resume": "意見照会を終了", "resolve": "競合を解消",
}


class ConsultationComment(Model):
    """A ward section's comment on a draft under 意見照会, tied to a heading."""

    __tablename__ = "consultation_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    anchor: Mapped[str] = mapped_column(String(200), default="")
    heading: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    disposition: Mapped[str | None] = mapped_column(String(16))  # reflected / not_reflected
    disposition_reason: Mapped[str] = mapped_column(Text, default="")
    disposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    disposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    unit: Mapped[Unit] = relationship(lazy="joined")
    author: Mapped[User] = relationship(lazy="joined", foreign_keys=[author_id])

    @property
    def disposition_label(self) -> str:
        return {"reflected": "反映した", "not_reflected": "反映しない"}.get(self.disposition or "", "未対応")


class Question(Model):
    """One 理解度確認 question of a 重要/緊急 revision: drafted with it, reviewed and approved with it."""

    __tablename__ = "revision_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"), index=True)
    order: Mapped[int] = mapped_column(Integer, default=0)
    prompt: Mapped[str] = mapped_column(Text)
    choices: Mapped[str] = mapped_column(Text)  # one choice a line
    correct: Mapped[int] = mapped_column(Integer)  # index into choices, from 0
    explanation: Mapped[str] = mapped_column(Text, default="")
    anchor: Mapped[str] = mapped_column(String(200), default="")  # the section the explanation cites
    heading: Mapped[str] = mapped_column(String(200), default="")

    @property
    def choice_list(self) -> list[str]:
        return self.choices.split("\n")
