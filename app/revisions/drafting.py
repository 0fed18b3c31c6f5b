"""Drafting: a new manual (制定), a revision (改正) or an abolition (廃止) of a published one, and
saving the editor — one commit on the draft's own ref per save, compare-and-swapped in git and in
the database so a stale form never overwrites someone else's save."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import audit
from app.documents import attachments
from app.errors import Conflict, ValidationError
from app.gitstore import RefMoved, store
from app.guard import changed
from app.manuals.document import SLUG_RE, ManualDoc, parse
from app.manuals.models import UNPUBLISHED, Manual
from app.org import structure
from app.org.models import User
from app.org.permissions import require
from app.revisions import questions
from app.revisions.base import (
    CONFLICT_MARK,
    current_text,
    effective_problems,
    person,
    record_event,
    require_state,
    text_or_none,
)
from app.revisions.merge import resolve_body
from app.revisions.models import (
    ABOLISH,
    DRAFT,
    EDITABLE_STATES,
    NEW,
    OPEN_STATES,
    REVISE,
    Revision,
    WorkflowEvent,
)
from app.wareki import now_utc, to_jst, today_jst, wareki

MAX_BODY = 500_000  # characters; a manual of 50 pages is ~100,000


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
    # Significance, audience and 理解度確認 questions (None: leave them as they are).
    understanding: questions.Understanding | None = None


def validate_fields(f: DraftFields) -> list[str]:
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
    problems = validate_fields(fields)
    if fields.understanding is not None:
        problems += questions.problems(fields.understanding, fields.body)
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug):
        problems.append("識別名（URL）は半角英小文字・数字・ハイフンで2〜80文字にしてください（例: kokuho-shikaku）。")
    elif session.scalar(select(Manual.id).where(Manual.slug == slug)) is not None:
        problems.append(f"識別名「{slug}」は既に使われています。")
    if problems:
        raise ValidationError("マニュアルを作成できません。", details=problems)
    manual = Manual(slug=slug, title=fields.title.strip(), owner_unit=user.unit, manager=user,
                    status=UNPUBLISHED, review_months=fields.review_months)
    manual.set_lists(fields.targets, fields.tags)
    session.add(manual)
    session.flush()
    revision = Revision(manual=manual, kind=NEW, state=DRAFT, drafter=user, base_commit=None,
                        head_commit="", reason=fields.reason, summary=fields.summary,
                        effective_date=fields.effective)
    session.add(revision)
    session.flush()
    if fields.understanding is not None:
        questions.apply(session, revision, fields.understanding, fields.body)
    record_event(session, revision, user, "create", at=now)
    _commit_draft(session, user, revision, _doc(manual, fields).dump(), expected_head="", now=now)
    audit.record(session, user, "manual.create", "manual", manual.id, slug=slug, title=manual.title)
    return revision


def open_drafts(session: Session, manual: Manual, *, exclude: int | None = None) -> list[Revision]:
    """The manual's revisions not yet published or withdrawn (shown beside each other)."""
    stmt = select(Revision).where(Revision.manual_id == manual.id, Revision.state.in_(OPEN_STATES))
    if exclude is not None:
        stmt = stmt.where(Revision.id != exclude)
    return list(session.scalars(stmt.order_by(Revision.id)))


def open_revision(session: Session, user: User, manual: Manual, *, kind: str = REVISE,
                  now: datetime | None = None) -> Revision:
    """Start a revision (改正) or an abolition (廃止) of a published manual from its current text."""
    require(user, "manual.edit", manual)
    if not manual.is_published:
        raise Conflict("まだ公布されていないマニュアルです。制定の改正案を先に決裁してください。")
    if manual.is_obsolete:
        raise Conflict("廃止されたマニュアルは改正できません。")
    if kind == ABOLISH:
        pending = [r.id for r in open_drafts(session, manual) if r.kind == ABOLISH]
        if pending:
            raise Conflict("このマニュアルには既に進行中の廃止案があります。", details=[f"改正案 #{pending[0]}"])
    revision = Revision(manual=manual, kind=kind, state=DRAFT, drafter=user, base_commit=manual.current_commit,
                        head_commit=manual.current_commit or "", reason="", summary="")
    session.add(revision)
    session.flush()
    store().update_ref(revision.ref, manual.current_commit or "", None, reason=f"draft {revision.id}")
    record_event(session, revision, user, "create", at=now)
    if kind == ABOLISH:
        doc = parse(current_text(revision))
        doc.obsolete = today_jst()
        revision.effective_date = doc.obsolete
        _commit_draft(session, user, revision, doc.dump(), expected_head=revision.head_commit, now=now)
    audit.record(session, user, "revision.create", "revision", revision.id, manual=manual.slug, kind=kind)
    return revision


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
    require_state(revision, *EDITABLE_STATES, doing="編集")
    problems = validate_fields(fields) + effective_problems(session, revision, fields.effective)
    if fields.understanding is not None:
        problems += questions.problems(fields.understanding, fields.body)
    if problems:
        raise ValidationError("保存できません。", details=problems)
    understood = fields.understanding is not None and questions.apply(session, revision, fields.understanding, fields.body)
    manual = revision.manual
    obsolete = revision.effective_date if revision.kind == ABOLISH else None
    text = _doc(manual, fields, obsolete=obsolete).dump()
    revision.reason, revision.summary = fields.reason.strip(), fields.summary.strip()
    if revision.kind != ABOLISH:
        revision.effective_date = fields.effective
    if revision.head_commit != expected_head:
        raise _stale(session, revision)
    if revision.state == DRAFT and revision.conflict_text is None and text == text_or_none(revision):
        revision.updated_at = now or now_utc()
        return understood
    _commit_draft(session, user, revision, text, expected_head=expected_head, now=now)
    if revision.conflict_text is not None and CONFLICT_MARK not in text:
        revision.conflict_text = None  # resolved
    if revision.kind == NEW:  # an unpublished manual's registry follows its draft
        manual.title = fields.title.strip()
        manual.review_months = fields.review_months
        manual.set_lists(fields.targets, fields.tags)
    return True


def _stale(session: Session, revision: Revision) -> StaleDraft:
    last = session.scalar(select(WorkflowEvent).where(
        WorkflowEvent.revision_id == revision.id, WorkflowEvent.action.in_(("save", "create")))
        .order_by(WorkflowEvent.id.desc()).limit(1))
    return StaleDraft(text_or_none(revision) or "", last.actor_name if last else "", last.at if last else None)


def _commit_draft(session: Session, user: User, revision: Revision, text: str, *, expected_head: str,
                  now: datetime | None = None) -> str:
    return commit_files(session, user, revision, {revision.manual.path: text}, expected_head=expected_head, now=now)


def commit_files(session: Session, user: User, revision: Revision, files: dict[str, str | bytes | None], *,
                 expected_head: str, what: str = "下書き保存", comment: str = "", now: datetime | None = None) -> str:
    """One commit on the draft's ref holding `files` (the text, and the draft's attachments:
    app/documents/attaching.py), compare-and-swapped in git and in the database."""
    when = to_jst(now or now_utc())
    parent = revision.head_commit or None
    gs = store()
    sha = gs.write_commit(parent, files, f"{what}（改正案 #{revision.id}）\n\nDraft: {revision.id}", person(user), when)
    # Compare-and-swap in the DB as well as in git: two saves from the same old head cannot both win.
    moved = changed(session,
        update(Revision).where(Revision.id == revision.id, Revision.head_commit == expected_head)
        .values(head_commit=sha, updated_at=when).execution_options(synchronize_session=False)
    )
    if moved != 1:
        session.refresh(revision)
        raise _stale(session, revision)
    try:
        gs.update_ref(revision.ref, sha, parent, reason=f"draft {revision.id}")
    except RefMoved:
        # The database row moved with this unit of work, which the caller rolls back on this error.
        raise _stale(session, revision) from None
    revision.head_commit = sha
    revision.updated_at = when
    record_event(session, revision, user, "save", comment=comment, commit_sha=sha, at=now)
    return sha


# --- 施行日 --------------------------------------------------------------------------------------


def effective_warnings(revision: Revision, today: date | None = None) -> list[str]:
    """What the drafter should know about the 施行日 (not an error)."""
    today = today or today_jst()
    if revision.effective_date is not None and revision.effective_date < today:
        return [f"施行日（{wareki(revision.effective_date)}）が本日より前です（遡及適用）。"
                "最終の決裁で、遡及して適用することの確認が必要になります。"]
    return []


# --- resolving a conflict with a version published meanwhile ------------------------------------


@dataclass
class Conflicts:
    """What the resolution page shows: each field changed differently on both sides, and each
    passage of the body changed differently on both sides."""

    main_commit: str | None
    merged: dict[str, object]
    fields: list[dict[str, object]]
    hunks: list[dict[str, str]]
    marked_body: str


def conflicts_of(revision: Revision) -> Conflicts | None:
    if not revision.conflict_data:
        return None
    data = json.loads(revision.conflict_data)
    return Conflicts(data.get("main_commit"), data.get("merged", {}), data.get("fields", []), data.get("hunks", []),
                     data.get("marked_body", ""))


def resolve_conflict(session: Session, user: User, revision: Revision, *, fields: dict[str, str],
                     passages: list[tuple[str, str]], expected_head: str, now: datetime | None = None) -> None:
    """The drafter's choices: per field 現行を採用 (main) / 改正案を採用 (draft); per passage main,
    draft or edit (with the text). The draft then holds the resolved text on top of main."""
    require(user, "revision.edit", revision)
    require_state(revision, *EDITABLE_STATES, doing="競合の解消")
    found = conflicts_of(revision)
    if found is None:
        raise Conflict("この改正案に解消する競合はありません（すでに解消されています）。")
    problems = []
    doc = parse(current_text(revision))
    for name, value in found.merged.items():
        setattr(doc, name, value)
    for f in found.fields:
        choice = fields.get(str(f["name"]))
        if choice not in ("main", "draft"):
            problems.append(f"「{f['label']}」で、現行と改正案のどちらを採用するか選んでください。")
            continue
        setattr(doc, str(f["name"]), f[choice])
    texts = []
    for i, hunk in enumerate(found.hunks):
        choice, edited = passages[i] if i < len(passages) else ("", "")
        if choice == "main":
            texts.append(hunk["main"])
        elif choice == "draft":
            texts.append(hunk["draft"])
        elif choice == "edit" and edited.strip():
            texts.append(edited.replace("\r\n", "\n"))
        else:
            problems.append(f"本文の競合{i + 1}で、現行・改正案・編集のいずれかを選んでください（編集は内容を入力）。")
    if problems:
        raise ValidationError("競合を解消できません。", details=problems)
    doc.body = resolve_body(found.marked_body, texts) if found.hunks else doc.body
    if CONFLICT_MARK in doc.body:
        raise ValidationError("本文に競合の印（<<<<<<<）が残っています。編集した内容から印を取り除いてください。")
    if revision.head_commit != expected_head:
        raise _stale(session, revision)
    # The draft now starts from main: main's changes to files the draft left alone come along.
    files: dict[str, str | bytes | None] = {revision.manual.path: doc.dump()}
    files.update(attachments.rebase(revision.manual.slug, revision.base_commit, found.main_commit,
                                    revision.head_commit))
    commit_files(session, user, revision, files, expected_head=expected_head, now=now)
    revision.base_commit = found.main_commit
    revision.conflict_text = None
    revision.conflict_data = None
    record_event(session, revision, user, "resolve", comment="公布済みの改正との競合を解消しました。", at=now)
    audit.record(session, user, "revision.resolve", "revision", revision.id)
