"""The 事務引継書: filled in by the system, annotated by the person leaving, confirmed by the
所属長 (the successors become the 管理担当者). Callers commit."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from app import audit, guard, ordering
from app.errors import Conflict, NotFound, ValidationError
from app.handover.checks import findings
from app.handover.management import next_review, review_state
from app.handover.models import (
    CONFIRMED,
    IN_PROGRESS,
    NOT_STARTED,
    SUBMITTED,
    Handover,
    HandoverItem,
)
from app.handover.transfers import incoming
from app.manuals.models import ACTIVE, Manual
from app.notices.models import PENDING, Notice
from app.org.models import Unit, User
from app.org.permissions import can, require, require_visible
from app.revisions.models import OPEN_STATES, Revision
from app.rulings.models import ANSWERED, Inquiry
from app.wareki import now_utc, today_jst, wareki


def get_handover(session: Session, user: User, handover_id: int) -> Handover:
    handover = session.get(Handover, handover_id)
    if handover is None:
        raise NotFound("指定された事務引継書は見つかりません。")
    require_visible(user, "handover.view", handover, what="指定された事務引継書")
    return handover


def build_items(session: Session, person: User, unit: Unit) -> list[HandoverItem]:
    """What the system knows the person leaves behind in this post."""
    items: list[HandoverItem] = []
    if unit.is_hq:
        for m in session.scalars(select(Manual).where(Manual.manager_id == person.id, Manual.status == ACTIVE)
                                 .order_by(Manual.title_kana, Manual.title)):
            due = next_review(m)
            state = review_state(m)
            items.append(HandoverItem(
                kind="manual", ref_id=m.id, label=m.title, link=f"/manuals/{m.slug}",
                detail=f"第{m.current_version}版／施行 {wareki(m.effective_date) if m.effective_date else '—'}"
                       f"／次回見直し {wareki(due) if due else '—'}",
                flag={"overdue": "見直し期限超過", "soon": "見直し期限が近い"}.get(state, "")))
        for r in session.scalars(select(Revision).join(Manual).where(
                Revision.state.in_(OPEN_STATES), or_(Revision.drafter_id == person.id, Manual.manager_id == person.id))):
            items.append(HandoverItem(kind="draft", ref_id=r.id, label=f"{r.manual.title} {r.kind_label}案 #{r.id}",
                                      detail=r.state_label, link=f"/revisions/{r.id}"))
        for i in session.scalars(select(Inquiry).where(Inquiry.owner_unit_id == unit.id, Inquiry.status != ANSWERED,
                                                        or_(Inquiry.answerer_id == person.id, Inquiry.answerer_id.is_(None)))):
            items.append(HandoverItem(kind="inquiry", ref_id=i.id, label=i.subject,
                                      detail=f"{i.asking_unit.name}／{wareki(i.asked_on)}照会／{i.status_label}",
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
                                      detail=f"期限 {wareki(n.due_date) if n.due_date else '—'}",
                                      flag="期限超過" if overdue else "", link=f"/notices/{n.id}"))
        for i in session.scalars(select(Inquiry).where(Inquiry.asker_id == person.id, Inquiry.status != ANSWERED)):
            items.append(HandoverItem(kind="asked", ref_id=i.id, label=i.subject,
                                      detail=f"{i.owner_unit.name}へ {wareki(i.asked_on)}照会／{i.status_label}",
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
    members = list(session.scalars(select(User).where(User.unit_id == handover.unit_id, User.active.is_(True),
                                                      User.id != handover.user_id).order_by(User.name_kana, User.name)))
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
    if submit:
        missing = [i.label for i in handover.manual_items if not (i.successor_id or handover.default_successor_id)]
        if missing:
            raise ValidationError("後任者が決まっていないマニュアルがあります。後任者を選んでください。", details=missing)
        if not handover.duties:
            raise ValidationError("担当事務を記入してください。")
    values: dict[str, object] = {"status": IN_PROGRESS, "updated_at": now_utc()}
    if submit:
        values.update(status=SUBMITTED, submitted_at=now_utc(), return_comment="")
    guard.transition(session, handover, Handover.status.in_((NOT_STARTED, IN_PROGRESS)), _handover_refusal, **values)
    audit.record(session, user, "handover.submit" if submit else "handover.save", "handover", handover.id)


def _handover_refusal(handover: Handover | None) -> str:
    if handover is None:
        return "この事務引継書は見つかりません。"
    if handover.status == CONFIRMED:
        who = f"（{handover.confirmed_by_name}）" if handover.confirmed_by_name else ""
        return f"この事務引継書はすでに確認されています{who}。"
    if handover.status == SUBMITTED:
        return "この事務引継書はすでに所属長に提出されています。"
    return f"この事務引継書は「{handover.status_label}」のため、この操作はできません。"


def successor_of(handover: Handover, item: HandoverItem) -> int | None:
    return item.successor_id or handover.default_successor_id


def confirm(session: Session, user: User, handover: Handover) -> None:
    """The 所属長's 確認: the successors become the 管理担当者 of the manuals."""
    require(user, "handover.confirm", handover)
    if handover.status != SUBMITTED:
        raise Conflict(_handover_refusal(handover) if handover.status == CONFIRMED
                       else "確認できるのは提出された事務引継書です。")
    missing = [i.label for i in handover.manual_items if not successor_of(handover, i)]
    if missing:
        raise ValidationError("後任者が決まっていないマニュアルがあるため確認できません。", details=missing)
    guard.transition(session, handover, Handover.status == SUBMITTED, _handover_refusal, status=CONFIRMED,
                     confirmed_by_id=user.id, confirmed_by_name=user.name, confirmed_by_position=user.position,
                     confirmed_at=now_utc())
    for item in handover.manual_items:
        manual = session.get(Manual, item.ref_id)
        successor = session.get(User, successor_of(handover, item))
        if manual is not None and successor is not None and manual.manager_id == handover.user_id:
            before = manual.manager.name if manual.manager else ""
            manual.manager = successor
            audit.record(session, user, "manual.manager", "manual", manual.id, before=before, after=successor.name,
                         handover=handover.id)
    audit.record(session, user, "handover.confirm", "handover", handover.id)


def send_back(session: Session, user: User, handover: Handover, comment: str) -> None:
    require(user, "handover.confirm", handover)
    if handover.status != SUBMITTED:
        raise Conflict("差し戻せるのは提出された事務引継書です。")
    if not comment.strip():
        raise ValidationError("差戻しの理由（コメント）を入力してください。")
    guard.transition(session, handover, Handover.status == SUBMITTED, _handover_refusal, status=IN_PROGRESS,
                     return_comment=comment.strip())
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
    ordered = sorted(groups.items(), key=lambda kv: ordering.group_rank(kv[0][0], kv[0][1]))  # the city's order
    return {"groups": ordered, "totals": totals, "overdue": overdue}


def can_confirm(user: User, handover: Handover) -> bool:
    return can(user, "handover.confirm", handover)
