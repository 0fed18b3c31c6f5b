"""The revision workflow: draft → (意見照会) → 決裁 route → publish, or withdraw.

Plain functions taking a session and a user. Every transition writes a WorkflowEvent (the
決裁 record) and an audit row. Callers commit, except `publish` (and `approve` on the final
step), which commit themselves: git has moved by then, and the DB must follow at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app import audit, faults, signals
from app.errors import Conflict, NotFound, ValidationError
from app.gitstore import MAIN, GitStore, Person, RefMoved, trailer_block
from app.manuals.document import SLUG_RE, ManualDoc, parse
from app.manuals.models import ACTIVE, OBSOLETE, UNPUBLISHED, Manual, ManualTag, ManualTarget, ManualVersion
from app.org import structure
from app.org.models import CHIEF, HEAD, Unit, User
from app.org.permissions import require
from app.revisions.models import (
    ABOLISH,
    CONSULT,
    CONSULTATION,
    DECIDE,
    DRAFT,
    IN_REVIEW,
    NEW,
    OPEN_STATES,
    PUBLISHED,
    REVIEW,
    REVISE,
    WITHDRAWN,
    ApprovalStep,
    ConsultationComment,
    Revision,
    WorkflowEvent,
)
from app.wareki import now_utc, to_jst, today_jst, wareki

log = logging.getLogger(__name__)
CONFLICT_MARK = "<<<<<<<"
MAX_BODY = 500_000  # characters; a manual of 50 pages is ~100,000


def store() -> GitStore:
    return GitStore(current_app.config["MANUALS_REPO"])


def person(user: User) -> Person:
    return Person(user.name, user.email or f"{user.login}@tebiki.invalid")


def get_revision(session: Session, revision_id: int) -> Revision:
    revision = session.get(Revision, revision_id)
    if revision is None:
        raise NotFound("指定された改正案は見つかりません。")
    return revision


def _event(session: Session, revision: Revision, user: User | None, action: str, *, meaning: str | None = None,
           comment: str = "", commit_sha: str | None = None, at: datetime | None = None) -> WorkflowEvent:
    ev = WorkflowEvent(
        revision_id=revision.id, action=action, meaning=meaning, comment=comment, commit_sha=commit_sha,
        actor_id=user.id if user else None, actor_name=user.name if user else "システム",
        actor_unit=user.unit.name if user else "", actor_position=user.position if user else "",
        at=at or now_utc(),
    )
    session.add(ev)
    revision.events.append(ev)
    return ev


def _require_state(revision: Revision, *states: str, doing: str) -> None:
    if revision.state not in states:
        raise Conflict(f"この改正案は「{revision.state_label}」のため、{doing}できません。")


# --- drafting --------------------------------------------------------------------------------


@dataclass
class DraftFields:
    """What the editor submits."""

    title: str
    targets: list[str]
    tags: list[str]
    effective: date | None
    review_months: int
    body: str
    reason: str
    summary: str = ""


def _validate_fields(f: DraftFields) -> list[str]:
    problems = []
    if not f.title.strip():
        problems.append("マニュアル名を入力してください。")
    if len(f.title) > 200:
        problems.append("マニュアル名は200文字以内にしてください。")
    unknown = [t for t in f.targets if t not in structure.SECTION_KINDS]
    if unknown:
        problems.append(f"対象の課「{'、'.join(unknown)}」は区役所の課の種類にありません。")
    if not f.targets:
        problems.append("対象の課（この手引きを使う区役所の課）を1つ以上選んでください。")
    if not 1 <= f.review_months <= 120:
        problems.append("見直し周期は1〜120か月で指定してください。")
    if len(f.body) > MAX_BODY:
        problems.append(f"本文が長すぎます（{len(f.body):,}文字、上限{MAX_BODY:,}文字）。分冊してください。")
    if any(len(t) > 50 for t in f.tags):
        problems.append("タグは1つ50文字以内にしてください。")
    return problems


def _doc(manual: Manual, f: DraftFields, *, obsolete: date | None = None) -> ManualDoc:
    return ManualDoc(
        title=f.title.strip(), owner=manual.owner_unit.name, targets=f.targets, effective=f.effective,
        review_months=f.review_months, tags=f.tags, body=f.body,
        manager=manual.manager.login if manual.manager else None, obsolete=obsolete,
    )


def create_manual(session: Session, user: User, *, slug: str, fields: DraftFields, now: datetime | None = None
                  ) -> Revision:
    """A new manual: registry row (unpublished) + its first revision (制定) with the text saved."""
    require(user, "manual.create")
    problems = _validate_fields(fields)
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug):
        problems.append("識別名（URL）は半角英小文字・数字・ハイフンで2〜80文字にしてください（例: kokuho-shikaku）。")
    elif session.scalar(select(Manual.id).where(Manual.slug == slug)) is not None:
        problems.append(f"識別名「{slug}」は既に使われています。")
    if problems:
        raise ValidationError("マニュアルを作成できません。", details=problems)
    manual = Manual(slug=slug, title=fields.title.strip(), owner_unit=user.unit, manager=user,
                    status=UNPUBLISHED, review_months=fields.review_months)
    _set_lists(manual, fields.targets, fields.tags)
    session.add(manual)
    session.flush()
    revision = Revision(manual=manual, kind=NEW, state=DRAFT, drafter=user, base_commit=None,
                        head_commit="", reason=fields.reason, summary=fields.summary,
                        effective_date=fields.effective)
    session.add(revision)
    session.flush()
    _event(session, revision, user, "create", at=now)
    _commit_draft(session, user, revision, _doc(manual, fields).dump(), expected_head="", now=now)
    audit.record(session, user, "manual.create", "manual", manual.id, slug=slug, title=manual.title)
    return revision


def _set_lists(manual: Manual, targets: list[str], tags: list[str]) -> None:
    if manual.target_names != list(targets):
        manual.targets = [ManualTarget(section=s, position=i) for i, s in enumerate(dict.fromkeys(targets))]
    if manual.tag_names != list(tags):
        manual.tags = [ManualTag(tag=t, position=i) for i, t in enumerate(dict.fromkeys(tags))]


def open_revision(session: Session, user: User, manual: Manual, *, kind: str = REVISE,
                  now: datetime | None = None) -> Revision:
    """Start a revision (改正) or an abolition (廃止) of a published manual from its current text."""
    require(user, "manual.edit", manual)
    if not manual.is_published:
        raise Conflict("まだ公布されていないマニュアルです。制定の改正案を先に決裁してください。")
    if manual.is_obsolete:
        raise Conflict("廃止されたマニュアルは改正できません。")
    if kind == ABOLISH:
        pending = session.scalar(select(Revision.id).where(
            Revision.manual_id == manual.id, Revision.kind == ABOLISH, Revision.state.in_(OPEN_STATES)))
        if pending:
            raise Conflict("このマニュアルには既に進行中の廃止案があります。", details=[f"改正案 #{pending}"])
    revision = Revision(manual=manual, kind=kind, state=DRAFT, drafter=user, base_commit=manual.current_commit,
                        head_commit=manual.current_commit or "", reason="", summary="")
    session.add(revision)
    session.flush()
    store().update_ref(revision.ref, manual.current_commit or "", None, reason=f"draft {revision.id}")
    _event(session, revision, user, "create", at=now)
    if kind == ABOLISH:
        doc = parse(current_text(revision))
        doc.obsolete = today_jst()
        revision.effective_date = doc.obsolete
        _commit_draft(session, user, revision, doc.dump(), expected_head=revision.head_commit, now=now)
    audit.record(session, user, "revision.create", "revision", revision.id, manual=manual.slug, kind=kind)
    return revision


def current_text(revision: Revision) -> str:
    text = store().read(revision.head_commit, revision.manual.path)
    if text is None:
        raise NotFound("改正案の本文がリポジトリに見つかりません。管理者に連絡してください（flask doctor）。")
    return text


def base_text(revision: Revision) -> str | None:
    return store().read(revision.base_commit, revision.manual.path) if revision.base_commit else None


class StaleDraft(Conflict):
    """Someone saved the draft after this form was opened; nothing was written."""

    def __init__(self, theirs: str, theirs_by: str, theirs_at: datetime | None) -> None:
        Conflict.__init__(
            self,
            "この改正案は、画面を開いた後に他の人（または別の画面）が保存しています。"
            "あなたの入力はまだ保存していません。下の両方の内容を見比べ、反映してから保存し直してください。",
        )
        self.theirs, self.theirs_by, self.theirs_at = theirs, theirs_by, theirs_at


def save_draft(session: Session, user: User, revision: Revision, fields: DraftFields, *, expected_head: str,
               now: datetime | None = None) -> bool:
    """Save the editor: one commit on the draft's ref. Returns False when nothing changed."""
    require(user, "revision.edit", revision)
    _require_state(revision, DRAFT, CONSULTATION, doing="編集")
    problems = _validate_fields(fields)
    if problems:
        raise ValidationError("保存できません。", details=problems)
    manual = revision.manual
    obsolete = revision.effective_date if revision.kind == ABOLISH else None
    text = _doc(manual, fields, obsolete=obsolete).dump()
    revision.reason, revision.summary = fields.reason.strip(), fields.summary.strip()
    if revision.kind != ABOLISH:
        revision.effective_date = fields.effective
    if revision.head_commit != expected_head:
        raise _stale(session, revision)
    if revision.state == DRAFT and revision.conflict_text is None and text == _text_or_none(revision):
        revision.updated_at = now or now_utc()
        return False
    _commit_draft(session, user, revision, text, expected_head=expected_head, now=now)
    if revision.conflict_text is not None and CONFLICT_MARK not in text:
        revision.conflict_text = None  # resolved
    if revision.kind == NEW:  # an unpublished manual's registry follows its draft
        manual.title = fields.title.strip()
        manual.review_months = fields.review_months
        _set_lists(manual, fields.targets, fields.tags)
    return True


def _text_or_none(revision: Revision) -> str | None:
    return store().read(revision.head_commit, revision.manual.path) if revision.head_commit else None


def _stale(session: Session, revision: Revision) -> StaleDraft:
    last = next((e for e in reversed(revision.events) if e.action in ("save", "create")), None)
    return StaleDraft(_text_or_none(revision) or "", last.actor_name if last else "", last.at if last else None)


def _commit_draft(session: Session, user: User, revision: Revision, text: str, *, expected_head: str,
                  now: datetime | None = None) -> str:
    when = to_jst(now or now_utc())
    parent = revision.head_commit or None
    sha = store().write_commit(parent, {revision.manual.path: text},
                               f"下書き保存（改正案 #{revision.id}）\n\nDraft: {revision.id}", person(user), when)
    # Compare-and-swap in the DB as well as in git: two saves from the same old head cannot both win.
    moved = session.execute(
        update(Revision).where(Revision.id == revision.id, Revision.head_commit == expected_head)
        .values(head_commit=sha, updated_at=when).execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        session.refresh(revision)
        raise _stale(session, revision)
    try:
        store().update_ref(revision.ref, sha, parent, reason=f"draft {revision.id}")
    except RefMoved:
        session.rollback()
        raise _stale(session, revision) from None
    revision.head_commit = sha
    revision.updated_at = when
    _event(session, revision, user, "save", commit_sha=sha, at=now)
    return sha


# --- 意見照会 ----------------------------------------------------------------------------------


def start_consultation(session: Session, user: User, revision: Revision, deadline: date,
                       now: datetime | None = None) -> None:
    require(user, "revision.edit", revision)
    _require_state(revision, DRAFT, doing="意見照会に回")
    if deadline <= (to_jst(now).date() if now else today_jst()):
        raise ValidationError("意見照会の期限は明日以降の日付にしてください。")
    _check_ready(revision)
    revision.state = CONSULTATION
    revision.consultation_deadline = deadline
    targets = "、".join(revision.manual.target_names)
    _event(session, revision, user, "consult", comment=f"期限 {wareki(deadline)}／照会先: 各区 {targets}", at=now)
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
    from app.markdown import split_sections

    headings = {s.anchor: s.heading for s in split_sections(parse(current_text(revision)).body)}
    if anchor and anchor not in headings:
        raise ValidationError("意見の対象の見出しが改正案にありません。見出しを選び直してください。")
    comment = ConsultationComment(revision_id=revision.id, unit_id=user.unit_id, author_id=user.id, anchor=anchor,
                                  heading=headings.get(anchor, "全体"), body=body, created_at=now or now_utc())
    session.add(comment)
    audit.record(session, user, "revision.comment", "revision", revision.id, unit=user.unit.name)
    return comment


def dispose_comment(session: Session, user: User, comment: ConsultationComment, *, disposition: str,
                    reason: str) -> None:
    revision = get_revision(session, comment.revision_id)
    require(user, "revision.edit", revision)
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


# --- 決裁 ------------------------------------------------------------------------------------


def _check_ready(revision: Revision) -> None:
    problems = []
    if not revision.reason.strip():
        problems.append("改正理由を入力して保存してください。")
    if revision.effective_date is None:
        problems.append("施行日を入力して保存してください。")
    text = _text_or_none(revision)
    if text is None:
        problems.append("本文がまだ保存されていません。")
    elif CONFLICT_MARK in text:
        problems.append("本文に競合の印（<<<<<<<）が残っています。競合を解消して保存してください。")
    elif revision.kind == REVISE and text == base_text(revision):
        problems.append("本文が現行版から変更されていません。")
    if problems:
        raise ValidationError("この改正案はまだ回付できません。", details=problems)


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
           now: datetime | None = None) -> None:
    require(user, "revision.edit", revision)
    _require_state(revision, DRAFT, CONSULTATION, doing="決裁に回付")
    _check_ready(revision)
    if consult_unit is not None and (not consult_unit.is_hq or consult_unit.id == revision.manual.owner_unit_id):
        raise ValidationError("合議先には所管課以外の本庁の課を選んでください。")
    if revision.state == CONSULTATION:
        undecided = [c for c in comments(session, revision) if c.disposition is None]
        if undecided:
            raise ValidationError(
                f"区役所からの意見{len(undecided)}件が未対応です。各意見を「反映した／反映しない」に整理してから回付してください。")
    revision.steps = approval_route(session, revision, consult_unit)
    revision.state = IN_REVIEW
    route = " → ".join(f"{s.meaning}" for s in revision.steps)
    _event(session, revision, user, "submit", comment=f"決裁ルート: {route}", at=now)
    audit.record(session, user, "revision.submit", "revision", revision.id)


def approve(session: Session, user: User, revision: Revision, comment: str = "",
            now: datetime | None = None, *, notice_due_days: int | None = None) -> bool:
    """Approve the current step. On the final step the revision is published (and committed);
    `notice_due_days` (set by the final approver) is the 周知 deadline of its notices.
    Returns True when it was published."""
    _require_state(revision, IN_REVIEW, doing="承認")
    require(user, "revision.approve", revision)
    step = revision.current_step
    assert step is not None
    if notice_due_days is not None:
        if not 1 <= notice_due_days <= 180:
            raise ValidationError("周知確認の期限は1〜180日で指定してください。")
        revision.notice_due_days = notice_due_days
    step.status = "approved"
    step.actor_id = user.id
    step.actor = user
    step.acted_at = now or now_utc()
    _event(session, revision, user, "approve", meaning=step.meaning, comment=comment.strip(), at=now)
    audit.record(session, user, "revision.approve", "revision", revision.id, meaning=step.meaning)
    if revision.current_step is None:
        publish(session, revision, user, now=now)
        return True
    return False


def return_revision(session: Session, user: User, revision: Revision, comment: str,
                    now: datetime | None = None) -> None:
    """差戻し: back to draft with a required comment; the route starts again on resubmission."""
    _require_state(revision, IN_REVIEW, doing="差戻し")
    require(user, "revision.approve", revision)
    if not comment.strip():
        raise ValidationError("差戻しの理由（コメント）を入力してください。")
    step = revision.current_step
    assert step is not None
    _event(session, revision, user, "return", meaning=step.meaning, comment=comment.strip(), at=now)
    revision.steps = []
    revision.state = DRAFT
    audit.record(session, user, "revision.return", "revision", revision.id)


def withdraw(session: Session, user: User, revision: Revision, comment: str = "") -> None:
    require(user, "revision.edit", revision)
    _require_state(revision, DRAFT, CONSULTATION, IN_REVIEW, doing="取下げ")
    revision.steps = []
    revision.state = WITHDRAWN
    _event(session, revision, user, "withdraw", comment=comment.strip())
    if revision.kind == NEW:
        revision.manual.status = UNPUBLISHED
    audit.record(session, user, "revision.withdraw", "revision", revision.id)


# --- publishing ------------------------------------------------------------------------------


class PublishConflict(Conflict):
    pass


def commit_message(revision: Revision, number: int) -> str:
    reason = revision.reason.strip() or "（改正理由なし）"
    lines = [reason]
    if revision.summary.strip():
        lines += ["", revision.summary.strip()]
    trailers = [("Manual", revision.manual.slug), ("Revision", str(number)), ("Revision-Id", str(revision.id))]
    trailers += [("Approved-by", f"{s.actor.name} <{s.actor.login}>") for s in revision.steps if s.actor]
    return "\n".join(lines) + "\n\n" + trailer_block(trailers) + "\n"


def _previous_number(gs: GitStore, main: str | None, path: str) -> int:
    if main is None:
        return 0
    shas = gs.log(main, path=path, limit=1)
    if not shas:
        return 0
    found = gs.commit_info(shas[0]).trailers.get("Revision", ["0"])
    return int(found[-1])


def publish(session: Session, revision: Revision, actor: User, *, now: datetime | None = None) -> ManualVersion:
    """Merge the draft into main as one commit, then record it in the DB, then tell listeners.

    Idempotent: if a commit for this revision is already on main (a crash after the git step),
    it is used instead of writing another. A real conflict with a change published meanwhile
    sends the draft back to its author with both sides; nothing is published.
    """
    gs = store()
    manual = revision.manual
    path = manual.path
    when = to_jst(now or now_utc())
    sha = gs.find_by_trailers({"Manual": manual.slug, "Revision-Id": str(revision.id)})
    for _attempt in range(20):
        if sha:
            break
        main = gs.ref(MAIN)
        theirs = current_text(revision)
        ours = gs.read(main, path)
        base = base_text(revision)
        if ours == base:
            merged, conflicted = theirs, False
        elif base is None or ours is None:
            merged, conflicted = theirs, True
        else:
            merged, conflicted = gs.merge_text(base, ours, theirs, ("現行（他の改正で公布済み）", "起案時の版", "この改正案"))
        if conflicted:
            _conflict(session, revision, actor, merged, main, ours or "", when)
            raise PublishConflict(
                "この改正案の起案後に、同じ箇所を変更する別の改正が公布されたため、公布できませんでした。"
                "改正案は起案者に戻りました。起案者は両方の内容を確認して競合を解消し、改めて決裁に回してください。"
            )
        number = _previous_number(gs, main, path) + 1
        new = gs.write_commit(main, {path: merged}, commit_message(revision, number), person(revision.drafter), when)
        try:
            gs.update_ref(MAIN, new, main, reason=f"publish {manual.slug} {number}")
        except RefMoved:
            continue  # someone else published meanwhile: merge again on top of theirs
        sha = new
        faults.point("publish.after_git")
    else:
        raise Conflict("公布が混み合っています。しばらくしてから再度承認してください。")
    version = _record_published(session, revision, sha, when)
    session.commit()
    faults.point("publish.after_db")
    signals.revision_published.send(
        current_app._get_current_object(), revision_id=revision.id, manual_id=manual.id, number=version.number,
        kind=revision.kind,
    )
    return version


def _conflict(session: Session, revision: Revision, actor: User, merged: str, main: str | None, ours: str,
              when: datetime) -> None:
    """Back to the drafter: the draft now holds the merge with markers, based on main."""
    gs = store()
    parent = revision.head_commit or None
    sha = gs.write_commit(parent, {revision.manual.path: merged},
                          f"公布時の競合（改正案 #{revision.id}）\n\nDraft: {revision.id}", person(actor), when)
    gs.update_ref(revision.ref, sha, parent)
    revision.head_commit = sha
    revision.base_commit = main
    revision.conflict_text = ours
    revision.steps = []
    revision.state = DRAFT
    _event(session, revision, actor, "conflict", comment="他の改正と同じ箇所が変更されていました。競合を解消してください。",
           commit_sha=sha)
    audit.record(session, actor, "revision.conflict", "revision", revision.id)
    session.commit()


def _record_published(session: Session, revision: Revision, sha: str, when: datetime) -> ManualVersion:
    gs = store()
    manual = revision.manual
    info = gs.commit_info(sha)
    number = int(info.trailers["Revision"][-1])
    text = gs.read(sha, manual.path) or ""
    doc = parse(text)
    version = ManualVersion(
        manual_id=manual.id, number=number, commit_sha=sha, blob_sha=gs.blob_id(sha, manual.path) or "",
        title=doc.title, effective_date=doc.effective if revision.kind != ABOLISH else doc.obsolete,
        kind=revision.kind, reason=revision.reason, summary=revision.summary, drafter_id=revision.drafter_id,
        drafter_name=revision.drafter.name, revision_id=revision.id, published_at=when,
    )
    session.add(version)
    revision.state = PUBLISHED
    revision.number = number
    revision.published_commit = sha
    revision.published_at = when
    revision.conflict_text = None
    manual.title = doc.title
    manual.review_months = doc.review_months
    _set_lists(manual, doc.targets, doc.tags)
    manual.current_version = number
    manual.current_commit = sha
    manual.effective_date = doc.effective
    manual.last_published_at = when
    manual.last_reviewed_at = when  # publishing a revision counts as a review
    manual.status = OBSOLETE if doc.obsolete else ACTIVE
    _event(session, revision, None, "publish", comment=f"第{number}版として公布", commit_sha=sha, at=when)
    audit.record(session, None, "revision.publish", "revision", revision.id, manual=manual.slug, number=number,
                 commit=sha)
    session.flush()
    return version


# --- lists -----------------------------------------------------------------------------------


def workspace(session: Session, user: User) -> dict[str, list[Revision]]:
    """What the 起案・決裁 page shows this user."""
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
        from app.org.permissions import can

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
