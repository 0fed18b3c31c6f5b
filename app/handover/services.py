"""Managers, periodic review, city-wide checks, and the 事務引継書 (filled in by the system,
annotated by the person leaving, confirmed by the 所属長). Callers commit."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from app import audit
from app.errors import Conflict, NotFound, ValidationError
from app.handover.models import (
    CONFIRMED,
    IN_PROGRESS,
    NOT_STARTED,
    SUBMITTED,
    VERDICTS,
    Handover,
    HandoverItem,
    ManualReview,
)
from app.manuals.models import ACTIVE, Manual
from app.notices.models import PENDING, Notice
from app.org.models import Unit, User
from app.org.permissions import can, require
from app.revisions.models import OPEN_STATES, Revision
from app.rulings.models import ANSWERED, Inquiry
from app.wareki import now_utc, to_jst, today_jst

REVIEW_WARNING_DAYS = 30
DRAFT_IDLE_DAYS = 60
INQUIRY_DAYS = 14


# --- review dates ---------------------------------------------------------------------------------


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


def record_review(session: Session, user: User, manual: Manual, verdict: str, comment: str = "") -> ManualReview:
    """現行のまま継続 (comment required), 改正が必要 (opens a draft), 廃止 (opens the 廃止 draft)."""
    from app.revisions import services as rev

    require(user, "manual.review", manual)
    if verdict not in VERDICTS:
        raise ValidationError("見直しの結果を選んでください。")
    if verdict == "continue" and not comment.strip():
        raise ValidationError("「現行のまま継続」とする理由（確認した内容）を入力してください。")
    revision = None
    if verdict in ("revise", "abolish"):
        revision = rev.open_revision(session, user, manual, kind="obsolete" if verdict == "abolish" else "revise")
        if comment.strip():
            revision.reason = comment.strip()
    review = ManualReview(manual_id=manual.id, reviewer_id=user.id, reviewer_name=user.name, verdict=verdict,
                          comment=comment.strip(), revision_id=revision.id if revision else None)
    session.add(review)
    manual.last_reviewed_at = now_utc()
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


# --- city-wide checks -----------------------------------------------------------------------------

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
            out.append(Finding("review_overdue", f"「{m.title}」の見直し期限（{due.isoformat()}）を過ぎています。", link,
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
            out.append(Finding("notice_overdue", f"{n.unit.name}: 「{n.title}」の周知確認が期限（{n.due_date.isoformat()}）"
                               "を過ぎています。", f"/notices/{n.id}", n.unit_id, ref_id=n.id))
    return out


# --- handovers ----------------------------------------------------------------------------------------


def get_handover(session: Session, user: User, handover_id: int) -> Handover:
    handover = session.get(Handover, handover_id)
    if handover is None:
        raise NotFound("指定された事務引継書は見つかりません。")
    require(user, "handover.view", handover)
    return handover


def build_items(session: Session, person: User, unit: Unit) -> list[HandoverItem]:
    """What the system knows the person leaves behind in this post."""
    items: list[HandoverItem] = []
    if unit.is_hq:
        for m in session.scalars(select(Manual).where(Manual.manager_id == person.id, Manual.status == ACTIVE)
                                 .order_by(Manual.title)):
            due = next_review(m)
            state = review_state(m)
            items.append(HandoverItem(
                kind="manual", ref_id=m.id, label=m.title, link=f"/manuals/{m.slug}",
                detail=f"第{m.current_version}版／施行 {m.effective_date.isoformat() if m.effective_date else '—'}"
                       f"／次回見直し {due.isoformat() if due else '—'}",
                flag={"overdue": "見直し期限超過", "soon": "見直し期限が近い"}.get(state, "")))
        for r in session.scalars(select(Revision).join(Manual).where(
                Revision.state.in_(OPEN_STATES), or_(Revision.drafter_id == person.id, Manual.manager_id == person.id))):
            items.append(HandoverItem(kind="draft", ref_id=r.id, label=f"{r.manual.title} {r.kind_label}案 #{r.id}",
                                      detail=r.state_label, link=f"/revisions/{r.id}"))
        for i in session.scalars(select(Inquiry).where(Inquiry.owner_unit_id == unit.id, Inquiry.status != ANSWERED,
                                                        or_(Inquiry.answerer_id == person.id, Inquiry.answerer_id.is_(None)))):
            items.append(HandoverItem(kind="inquiry", ref_id=i.id, label=i.subject,
                                      detail=f"{i.asking_unit.name}／{i.asked_on.isoformat()}照会／{i.status_label}",
                                      link=f"/inquiries/{i.id}?raw=1"))
        for i in session.scalars(select(Inquiry).join(Manual, Manual.id == Inquiry.manual_id).where(
                Inquiry.needs_recheck.is_(True), Manual.manager_id == person.id)):
            items.append(HandoverItem(kind="ruling", ref_id=i.id, label=f"{i.number} {i.subject}",
                                      detail=i.recheck_note, flag="関連マニュアル改正あり・要確認",
                                      link=f"/rulings/{i.number}"))
    else:
        for n in session.scalars(select(Notice).where(Notice.unit_id == unit.id, Notice.status == PENDING,
                                                      Notice.owner_copy.is_(False)).order_by(Notice.due_date)):
            overdue = n.due_date is not None and n.due_date < today_jst()
            items.append(HandoverItem(kind="notice", ref_id=n.id, label=f"{n.kind}: {n.title}",
                                      detail=f"期限 {n.due_date.isoformat() if n.due_date else '—'}",
                                      flag="期限超過" if overdue else "", link=f"/notices/{n.id}"))
        for i in session.scalars(select(Inquiry).where(Inquiry.asker_id == person.id, Inquiry.status != ANSWERED)):
            items.append(HandoverItem(kind="asked", ref_id=i.id, label=i.subject,
                                      detail=f"{i.owner_unit.name}へ {i.asked_on.isoformat()}照会／{i.status_label}",
                                      link=f"/inquiries/{i.id}?raw=1"))
    for f in findings(session, user_id=person.id):
        if f.kind in ("review_overdue",):
            continue  # already flagged on the manual's line
        items.append(HandoverItem(kind="finding", ref_id=f.ref_id, label=f.label, detail=f.message, link=f.link))
    return items


def start(session: Session, user: User, person: User, *, started_by: str = "self", due: date | None = None,
          round_id: int | None = None, transfer_id: int | None = None) -> Handover:
    if started_by != "import":
        require(user, "handover.start", person)
    open_one = session.scalar(select(Handover).where(Handover.user_id == person.id, Handover.unit_id == person.unit_id,
                                                      Handover.status != CONFIRMED))
    if open_one is not None:
        if round_id and open_one.round_id is None:  # started by hand before the import: now part of the round
            open_one.round_id, open_one.transfer_id, open_one.due_date = round_id, transfer_id, due
        return open_one
    handover = Handover(user=person, user_id=person.id, unit=person.unit, unit_id=person.unit_id,
                        position=person.position, status=NOT_STARTED if started_by == "import" else IN_PROGRESS,
                        started_by=started_by, due_date=due, round_id=round_id, transfer_id=transfer_id)
    handover.items = build_items(session, person, person.unit)
    session.add(handover)
    session.flush()
    audit.record(session, user if started_by != "import" else None, "handover.start", "handover", handover.id,
                 person=person.login, by=started_by)
    return handover


def refresh(session: Session, user: User, handover: Handover) -> None:
    """Re-fill from the current state, keeping the notes and successors already written."""
    require(user, "handover.edit", handover)
    if handover.status in (SUBMITTED, CONFIRMED):
        raise Conflict("提出済みの事務引継書は更新できません。")
    kept = {(i.kind, i.ref_id): i for i in handover.items}
    fresh = build_items(session, handover.user, handover.unit)
    for item in fresh:
        old = kept.get((item.kind, item.ref_id))
        if old is not None:
            item.note, item.successor_id = old.note, old.successor_id
    handover.items = fresh
    handover.status = IN_PROGRESS
    handover.updated_at = now_utc()


def successors_for(session: Session, handover: Handover) -> list[User]:
    """Who can take over the manuals: active members of the unit other than the person leaving, and
    the people moving in by the same 人事異動 (before they arrive)."""
    from app.handover.importer import incoming

    members = list(session.scalars(select(User).where(User.unit_id == handover.unit_id, User.active.is_(True),
                                                      User.id != handover.user_id).order_by(User.name)))
    known = {u.id for u in members} | {handover.user_id}
    return members + [u for u in incoming(session, handover.unit_id, handover.round_id) if u.id not in known]


def save(session: Session, user: User, handover: Handover, *, duties: str, concerns: str,
         default_successor_id: int | None, notes: dict[int, str], successors: dict[int, int | None],
         submit: bool = False) -> None:
    require(user, "handover.edit", handover)
    if handover.status in (SUBMITTED, CONFIRMED):
        raise Conflict(f"この事務引継書は「{handover.status_label}」のため編集できません。")
    allowed = {u.id for u in successors_for(session, handover)}
    if any(sid and sid not in allowed for sid in [default_successor_id, *successors.values()]):
        raise ValidationError("後任者には同じ所属の在職中の職員（本人以外）を選んでください。")
    handover.duties, handover.concerns = duties.strip(), concerns.strip()
    handover.default_successor_id = default_successor_id or None
    for item in handover.items:
        if item.id in notes:
            item.note = notes[item.id].strip()
        if item.id in successors:
            item.successor_id = successors[item.id] or None
    handover.status = IN_PROGRESS
    handover.updated_at = now_utc()
    if submit:
        missing = [i.label for i in handover.manual_items if not (i.successor_id or handover.default_successor_id)]
        if missing:
            raise ValidationError("後任者が決まっていないマニュアルがあります。後任者を選んでください。", details=missing)
        if not handover.duties:
            raise ValidationError("担当事務を記入してください。")
        handover.status = SUBMITTED
        handover.submitted_at = now_utc()
        handover.return_comment = ""
    audit.record(session, user, "handover.submit" if submit else "handover.save", "handover", handover.id)


def successor_of(handover: Handover, item: HandoverItem) -> int | None:
    return item.successor_id or handover.default_successor_id


def confirm(session: Session, user: User, handover: Handover) -> None:
    """The 所属長's 確認: the successors become the 管理担当者 of the manuals."""
    require(user, "handover.confirm", handover)
    if handover.status != SUBMITTED:
        raise Conflict("確認できるのは提出された事務引継書です。")
    missing = [i.label for i in handover.manual_items if not successor_of(handover, i)]
    if missing:
        raise ValidationError("後任者が決まっていないマニュアルがあるため確認できません。", details=missing)
    for item in handover.manual_items:
        manual = session.get(Manual, item.ref_id)
        successor = session.get(User, successor_of(handover, item))
        if manual is not None and successor is not None and manual.manager_id == handover.user_id:
            before = manual.manager.name if manual.manager else ""
            manual.manager = successor
            audit.record(session, user, "manual.manager", "manual", manual.id, before=before, after=successor.name,
                         handover=handover.id)
    handover.status = CONFIRMED
    handover.confirmed_by_id, handover.confirmed_by_name = user.id, user.name
    handover.confirmed_by_position = user.position
    handover.confirmed_at = now_utc()
    audit.record(session, user, "handover.confirm", "handover", handover.id)


def send_back(session: Session, user: User, handover: Handover, comment: str) -> None:
    require(user, "handover.confirm", handover)
    if handover.status != SUBMITTED:
        raise Conflict("差し戻せるのは提出された事務引継書です。")
    if not comment.strip():
        raise ValidationError("差戻しの理由（コメント）を入力してください。")
    handover.status = IN_PROGRESS
    handover.return_comment = comment.strip()
    audit.record(session, user, "handover.return", "handover", handover.id)


def list_query(user: User, *, scope: str = "mine") -> Select:
    stmt = select(Handover)
    if scope == "mine":
        stmt = stmt.where(Handover.user_id == user.id)
    elif scope == "unit":
        stmt = stmt.where(Handover.unit_id == user.unit_id)
    elif scope == "successor":
        stmt = stmt.where(or_(Handover.default_successor_id == user.id,
                              Handover.id.in_(select(HandoverItem.handover_id).where(HandoverItem.successor_id == user.id))))
    return stmt.order_by((Handover.status == CONFIRMED), Handover.due_date, Handover.id.desc())


# --- the admin's view of a transfer round ----------------------------------------------------------------


def round_dashboard(session: Session, round_id: int | None) -> dict[str, object]:
    """Handovers of a round by state, per 局 / ward office, and the overdue ones first."""
    base = select(Handover.status, Unit.group_name, Unit.kind, func.count(Handover.id)).join(
        Unit, Unit.id == Handover.unit_id)
    if round_id:
        base = base.where(Handover.round_id == round_id)
    groups: dict[tuple[str, str], dict[str, int]] = {}
    totals: dict[str, int] = {}
    for status, group, kind, n in session.execute(base.group_by(Handover.status, Unit.group_name, Unit.kind)):
        groups.setdefault((kind, group), {})[status] = n
        totals[status] = totals.get(status, 0) + n
    overdue_stmt = (select(Handover).where(Handover.status != CONFIRMED, Handover.due_date < today_jst())
                    .order_by(Handover.due_date, Handover.id).limit(50))
    if round_id:
        overdue_stmt = overdue_stmt.where(Handover.round_id == round_id)
    overdue = list(session.scalars(overdue_stmt))
    ordered = sorted(groups.items(), key=lambda kv: (kv[0][0] != "hq", -sum(v for k, v in kv[1].items()
                                                                            if k != CONFIRMED), kv[0][1]))
    return {"groups": ordered, "totals": totals, "overdue": overdue}


def can_confirm(user: User, handover: Handover) -> bool:
    return can(user, "handover.confirm", handover)



