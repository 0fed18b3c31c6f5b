"""What the 起案・決裁 and 意見照会 pages list for a user."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.manuals.models import Manual, ManualTarget
from app.org.models import User
from app.org.permissions import can
from app.revisions.models import (
    CONSULTATION,
    IN_REVIEW,
    OPEN_STATES,
    PUBLISHED,
    ApprovalStep,
    Revision,
    WorkflowEvent,
)

aliased_event = aliased(WorkflowEvent)


def workspace(session: Session, user: User) -> dict[str, list[Revision]]:
    result: dict[str, list[Revision]] = {}
    if user.is_hq:
        unit_open = list(session.scalars(
            select(Revision).join(Manual).where(Manual.owner_unit_id == user.unit_id, Revision.state.in_(OPEN_STATES))
            .order_by(Revision.updated_at.desc())
        ))
        result["mine"] = [r for r in unit_open if r.drafter_id == user.id]
        result["unit"] = [r for r in unit_open if r.drafter_id != user.id]
        waiting = session.scalars(
            select(Revision).join(ApprovalStep).where(
                Revision.state == IN_REVIEW, ApprovalStep.unit_id == user.unit_id, ApprovalStep.status == "pending")
            .order_by(Revision.updated_at)
        ).unique()
        result["to_approve"] = [r for r in waiting if can(user, "revision.approve", r)]
    if user.is_ward:
        result["consultations"] = list(session.scalars(
            select(Revision).join(Manual).join(ManualTarget).where(
                Revision.state == CONSULTATION, ManualTarget.section == user.unit.section)
            .order_by(Revision.consultation_deadline)
        ))
    result["recent"] = list(session.scalars(
        select(Revision).join(Manual).where(
            Revision.state == PUBLISHED,
            Manual.owner_unit_id == user.unit_id if user.is_hq else Manual.id.in_(
                select(ManualTarget.manual_id).where(ManualTarget.section == user.unit.section)))
        .order_by(Revision.published_at.desc()).limit(10)
    ))
    return result


def approvals_by_revision(session: Session, revision_ids: list[int]) -> dict[int, list[WorkflowEvent]]:
    """The approval events (審査・合議・決裁) of published revisions — the 決裁 record in history.
    Only the final round counts: approvals before the last submission were superseded by a 差戻し."""
    if not revision_ids:
        return {}
    last_submit = (
        select(func.coalesce(func.max(WorkflowEvent.id), 0))
        .where(WorkflowEvent.revision_id == aliased_event.revision_id, WorkflowEvent.action == "submit")
        .correlate(aliased_event).scalar_subquery()
    )
    events = session.scalars(
        select(aliased_event).where(aliased_event.revision_id.in_(revision_ids), aliased_event.action == "approve",
                                    aliased_event.id > last_submit)
        .order_by(aliased_event.id)
    )
    grouped: dict[int, list[WorkflowEvent]] = {}
    for ev in events:
        grouped.setdefault(ev.revision_id, []).append(ev)
    return grouped


def siblings(session: Session, revisions: list[Revision]) -> dict[int, list[Revision]]:
    """For each revision, the other open drafts of the same manual (two 意見照会 on one manual
    must be visible as such)."""
    manual_ids = {r.manual_id for r in revisions}
    if not manual_ids:
        return {}
    open_ = list(session.scalars(select(Revision).where(Revision.manual_id.in_(manual_ids),
                                                        Revision.state.in_(OPEN_STATES)).order_by(Revision.id)))
    return {r.id: [o for o in open_ if o.manual_id == r.manual_id and o.id != r.id] for r in revisions}
