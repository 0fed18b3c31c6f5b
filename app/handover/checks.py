"""City-wide checks (点検): what falls through — manuals without a manager, reviews overdue,
idle drafts, unanswered inquiries, notices unconfirmed past due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.handover.management import next_review
from app.manuals.models import ACTIVE, Manual
from app.notices.models import PENDING, Notice
from app.revisions.models import OPEN_STATES, Revision
from app.rulings.models import ANSWERED, Inquiry
from app.wareki import now_utc, today_jst, wareki

DRAFT_IDLE_DAYS = 60


INQUIRY_DAYS = 14


CHECK_LABELS = {
    "no_manager": "管理担当者なし",
    "manager_invalid": "管理担当者が不在・所管課外",
    "review_overdue": "見直し期限超過",
    "draft_idle": f"改正案が{DRAFT_IDLE_DAYS}日以上停滞",
    "inquiry_unanswered": f"照会が{INQUIRY_DAYS}日以上未回答",
    "notice_overdue": "周知確認の期限超過",
}


@dataclass
class Finding:
    kind: str
    message: str
    link: str
    unit_id: int
    user_id: int | None = None
    ref_id: int | None = None

    @property
    def label(self) -> str:
        return CHECK_LABELS[self.kind]


def findings(session: Session, *, unit_id: int | None = None, user_id: int | None = None,
             today: date | None = None) -> list[Finding]:
    """Everything that falls through, for the admin (all), a 所属長 (their unit) or a person."""
    today = today or today_jst()
    out: list[Finding] = []
    manuals = select(Manual).where(Manual.status == ACTIVE, Manual.current_version > 0)
    if unit_id:
        manuals = manuals.where(Manual.owner_unit_id == unit_id)
    if user_id:
        manuals = manuals.where(Manual.manager_id == user_id)
    for m in session.scalars(manuals):
        link = f"/manuals/{m.slug}/manage"
        if m.manager is None:
            out.append(Finding("no_manager", f"「{m.title}」に管理担当者がいません。", link, m.owner_unit_id, ref_id=m.id))
        elif not m.manager.active or m.manager.unit_id != m.owner_unit_id:
            out.append(Finding("manager_invalid", f"「{m.title}」の管理担当者 {m.manager.name} は"
                               f"{'在職していません' if not m.manager.active else '所管課にいません'}。", link,
                               m.owner_unit_id, m.manager_id, m.id))
        due = next_review(m)
        if due is not None and due < today:
            out.append(Finding("review_overdue", f"「{m.title}」の見直し期限（{wareki(due)}）を過ぎています。", link,
                               m.owner_unit_id, m.manager_id, m.id))
    idle = select(Revision).join(Manual).where(
        Revision.state.in_(OPEN_STATES), Revision.updated_at < now_utc() - timedelta(days=DRAFT_IDLE_DAYS))
    if unit_id:
        idle = idle.where(Manual.owner_unit_id == unit_id)
    if user_id:
        idle = idle.where(Revision.drafter_id == user_id)
    for r in session.scalars(idle):
        out.append(Finding("draft_idle", f"「{r.manual.title}」の{r.kind_label}案 #{r.id}（{r.state_label}）が"
                           f"{(now_utc() - r.updated_at).days}日更新されていません。", f"/revisions/{r.id}",
                           r.manual.owner_unit_id, r.drafter_id, r.id))
    if not user_id:
        stale = select(Inquiry).where(Inquiry.status != ANSWERED, Inquiry.asked_on < today - timedelta(days=INQUIRY_DAYS))
        if unit_id:
            stale = stale.where(or_(Inquiry.owner_unit_id == unit_id, Inquiry.asking_unit_id == unit_id))
        for i in session.scalars(stale):
            out.append(Finding("inquiry_unanswered", f"照会「{i.subject}」（{i.asking_unit.name}）が"
                               f"{(today - i.asked_on).days}日未回答です。", f"/inquiries/{i.id}?raw=1",
                               i.owner_unit_id, ref_id=i.id))
        late = select(Notice).where(Notice.status == PENDING, Notice.owner_copy.is_(False), Notice.due_date < today)
        if unit_id:
            late = late.where(Notice.unit_id == unit_id)
        for n in session.scalars(late):
            out.append(Finding("notice_overdue", f"{n.unit.name}: 「{n.title}」の周知確認が期限（{wareki(n.due_date)}）"
                               "を過ぎています。", f"/notices/{n.id}", n.unit_id, ref_id=n.id))
    return out
