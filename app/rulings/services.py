"""Inquiries (疑義照会・改善提案), their answers, the 課長's approval and publication as 判断事例.
Callers commit (one unit of work); each transition is a guarded write, and what follows a
publication (index, notices) is an event reaction written in the same transaction."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from app import audit, events, guard
from app.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.gitstore import store
from app.manuals import diff
from app.manuals.document import parse
from app.manuals.models import Manual, ManualVersion
from app.markdown import split_sections
from app.org.models import Unit, User
from app.org.permissions import can, require, require_visible
from app.rulings.models import ANSWERED, AWAITING, KINDS, OPEN, SUGGESTION, URGENCIES, Inquiry
from app.rulings.numbering import next_seq
from app.wareki import now_utc, to_jst, today_jst

log = logging.getLogger(__name__)
PUBLISHED_TOPIC = "ruling.published"


def get_inquiry(session: Session, user: User, inquiry_id: int) -> Inquiry:
    inquiry = session.get(Inquiry, inquiry_id)
    if inquiry is None:
        raise NotFound("指定された照会は見つかりません。")
    require_visible(user, "inquiry.view", inquiry, what="指定された照会")
    return inquiry


def get_ruling(session: Session, number: str) -> Inquiry:
    ruling = session.scalar(select(Inquiry).where(Inquiry.number == number))
    if ruling is None:
        raise NotFound(f"判断事例「{number}」は見つかりません。")
    return ruling


def section_heading(session: Session, manual: Manual, anchor: str) -> str:
    """The heading of a section of the version the ward applies (in force), or of any later one."""
    if not anchor:
        return ""
    for version in session.scalars(select(ManualVersion).where(ManualVersion.manual_id == manual.id)
                                   .order_by(ManualVersion.number.desc()).limit(3)):
        for sec in split_sections(parse(store().read_blob(version.blob_sha)).body):
            if sec.anchor == anchor:
                return sec.heading
        if sec.anchor == anchor:
            return sec.heading
    raise ValidationError("指定された見出しはマニュアルの現行版にありません。見出しを選び直してください。")


def file_inquiry(session: Session, user: User, *, kind: str, subject: str, body: str, urgency: str = "通常",
                 manual: Manual | None = None, anchor: str = "", owner_unit: Unit | None = None) -> Inquiry:
    require(user, "inquiry.create")
    problems = []
    if kind not in KINDS:
        problems.append("種別は「疑義照会」か「改善提案」を選んでください。")
    if not subject.strip():
        problems.append("件名を入力してください。")
    elif len(subject) > 200:
        problems.append("件名は200文字以内にしてください。")
    if not body.strip():
        problems.append("照会内容を入力してください。")
    elif len(body) > 10_000:
        problems.append("照会内容は10,000文字以内にしてください。")
    if urgency not in URGENCIES:
        problems.append("緊急度は「通常」か「至急」を選んでください。")
    if manual is None and owner_unit is None:
        problems.append("対象のマニュアル、または照会先の所管課を選んでください。")
    if manual is not None and not manual.is_published:
        problems.append("公布されていないマニュアルには照会できません。")
    heading = ""
    if not problems and manual is not None and anchor:
        heading = section_heading(session, manual, anchor)
    if problems:
        raise ValidationError("照会を送信できません。", details=problems)
    owner = manual.owner_unit if manual is not None else owner_unit
    assert owner is not None
    if not owner.is_hq:
        raise ValidationError("照会先は本庁の所管課を選んでください。")
    inquiry = Inquiry(
        kind=kind, subject=subject.strip(), body=body.strip(), urgency=urgency, manual=manual, anchor=anchor,
        heading=heading, manual_version=manual.current_version if manual else None, asking_unit=user.unit,
        asking_unit_id=user.unit_id, asker_id=user.id, asker_name=user.name, owner_unit=owner,
        owner_unit_id=owner.id, status=OPEN, asked_on=today_jst(),
    )
    session.add(inquiry)
    session.flush()
    audit.record(session, user, "inquiry.create", "inquiry", inquiry.id, kind=kind, owner=owner.name)
    return inquiry


def save_answer(session: Session, user: User, inquiry: Inquiry, *, answer: str, basis: str, tags: list[str],
                share_all: bool, submit: bool = False, notice_sections: list[str] | None = None) -> None:
    """The owner unit drafts the answer; `submit` sends it to the 課長 for approval."""
    require(user, "inquiry.answer", inquiry)
    if inquiry.status not in (OPEN, AWAITING) or inquiry.is_published:
        raise Conflict("この照会は既に回答済みのため、回答を変更できません。")
    if inquiry.status == AWAITING and not submit:
        raise Conflict("回答案は課長の決裁待ちです。変更するには課長に差し戻してもらってください。")
    if submit:
        problems = []
        if not answer.strip():
            problems.append("回答を入力してください。")
        if not basis.strip():
            problems.append("根拠（法令の条項やマニュアルの該当箇所）を入力してください。")
        if problems:
            raise ValidationError("回答案を決裁に回せません。", details=problems)
    inquiry.answer, inquiry.basis = answer.strip(), basis.strip()
    inquiry.tags = "\n".join(dict.fromkeys(t.strip() for t in tags if t.strip()))
    inquiry.share_all = share_all
    if notice_sections is not None:
        inquiry.notice_sections = "\n".join(notice_sections)
    inquiry.answerer_id, inquiry.answerer_name = user.id, user.name
    inquiry.updated_at = now_utc()
    if submit:
        inquiry.status = AWAITING
        inquiry.return_comment = ""
    audit.record(session, user, "inquiry.submit" if submit else "inquiry.answer_draft", "inquiry", inquiry.id)


def return_answer(session: Session, user: User, inquiry: Inquiry, comment: str) -> None:
    if inquiry.status != AWAITING:
        raise Conflict("この回答案は決裁待ちではありません。")
    require(user, "inquiry.approve", inquiry)
    if not comment.strip():
        raise ValidationError("差戻しの理由（コメント）を入力してください。")
    guard.transition(session, inquiry, Inquiry.status == AWAITING, _decided, status=OPEN,
                     return_comment=comment.strip())
    audit.record(session, user, "inquiry.return", "inquiry", inquiry.id)


def _decided(inquiry: Inquiry | None) -> str:
    if inquiry is not None and inquiry.status == ANSWERED:
        who = f"（{inquiry.approver_name}）" if inquiry.approver_name else ""
        return f"この回答案はすでに決裁されています{who}。"
    if inquiry is not None and inquiry.status == OPEN:
        return "この回答案は差し戻されています（決裁待ちではありません）。"
    return "この回答案は決裁待ちではありません。"


def approve(session: Session, user: User, inquiry: Inquiry, *, now: datetime | None = None) -> Inquiry:
    """The 課長's approval: the answer becomes the organisational decision; shared ones are published
    (numbered from the year's counter in this same transaction)."""
    if inquiry.status != AWAITING:
        raise Conflict(_decided(inquiry))
    require(user, "inquiry.approve", inquiry)
    when = now or now_utc()
    values: dict[str, Any] = {
        "status": ANSWERED, "approver_id": user.id, "approver_name": user.name, "approver_position": user.position,
        "approver_unit": user.unit.name, "approved_at": when, "answered_on": to_jst(when).date(),
    }
    guard.transition(session, inquiry, Inquiry.status == AWAITING, _decided, **values)
    audit.record(session, user, "inquiry.approve", "inquiry", inquiry.id, share_all=inquiry.share_all)
    if inquiry.share_all:
        publish(session, inquiry, when)
    return inquiry


def publish(session: Session, inquiry: Inquiry, when: datetime) -> None:
    """Number it (R2025-014) and make it visible to every ward; the reactions index and announce it."""
    year = to_jst(when).year
    inquiry.set_number(year, next_seq(session, year))
    inquiry.published_at = when
    session.flush()
    audit.record(session, None, "ruling.publish", "inquiry", inquiry.id, number=inquiry.number)
    events.emit(session, PUBLISHED_TOPIC, ruling_ids=[inquiry.id])


def confirm_recheck(session: Session, user: User, inquiry: Inquiry, note: str) -> None:
    """The owner unit confirms a flagged ruling still holds after the manual changed."""
    require(user, "inquiry.answer", inquiry)
    refusal = "この判断事例は確認が必要な状態ではありません（すでに確認されています）。"
    if not inquiry.needs_recheck:
        raise Conflict(refusal)
    guard.transition(session, inquiry, Inquiry.needs_recheck.is_(True), refusal, needs_recheck=False,
                     recheck_note=note.strip() or "関連マニュアル改正後も判断は変わらないことを確認")
    audit.record(session, user, "ruling.recheck", "inquiry", inquiry.id, note=inquiry.recheck_note)


def propose_amendment(session: Session, user: User, ruling: Inquiry, *, answer: str, basis: str) -> None:
    """Amend a published ruling (e.g. after the manual changed): the 課長 must approve it again."""
    require(user, "inquiry.answer", ruling)
    if not ruling.is_published:
        raise Conflict("改められるのは公表済みの判断事例です。")
    if not answer.strip() or not basis.strip():
        raise ValidationError("改める回答と根拠を入力してください。")
    ruling.amend_answer, ruling.amend_basis = answer.strip(), basis.strip()
    ruling.amend_by_id, ruling.amend_by_name = user.id, user.name
    audit.record(session, user, "ruling.amend", "inquiry", ruling.id, number=ruling.number)


def decide_amendment(session: Session, user: User, ruling: Inquiry, *, approve: bool, comment: str = "") -> None:
    refusal = "決裁待ちの改訂案はありません（すでに決裁または差し戻しされています）。"
    if not ruling.amendment_pending:
        raise Conflict(refusal)
    require(user, "inquiry.approve", ruling)
    if ruling.amend_by_id == user.id:
        raise PermissionDenied("自分が作成した改訂案を決裁することはできません。")
    if not approve and not comment.strip():
        raise ValidationError("差戻しの理由（コメント）を入力してください。")
    values: dict[str, Any] = {"amend_answer": "", "amend_basis": "", "amend_by_name": "", "amend_by_id": None}
    if approve:
        values.update(answer=ruling.amend_answer, basis=ruling.amend_basis, approver_id=user.id,
                      approver_name=user.name, approver_position=user.position, approver_unit=user.unit.name,
                      approved_at=now_utc(), answered_on=today_jst(), needs_recheck=False,
                      recheck_note="関連マニュアルの改正に合わせて回答を改めました。")
    else:
        values["return_comment"] = comment.strip()
    guard.transition(session, ruling, (Inquiry.amend_answer != "") & (Inquiry.amend_answer == ruling.amend_answer),
                     refusal, **values)
    audit.record(session, user, "ruling.amend_approve" if approve else "ruling.amend_return", "inquiry", ruling.id)
    if approve:
        events.emit(session, PUBLISHED_TOPIC, ruling_ids=[ruling.id], amended=True)


def mark_reflected(session: Session, user: User, inquiry: Inquiry, version: int) -> None:
    """改善提案: record the revision that took it in."""
    require(user, "inquiry.answer", inquiry)
    if inquiry.kind != SUGGESTION:
        raise ValidationError("改正への反映を記録できるのは改善提案のみです。")
    if inquiry.manual is None or not 1 <= version <= inquiry.manual.current_version:
        raise ValidationError("反映した版の番号が正しくありません。")
    inquiry.reflected_version = version
    audit.record(session, user, "inquiry.reflected", "inquiry", inquiry.id, version=version)


# --- lists -----------------------------------------------------------------------------------


def inbox_query(user: User, *, status: str | None = None) -> Select:
    """The owner unit's inbox (本庁) or the unit's own inquiries (区役所), oldest open first."""
    stmt = select(Inquiry)
    if user.is_hq:
        stmt = stmt.where(Inquiry.owner_unit_id == user.unit_id, Inquiry.imported.is_(False))
    else:
        stmt = stmt.where(Inquiry.asking_unit_id == user.unit_id)
    if status == "open":
        stmt = stmt.where(Inquiry.status.in_((OPEN, AWAITING)))
    elif status:
        stmt = stmt.where(Inquiry.status == status)
    return stmt.order_by(Inquiry.status.in_((OPEN, AWAITING)).desc(), Inquiry.asked_on, Inquiry.id)


def rulings_query(*, manual_id: int | None = None, owner_unit_id: int | None = None, tag: str | None = None,
                  ward: str | None = None, q: str = "", sort: str = "new") -> Select:
    stmt = select(Inquiry).where(Inquiry.number.is_not(None))
    if manual_id:
        stmt = stmt.where(Inquiry.manual_id == manual_id)
    if owner_unit_id:
        stmt = stmt.where(Inquiry.owner_unit_id == owner_unit_id)
    if tag:
        stmt = stmt.where(("\n" + Inquiry.tags + "\n").like(f"%\n{tag}\n%"))
    if ward:
        stmt = stmt.where(Inquiry.asking_unit_id.in_(select(Unit.id).where(Unit.group_name == ward)))
    if q.strip():
        stmt = stmt.where(Inquiry.subject.ilike(f"%{q.strip()}%"))
    order = {"new": (Inquiry.answered_on.desc(), Inquiry.number_year.desc(), Inquiry.number_seq.desc()),
             "number": (Inquiry.number_year, Inquiry.number_seq)}
    return stmt.order_by(*order.get(sort, order["new"]))


def rulings_for_manual(session: Session, manual: Manual) -> list[Inquiry]:
    return list(session.scalars(rulings_query(manual_id=manual.id, sort="number")))


_LISTED = (select(Inquiry.number, Inquiry.subject, Inquiry.heading, Inquiry.anchor, Inquiry.needs_recheck)
           .where(Inquiry.number.is_not(None), Inquiry.manual_id == bindparam("manual_id"))
           .order_by(Inquiry.number_year, Inquiry.number_seq))  # built once: read on every manual page


def listed_for_manual(session: Session, manual: Manual) -> list[Any]:
    """The manual page's list of its rulings: the columns it shows (number, subject, section,
    要確認), not whole rulings with their joined manual, units and people — read on every view."""
    return list(session.execute(_LISTED, {"manual_id": manual.id}))


def flagged(session: Session, user: User) -> list[Inquiry]:
    return list(session.scalars(select(Inquiry).where(
        Inquiry.owner_unit_id == user.unit_id, Inquiry.needs_recheck.is_(True))
        .order_by(Inquiry.number_year, Inquiry.number_seq)))


def visible(user: User, inquiry: Inquiry) -> bool:
    return can(user, "inquiry.view", inquiry)


# --- reacting to a manual revision -------------------------------------------------------------


def _body_of(session: Session, manual: Manual, number: int) -> str | None:
    version = session.scalar(select(ManualVersion).where(ManualVersion.manual_id == manual.id,
                                                          ManualVersion.number == number))
    return parse(store().read_blob(version.blob_sha)).body if version is not None else None


def flag_changed_rulings(session: Session, manual: Manual, number: int) -> int:
    """Rulings whose linked section's text changed in version `number` (compared section by section
    with the previous version, a heading renumbered with its text unchanged is no change) need
    re-checking; the flag says what changed. A ruling on the whole manual is flagged by any change."""
    rulings = [r for r in rulings_for_manual(session, manual) if not r.needs_recheck]
    if not rulings or number < 2:
        return 0
    old, new = _body_of(session, manual, number - 1), _body_of(session, manual, number)
    if old is None or new is None:
        return 0
    found = diff.changes(old, new)
    changed = [c.heading or "冒頭" for c in found.values() if c.status != "unchanged"]
    n = 0
    for ruling in rulings:
        if not ruling.anchor:
            if changed:
                ruling.needs_recheck = True
                ruling.recheck_note = f"第{number}版で改正されました（改正箇所: {'、'.join(changed[:5])}）。"
                n += 1
            continue
        change = found.get(ruling.anchor)
        if change is None:
            continue  # the section was not in the previous version either: nothing new to check
        if change.status == "unchanged":
            if change.anchor != ruling.anchor:  # renumbered: the link follows the heading
                ruling.anchor, ruling.heading = change.anchor, change.heading
            continue
        ruling.needs_recheck = True
        ruling.recheck_note = (f"第{number}版で関連箇所「{ruling.heading or change.heading}」が削除されました。"
                               if change.status == "removed"
                               else f"第{number}版で関連箇所「{change.heading}」の本文が改正されました。")
        n += 1
    return n


@events.consumer("manual.published", "ruling_flags")
def _on_manual_published(session: Session, data: dict[str, Any]) -> None:
    manual = session.get(Manual, data["manual_id"])
    if manual is not None:
        flag_changed_rulings(session, manual, data["number"])
