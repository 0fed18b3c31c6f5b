"""意見照会: the draft goes to the target ward sections with a deadline; their comments attach to
headings; the drafter records what was done with each before submitting."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit, guard
from app.errors import Conflict, ValidationError
from app.manuals.document import parse
from app.markdown import split_sections
from app.org.models import Unit, User
from app.org.permissions import require
from app.revisions.base import check_ready, current_text, record_event, state_refusal
from app.revisions.models import CONSULTATION, DRAFT, ConsultationComment, Revision
from app.wareki import now_utc, to_jst, today_jst, wareki


def start_consultation(session: Session, user: User, revision: Revision, deadline: date,
                       now: datetime | None = None) -> None:
    require(user, "revision.edit", revision)
    if revision.state != DRAFT:
        raise Conflict(state_refusal(revision, "意見照会に回"))
    if deadline <= (to_jst(now).date() if now else today_jst()):
        raise ValidationError("意見照会の期限は明日以降の日付にしてください。")
    check_ready(session, revision)
    guard.transition(session, revision, Revision.state == DRAFT,
                     lambda r: state_refusal(r, "意見照会に回"), state=CONSULTATION, consultation_deadline=deadline)
    targets = "、".join(revision.manual.target_names)
    record_event(session, revision, user, "consult", comment=f"期限 {wareki(deadline)}／照会先: 各区 {targets}", at=now)
    audit.record(session, user, "revision.consult", "revision", revision.id, deadline=deadline)


def consultation_open(revision: Revision) -> bool:
    return (revision.state == CONSULTATION and revision.consultation_deadline is not None
            and today_jst() <= revision.consultation_deadline)


def add_comment(session: Session, user: User, revision: Revision, *, anchor: str, body: str,
                now: datetime | None = None) -> ConsultationComment:
    require(user, "revision.comment", revision)
    if revision.state != CONSULTATION:
        raise Conflict("この改正案は意見照会中ではないため、意見を提出できません。")
    if not consultation_open(revision):
        raise Conflict(f"意見照会の期限（{wareki(revision.consultation_deadline)}）を過ぎているため、意見を提出できません。")
    body = body.strip()
    if not body:
        raise ValidationError("意見の内容を入力してください。")
    if len(body) > 5000:
        raise ValidationError("意見は5,000文字以内にしてください。")
    headings = {s.anchor: s.heading for s in split_sections(parse(current_text(revision)).body)}
    if anchor and anchor not in headings:
        raise ValidationError("意見の対象の見出しが改正案にありません。見出しを選び直してください。")
    comment = ConsultationComment(revision_id=revision.id, unit_id=user.unit_id, author_id=user.id, anchor=anchor,
                                  heading=headings.get(anchor, "全体"), body=body, created_at=now or now_utc())
    session.add(comment)
    audit.record(session, user, "revision.comment", "revision", revision.id, unit=user.unit.name)
    return comment


def dispose_comment(session: Session, user: User, revision: Revision, comment: ConsultationComment, *,
                    disposition: str, reason: str) -> None:
    require(user, "revision.edit", revision)
    if comment.revision_id != revision.id:
        raise ValidationError("この改正案への意見ではありません。")
    if disposition not in ("reflected", "not_reflected"):
        raise ValidationError("「反映した」か「反映しない」を選んでください。")
    if disposition == "not_reflected" and not reason.strip():
        raise ValidationError("反映しない場合は、その理由を入力してください（照会先の区に示されます）。")
    comment.disposition = disposition
    comment.disposition_reason = reason.strip()
    comment.disposed_by_id = user.id
    comment.disposed_at = now_utc()
    audit.record(session, user, "revision.comment_disposition", "revision", revision.id, comment=comment.id,
                 disposition=disposition)


def comments(session: Session, revision: Revision) -> list[ConsultationComment]:
    return list(session.scalars(
        select(ConsultationComment).where(ConsultationComment.revision_id == revision.id)
        .join(Unit, Unit.id == ConsultationComment.unit_id)
        .order_by(Unit.sort_order, ConsultationComment.id)
    ))


def undecided(session: Session, revision: Revision) -> list[ConsultationComment]:
    return [c for c in comments(session, revision) if c.disposition is None]
