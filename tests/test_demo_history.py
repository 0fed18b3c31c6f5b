"""The demo data spread over time: inquiries 1–30 days old, the 2023–2025 approvals logged on
their historical days (audit log and approval steps agree)."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from app.audit import AuditEntry
from app.extensions import db
from app.revisions.models import ApprovalStep
from app.rulings.models import Inquiry
from app.seed import seed_demo
from app.wareki import JST, now_utc, to_jst, today_jst


def test_demo_history_is_dated(app: Flask) -> None:
    seed_demo(db.session)
    db.session.commit()
    today = today_jst()
    live = list(db.session.scalars(select(Inquiry).where(Inquiry.number.is_(None)
                                                        | (Inquiry.created_at > now_utc() - timedelta(days=40)))))
    ages = sorted((today - i.asked_on).days for i in live if i.asked_on > today - timedelta(days=40))
    assert len(ages) >= 5 and all(1 <= a <= 30 for a in ages) and len(set(ages)) == len(ages), ages
    assert max(ages) - min(ages) >= 20  # spread over the month, not all today
    assert any(a > 14 for a in ages)  # one past the 14-day check

    approvals = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "revision.approve")))
    historical = [e for e in approvals if to_jst(e.at).year <= 2025]
    assert len(historical) >= 26  # 13 revisions × 審査 and 決裁
    assert not [e for e in approvals if to_jst(e.at).date() == today]
    published = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "revision.publish")))
    assert published and all(to_jst(e.at).year <= 2025 for e in published)
    # The log and the approval record tell the same day for each 決裁.
    steps = {(s.revision_id, to_jst(s.acted_at).date()) for s in db.session.scalars(
        select(ApprovalStep).where(ApprovalStep.acted_at.is_not(None)))}
    for e in historical:
        assert (int(e.object_id), to_jst(e.at).astimezone(JST).date()) in steps, e.object_id
    filed = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "inquiry.create")))
    assert len({to_jst(e.at).date() for e in filed}) >= 5
