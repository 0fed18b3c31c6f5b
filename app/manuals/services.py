"""Reading manuals: the registry list, the effective version, old versions, history, as-of, 新旧対照表."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from markupsafe import Markup
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session, selectinload

from app.documents import attachments
from app.errors import NotFound
from app.gitstore import store
from app.manuals import diff, rendering
from app.manuals.document import ManualDoc, parse
from app.manuals.models import ACTIVE, Manual, ManualTag, ManualTarget, ManualVersion
from app.markdown import Rendered
from app.org.models import User
from app.org.permissions import can
from app.wareki import JST, today_jst


def manuals_query(
    *, owner_unit_id: int | None = None, target: str | None = None, tag: str | None = None, q: str = "",
    include_obsolete: bool = False, sort: str = "title", manager_id: int | None = None,
) -> Select:
    # The list shows each manual's targets and tags: loaded for the page in two queries, not one per row.
    stmt = select(Manual).where(Manual.current_version > 0).options(selectinload(Manual.targets),
                                                                       selectinload(Manual.tags))
    if not include_obsolete:
        stmt = stmt.where(Manual.status == ACTIVE)
    if owner_unit_id:
        stmt = stmt.where(Manual.owner_unit_id == owner_unit_id)
    if manager_id:
        stmt = stmt.where(Manual.manager_id == manager_id)
    if target:
        stmt = stmt.where(Manual.id.in_(select(ManualTarget.manual_id).where(ManualTarget.section == target)))
    if tag:
        stmt = stmt.where(Manual.id.in_(select(ManualTag.manual_id).where(ManualTag.tag == tag)))
    if q.strip():
        like = f"%{q.strip()}%"
        stmt = stmt.where(Manual.title.ilike(like) | Manual.slug.ilike(like))
    if sort == "revised":
        stmt = stmt.order_by(Manual.last_published_at.desc(), Manual.title_kana, Manual.title)
    else:
        stmt = stmt.order_by(Manual.title_kana, Manual.title, Manual.id)
    return stmt


def all_tags(session: Session) -> list[str]:
    return list(session.scalars(
        select(ManualTag.tag).join(Manual).where(Manual.status == ACTIVE).group_by(ManualTag.tag)
        .order_by(func.count().desc(), ManualTag.tag).limit(200)
    ))


# Built once: the reading pages run these on every view (building a statement costs more than
# running it from SQLAlchemy's compiled cache).
_BY_SLUG = select(Manual).where(Manual.slug == bindparam("slug"))
_VERSIONS = (select(ManualVersion).where(ManualVersion.manual_id == bindparam("manual_id"))
             .order_by(ManualVersion.number.desc()))


def get_manual(session: Session, user: User, slug: str) -> Manual:
    manual = session.scalar(_BY_SLUG, {"slug": slug})
    # An unpublished manual exists only for its owner unit (its drafts live in the workflow).
    if manual is None or (not manual.is_published and not can(user, "manual.edit", manual)):
        raise NotFound(f"マニュアル「{slug}」は見つかりません。")
    return manual


@dataclass
class Standing:
    """A manual's versions on a day (DESIGN.md, "Versions: published, in force, 施行予定"): the one
    in force — the latest published version whose 施行日 has come — and the newest one published
    with a later 施行日. Derived when read: nothing flips on the 施行日."""

    in_force: ManualVersion | None
    scheduled: ManualVersion | None
    day: date

    def status(self, version: ManualVersion) -> str:
        """in_force (施行中) / scheduled (施行予定) / old (旧版)."""
        if self.in_force is not None and version.number == self.in_force.number:
            return "in_force"
        if self.in_force is None or version.number > self.in_force.number:
            return "scheduled"
        return "old"

    @property
    def shown(self) -> ManualVersion | None:
        """What the manual's page shows by default: the version in force (before the first 施行日,
        the first version, marked 施行予定)."""
        return self.in_force or self.first_scheduled

    first_scheduled: ManualVersion | None = None


STATUS_LABELS = {"in_force": "施行中", "scheduled": "施行予定", "old": "旧版"}


def standing(session: Session, manual: Manual, day: date | None = None) -> Standing:
    day = day or today_jst()
    # One query: a manual has few versions, and the page needs the one in force and those after it.
    versions = list(session.scalars(_VERSIONS, {"manual_id": manual.id}))
    in_force = _in_force(versions, day)
    later = [v for v in reversed(versions) if in_force is None or v.number > in_force.number]
    return Standing(in_force, later[-1] if later else None, day, later[0] if later else None)


@dataclass
class VersionView:
    manual: Manual
    version: ManualVersion
    doc: ManualDoc  # the front matter, the page's own copy (the body is in `text`)
    page: rendering.Page
    standing: Standing | None = None

    @property
    def rendered(self) -> Rendered:
        return self.page.rendered

    def toc_html(self, ask_url: str | None) -> Markup:
        return self.page.toc_html(ask_url)

    @functools.cached_property
    def text(self) -> str:
        """The version's file as kept in git (read only when a page needs it)."""
        return store().read_blob(self.version.blob_sha)

    @functools.cached_property
    def body(self) -> str:
        return parse(self.text).body

    @property
    def forms(self) -> list[attachments.Attachment]:
        """The version's 様式 (the page's list)."""
        return self.page.forms

    @property
    def status(self) -> str:
        return self.standing.status(self.version) if self.standing else "in_force"

    @property
    def is_current(self) -> bool:
        """The version in force today (the one a ward applies at the counter)."""
        return self.status == "in_force"


def get_version(session: Session, manual: Manual, number: int | None = None) -> ManualVersion:
    number = number or manual.current_version
    version = session.scalar(select(ManualVersion).where(ManualVersion.manual_id == manual.id,
                                                          ManualVersion.number == number))
    if version is None:
        raise NotFound(f"「{manual.title}」に第{number}版はありません。")
    return version


def read_version(manual: Manual, version: ManualVersion, standing: Standing | None = None) -> VersionView:
    page = rendering.page(manual, version)
    # The page gets its own copy of the front matter (the cached one is shared by every request).
    doc = dataclasses.replace(page.doc, targets=list(page.doc.targets), tags=list(page.doc.tags))
    return VersionView(manual, version, doc, page, standing)


def versions_query(manual: Manual) -> Select:
    return select(ManualVersion).where(ManualVersion.manual_id == manual.id).order_by(ManualVersion.number.desc())


def versions(session: Session, manual: Manual) -> list[ManualVersion]:
    return list(session.scalars(versions_query(manual)))


def as_of(session: Session, manual: Manual, day: date) -> ManualVersion | None:
    """The version in force on `day`: published by the end of that day and already effective."""
    return _in_force(list(session.scalars(_VERSIONS, {"manual_id": manual.id})), day)


def _in_force(versions: list[ManualVersion], day: date) -> ManualVersion | None:
    """Of `versions` (newest first), the one in force on `day`. An abolition in force is the
    answer (the manual was abolished by then); a version published after the day never is."""
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=JST)
    for v in versions:
        if _aware(v.published_at) >= end:
            continue
        if v.effective_date is None or v.effective_date <= day:
            return v
    return None


def _aware(at: datetime) -> datetime:
    # Read back aware (UTCDateTime); one set in this session may still be naive UTC.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def compare_versions(session: Session, manual: Manual, new_number: int, old_number: int | None
                     ) -> tuple[ManualVersion, ManualVersion | None, list[diff.SectionDiff]]:
    new = get_version(session, manual, new_number)
    old = get_version(session, manual, old_number) if old_number else None
    new_body = parse(store().read_blob(new.blob_sha)).body
    old_body = parse(store().read_blob(old.blob_sha)).body if old else ""
    return new, old, diff.compare(old_body, new_body)
