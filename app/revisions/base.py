"""What every part of the revision workflow shares: loading a revision, its texts in git, the 決裁
record (a WorkflowEvent per transition) and the state checks."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit, guard
from app.documents import attachments
from app.errors import Conflict, NotFound, ValidationError
from app.gitstore import Person, store
from app.manuals.document import parse
from app.manuals.models import ManualVersion
from app.org.models import User
from app.revisions.models import ABOLISH, DECIDE, NEW, REVISE, ApprovalStep, Revision, WorkflowEvent
from app.wareki import now_utc, wareki

CONFLICT_MARK = "<<<<<<<"


def person(user: User) -> Person:
    return Person(user.name, user.commit_email)


def get_revision(session: Session, revision_id: int) -> Revision:
    revision = session.get(Revision, revision_id)
    if revision is None:
        raise NotFound("指定された改正案は見つかりません。")
    return revision


def record_event(session: Session, revision: Revision, user: User | None, action: str, *, meaning: str | None = None,
                 comment: str = "", commit_sha: str | None = None, at: datetime | None = None) -> WorkflowEvent:
    ev = WorkflowEvent(
        revision_id=revision.id, action=action, meaning=meaning, comment=comment, commit_sha=commit_sha,
        actor_id=user.id if user else None, actor_name=user.name if user else "システム",
        actor_unit=user.unit.name if user else "", actor_position=user.position if user else "",
        at=at or now_utc(),
    )
    session.add(ev)
    return ev


def require_state(revision: Revision, *states: str, doing: str) -> None:
    if revision.state not in states:
        raise Conflict(state_refusal(revision, doing))


def state_refusal(revision: Revision, doing: str) -> str:
    """Why `doing` is not possible now, in the words a user expects after a double click."""
    already = {"published": "すでに決裁されています（公布済み）", "publishing": "すでに決裁されています（公布処理中）",
               "withdrawn": "すでに取り下げられています"}
    if revision.state in already:
        return f"この改正案は{already[revision.state]}。{doing}できません。"
    return f"この改正案は「{revision.state_label}」のため、{doing}できません。"


def current_text(revision: Revision) -> str:
    text = text_or_none(revision)
    if text is None:
        raise NotFound("改正案の本文がリポジトリに見つかりません。管理者に連絡してください（flask doctor）。")
    return text


def text_or_none(revision: Revision) -> str | None:
    return store().read(revision.head_commit, revision.manual.path) if revision.head_commit else None


def base_text(revision: Revision) -> str | None:
    return store().read(revision.base_commit, revision.manual.path) if revision.base_commit else None


def effective_problems(session: Session, revision: Revision, effective: date | None) -> list[str]:
    """A 施行日 earlier than the newest published version's would let this draft's text (which
    carries that version's changes) take effect before them."""
    manual = revision.manual
    if effective is None or not manual.is_published or revision.kind == NEW:
        return []
    latest = session.scalar(select(ManualVersion).where(ManualVersion.manual_id == manual.id)
                            .order_by(ManualVersion.number.desc()).limit(1))
    if latest is not None and latest.effective_date is not None and effective < latest.effective_date:
        label = "廃止日" if revision.kind == ABOLISH else "施行日"
        return [f"{label}（{wareki(effective)}）を、第{latest.number}版の施行日（{wareki(latest.effective_date)}）より"
                "前にすることはできません。施行日を見直してください。"]
    return []


def _unchanged(text: str, base: str | None) -> bool:
    """Nothing but the 施行日 differs from the version the draft started from."""
    if base is None:
        return False
    mine, theirs = parse(text), parse(base)
    mine.effective = theirs.effective
    return mine.dump() == theirs.dump()


def check_ready(session: Session, revision: Revision) -> None:
    """What a draft needs before 意見照会 or 決裁."""
    problems = effective_problems(session, revision, revision.effective_date)
    if not revision.reason.strip():
        problems.append("改正理由を入力して保存してください。")
    if revision.effective_date is None:
        problems.append("施行日を入力して保存してください。")
    if revision.conflict_data:
        problems.append("公布済みの別の改正との競合が解消されていません。「競合を解消する」から両方の内容を確認してください。")
    text = text_or_none(revision)
    if text is None:
        problems.append("本文がまだ保存されていません。")
    elif CONFLICT_MARK in text:
        problems.append("本文に競合の印（<<<<<<<）が残っています。競合を解消して保存してください。")
    elif revision.kind == REVISE and _unchanged(text, base_text(revision)) and not attachments.delta(
            revision.manual.slug, revision.base_commit, revision.head_commit):
        problems.append("本文が現行版から変更されていません。")
    if problems:
        raise ValidationError("この改正案はまだ回付できません。", details=problems)


def record_step(session: Session, revision: Revision, step: ApprovalStep, user: User, comment: str,
                now: datetime | None) -> None:
    guard.transition(session, step, ApprovalStep.status == "pending", _already,
                     status="approved", actor_id=user.id, acted_at=now or now_utc())
    session.expire(step, ["actor"])  # the relationship follows the new actor_id
    record_event(session, revision, user, "approve", meaning=step.meaning, comment=comment, at=now)
    audit.record(session, user, "revision.approve", "revision", revision.id, meaning=step.meaning)


def _already(step: ApprovalStep | None) -> str:
    if step is None:
        return "この改正案は差し戻されたか取り下げられたため、承認できません。画面を再読み込みしてください。"
    who = f"（{step.actor.name}）" if step.actor else ""
    if step.meaning == DECIDE:
        return f"この改正案はすでに決裁されています{who}。"
    return f"この改正案の{step.meaning}はすでに承認されています{who}。"
