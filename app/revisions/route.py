"""The 決裁 route: submission, each step's approval or 差戻し, withdrawal. Every transition is a
guarded write on the expected state, so a double click or two approvers at once change it once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import audit, guard
from app.errors import Conflict, ValidationError
from app.manuals.document import parse
from app.manuals.models import UNPUBLISHED
from app.org.models import CHIEF, HEAD, Unit, User
from app.org.permissions import require
from app.revisions import consultation, publishing, questions
from app.revisions.base import (
    check_ready,
    current_text,
    record_event,
    record_step,
    require_state,
    state_refusal,
)
from app.revisions.models import (
    CONSULT,
    CONSULTATION,
    DECIDE,
    DRAFT,
    EDITABLE_STATES,
    IN_REVIEW,
    NEW,
    REVIEW,
    WITHDRAWN,
    ApprovalStep,
    Revision,
)
from app.wareki import now_utc, wareki


def approval_route(session: Session, revision: Revision, consult_unit: Unit | None) -> list[ApprovalStep]:
    """Default 係長 (審査) → [合議 with another 本庁 unit] → 課長 (決裁)."""
    owner = revision.manual.owner_unit
    has_chief = session.scalar(select(func.count(User.id)).where(
        User.unit_id == owner.id, User.position == CHIEF, User.active.is_(True), User.id != revision.drafter_id))
    steps = []
    if has_chief:
        steps.append(ApprovalStep(meaning=REVIEW, unit=owner, positions=CHIEF, status="pending"))
    if consult_unit is not None:
        steps.append(ApprovalStep(meaning=CONSULT, unit=consult_unit, positions=f"{CHIEF},{HEAD}", status="pending"))
    steps.append(ApprovalStep(meaning=DECIDE, unit=owner, positions=HEAD, status="pending"))
    for i, step in enumerate(steps):
        step.order = i
        step.unit_id = step.unit.id  # read before the flush by the permission check
    return steps


def submit(session: Session, user: User, revision: Revision, *, consult_unit: Unit | None = None,
           now: datetime | None = None, early: bool = False) -> None:
    """To the 決裁 route. Before the 意見照会 deadline only with `early` (the drafter confirmed that
    the wards' time is cut short), which the 決裁 record shows."""
    require(user, "revision.edit", revision)
    if revision.state == IN_REVIEW:
        raise Conflict("この改正案はすでに決裁に回付されています。")
    require_state(revision, *EDITABLE_STATES, doing="決裁に回付")
    check_ready(session, revision)
    problems = questions.ready_problems(session, revision, parse(current_text(revision)).body)
    if problems:
        raise ValidationError("この改正案はまだ回付できません。", details=problems)
    if consult_unit is not None and (not consult_unit.is_hq or consult_unit.id == revision.manual.owner_unit_id):
        raise ValidationError("合議先には所管課以外の本庁の課を選んでください。")
    cut_short = revision.state == CONSULTATION and consultation.consultation_open(revision)
    if cut_short and not early:
        raise ValidationError(
            f"意見照会の期限（{wareki(revision.consultation_deadline)}）前です。期限前に決裁に回付する場合は、"
            "「期限前に回付することを確認しました」にチェックしてください（決裁記録に残ります）。")
    if revision.state == CONSULTATION:
        left = consultation.undecided(session, revision)
        if left:
            raise ValidationError(
                f"区役所からの意見{len(left)}件が未対応です。各意見を「反映した／反映しない」に整理してから回付してください。")
    guard.transition(session, revision, Revision.state.in_(EDITABLE_STATES),
                     lambda r: "この改正案はすでに決裁に回付されています。" if r and r.state == IN_REVIEW
                     else state_refusal(r, "決裁に回付"), state=IN_REVIEW, updated_at=now or now_utc())
    revision.steps = approval_route(session, revision, consult_unit)
    route = " → ".join(f"{s.meaning}" for s in revision.steps)
    note = f"（意見照会の期限 {wareki(revision.consultation_deadline)} 前に回付することを確認）" if cut_short else ""
    record_event(session, revision, user, "submit", comment=f"決裁ルート: {route}{note}（{questions.describe(session, revision)}）",
                 at=now)
    audit.record(session, user, "revision.submit", "revision", revision.id)


def approve(session: Session, user: User, revision: Revision, comment: str = "",
            now: datetime | None = None, *, notice_due_days: int | None = None,
            retroactive: bool = False) -> publishing.Approval:
    """Approve the current step; the final one publishes (see `publishing.publish`).
    `notice_due_days` (set by the final approver) is the 周知 deadline of its notices; `retroactive`
    is the final approver's confirmation of a 施行日 before the day of 公布 (遡及適用)."""
    if revision.state != IN_REVIEW:
        raise Conflict(state_refusal(revision, "承認"))
    require(user, "revision.approve", revision)
    step = revision.current_step
    assert step is not None
    if notice_due_days is not None and not 1 <= notice_due_days <= 180:
        raise ValidationError("周知確認の期限は1〜180日で指定してください。")
    final = all(s.status == "approved" for s in revision.steps if s is not step)
    if final:
        # The merge is tried first: a conflict goes back to the drafter and no approval is recorded.
        return publishing.publish(session, revision, user, step, comment=comment.strip(), now=now,
                                  notice_due_days=notice_due_days, retroactive=retroactive)
    record_step(session, revision, step, user, comment.strip(), now)
    return publishing.Approval()


def return_revision(session: Session, user: User, revision: Revision, comment: str,
                    now: datetime | None = None) -> None:
    """差戻し: back to draft with a required comment; the route starts again on resubmission."""
    require_state(revision, IN_REVIEW, doing="差戻し")
    require(user, "revision.approve", revision)
    if not comment.strip():
        raise ValidationError("差戻しの理由（コメント）を入力してください。")
    step = revision.current_step
    assert step is not None
    guard.transition(session, revision, Revision.state == IN_REVIEW, lambda r: state_refusal(r, "差戻し"),
                     state=DRAFT, updated_at=now or now_utc())
    record_event(session, revision, user, "return", meaning=step.meaning, comment=comment.strip(), at=now)
    revision.steps = []
    audit.record(session, user, "revision.return", "revision", revision.id)


def withdraw(session: Session, user: User, revision: Revision, comment: str = "") -> None:
    require(user, "revision.edit", revision)
    require_state(revision, *EDITABLE_STATES, IN_REVIEW, doing="取下げ")
    guard.transition(session, revision, Revision.state.in_((*EDITABLE_STATES, IN_REVIEW)),
                     lambda r: state_refusal(r, "取下げ"), state=WITHDRAWN, updated_at=now_utc())
    revision.steps = []
    record_event(session, revision, user, "withdraw", comment=comment.strip())
    if revision.kind == NEW:
        revision.manual.status = UNPUBLISHED
    audit.record(session, user, "revision.withdraw", "revision", revision.id)
