"""Manual management over time: the 管理担当者 and the periodic review (見直し), with the
next review date derived from the last review or publication. Callers commit."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit, guard
from app.errors import Conflict, ValidationError
from app.handover.models import (
    VERDICTS,
    ManualReview,
)
from app.manuals.models import ACTIVE, Manual
from app.org.models import User
from app.org.permissions import require
from app.revisions import drafting
from app.wareki import now_utc, to_jst, today_jst

REVIEW_WARNING_DAYS = 30


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def next_review(manual: Manual) -> date | None:
    """From the last review or published revision (publishing counts as a review)."""
    last = manual.last_reviewed_at or manual.last_published_at
    if last is None:
        return None
    return add_months(to_jst(last).date(), manual.review_months)


def review_state(manual: Manual, today: date | None = None) -> str:
    due = next_review(manual)
    today = today or today_jst()
    if due is None:
        return ""
    if due < today:
        return "overdue"
    if due <= today + timedelta(days=REVIEW_WARNING_DAYS):
        return "soon"
    return ""


def set_manager(session: Session, user: User, manual: Manual, manager: User) -> None:
    require(user, "manual.manage", manual)
    if manager.unit_id != manual.owner_unit_id or not manager.active:
        raise ValidationError("管理担当者には所管課の在職中の職員を指定してください。")
    before = manual.manager.name if manual.manager else ""
    manual.manager = manager
    audit.record(session, user, "manual.manager", "manual", manual.id, before=before, after=manager.name)


def review_token(manual: Manual) -> str:
    """What the review form saw (the last review): a second submission of the same form is refused."""
    return manual.last_reviewed_at.isoformat() if manual.last_reviewed_at else ""


def record_review(session: Session, user: User, manual: Manual, verdict: str, comment: str = "",
                  seen: str | None = None) -> ManualReview:
    """現行のまま継続 (comment required), 改正が必要 (opens a draft), 廃止 (opens the 廃止 draft).
    `seen` is the form's `review_token`: the review is recorded only if no other came in between."""
    require(user, "manual.review", manual)
    if verdict not in VERDICTS:
        raise ValidationError("見直しの結果を選んでください。")
    if verdict == "continue" and not comment.strip():
        raise ValidationError("「現行のまま継続」とする理由（確認した内容）を入力してください。")
    refusal = "この見直しは、画面を開いた後にすでに記録されています（二重の送信）。画面を確認してください。"
    if seen is not None and seen != review_token(manual):
        raise Conflict(refusal)
    before = manual.last_reviewed_at
    guard.transition(session, manual, Manual.last_reviewed_at.is_(None) if before is None
                     else Manual.last_reviewed_at == before, refusal, last_reviewed_at=now_utc())
    revision = None
    if verdict in ("revise", "abolish"):
        revision = drafting.open_revision(session, user, manual, kind="obsolete" if verdict == "abolish" else "revise")
        if comment.strip():
            revision.reason = comment.strip()
    review = ManualReview(manual_id=manual.id, reviewer_id=user.id, reviewer_name=user.name, verdict=verdict,
                          comment=comment.strip(), revision_id=revision.id if revision else None)
    session.add(review)
    audit.record(session, user, "manual.review", "manual", manual.id, verdict=verdict)
    return review


def reviews(session: Session, manual: Manual) -> list[ManualReview]:
    return list(session.scalars(select(ManualReview).where(ManualReview.manual_id == manual.id)
                                .order_by(ManualReview.id.desc())))


def reviews_due_for(session: Session, user: User) -> list[tuple[Manual, date]]:
    """The manuals this user manages whose review is due within 30 days or overdue."""
    soon = today_jst() + timedelta(days=REVIEW_WARNING_DAYS)
    out = []
    for m in session.scalars(select(Manual).where(Manual.manager_id == user.id, Manual.status == ACTIVE)):
        due = next_review(m)
        if due is not None and due <= soon:
            out.append((m, due))
    return sorted(out, key=lambda x: x[1])
