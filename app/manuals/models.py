from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model, UTCDateTime
from app.org.models import Unit, User
from app.wareki import now_utc

# Manual status. A manual exists in the registry from its first draft; readers see it once published.
UNPUBLISHED = "unpublished"
ACTIVE = "active"
OBSOLETE = "obsolete"


class Manual(Model):
    """Registry row: a cache of the effective version's front matter plus management data."""

    __tablename__ = "manuals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    title_kana: Mapped[str] = mapped_column(String(200), default="", index=True)  # 50音順 key (app.ordering)
    owner_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=UNPUBLISHED, index=True)
    review_months: Mapped[int] = mapped_column(Integer, default=12)
    current_version: Mapped[int] = mapped_column(Integer, default=0)
    current_commit: Mapped[str | None] = mapped_column(String(40))
    effective_date: Mapped[date | None] = mapped_column(Date)
    last_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    owner_unit: Mapped[Unit] = relationship(lazy="joined")
    manager: Mapped[User | None] = relationship(lazy="joined")
    targets: Mapped[list[ManualTarget]] = relationship(
        cascade="all, delete-orphan", order_by="ManualTarget.position"
    )
    tags: Mapped[list[ManualTag]] = relationship(
        cascade="all, delete-orphan", order_by="ManualTag.position"
    )

    @property
    def path(self) -> str:
        return f"manuals/{self.slug}.md"

    @property
    def target_names(self) -> list[str]:
        return [t.section for t in self.targets]

    @property
    def tag_names(self) -> list[str]:
        return [t.tag for t in self.tags]

    def set_lists(self, targets: list[str], tags: list[str]) -> None:
        """Targets and tags as given, keeping the rows of values that stay: replacing a whole
        collection would insert the new rows before deleting the old (UNIQUE manual_id, tag)."""
        self.targets = _synced(self.targets, targets, "section", ManualTarget)
        self.tags = _synced(self.tags, tags, "tag", ManualTag)

    @property
    def is_published(self) -> bool:
        return self.current_version > 0

    @property
    def is_obsolete(self) -> bool:
        return self.status == OBSOLETE


def _synced(rows: list, values: list[str], attr: str, make: type) -> list:  # type: ignore[type-arg]
    existing = {getattr(r, attr): r for r in rows}
    out = []
    for position, value in enumerate(dict.fromkeys(values)):
        row = existing.get(value) or make(**{attr: value})
        row.position = position
        out.append(row)
    return out


class ManualTarget(Model):
    """A section kind (保険年金課 …) whose ward sections use the manual."""

    __tablename__ = "manual_targets"
    __table_args__ = (UniqueConstraint("manual_id", "section"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manual_id: Mapped[int] = mapped_column(ForeignKey("manuals.id", ondelete="CASCADE"), index=True)
    section: Mapped[str] = mapped_column(String(50), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ManualTag(Model):
    __tablename__ = "manual_tags"
    __table_args__ = (UniqueConstraint("manual_id", "tag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manual_id: Mapped[int] = mapped_column(ForeignKey("manuals.id", ondelete="CASCADE"), index=True)
    tag: Mapped[str] = mapped_column(String(50), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ManualVersion(Model):
    """One published version = one commit on main (the DB's cache of it)."""

    __tablename__ = "manual_versions"
    __table_args__ = (UniqueConstraint("manual_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manual_id: Mapped[int] = mapped_column(ForeignKey("manuals.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    commit_sha: Mapped[str] = mapped_column(String(40), unique=True)
    blob_sha: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    effective_date: Mapped[date | None] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16), default="revise")  # new / revise / obsolete
    reason: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    drafter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    drafter_name: Mapped[str] = mapped_column(String(100))
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id"), unique=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

    manual: Mapped[Manual] = relationship()
