"""Publishing a decided revision: one commit on main and one version in the database, exactly once.

The order (DESIGN.md, "Transactions, events, exactly once"):
1. The merge onto the current main is tried. A conflict goes back to the drafter's resolution page
   and no approval is recorded.
2. One transaction records the final approval (a guarded write: of two 課長 pressing 決裁 at once
   one wins), the revision as 公布処理中 and the publication intent — committed before main moves.
3. main is moved by compare-and-swap (`gitstore.commit_onto`); a retry finds its own commit by its
   exact `Revision-Id` trailer among the commits after the intent, so it never writes a second one.
   The version number is the manual's last one on main + 1, so numbers are gap-free and unique.
4. The version is recorded (the registry only ever moves forward), the revision published and the
   reactions (index, notices, ruling flags) emitted; the caller's unit of work commits that.
A crash between 3 and 4 leaves the intent pending: `flask events run` and `doctor --repair`
complete it the same way.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import audit, events, faults, guard
from app.documents import attachments
from app.errors import Conflict, ValidationError
from app.gitstore import MAIN, Candidate, GitStore, commit_onto, parse_trailers, store, trailer_block
from app.guard import changed
from app.manuals.document import parse
from app.manuals.models import ACTIVE, OBSOLETE, Manual, ManualVersion
from app.org.models import User
from app.revisions import merge as merging
from app.revisions.base import base_text, current_text, person, record_event, record_step, state_refusal
from app.revisions.models import (
    ABOLISH,
    DRAFT,
    IN_REVIEW,
    PUBLISHED,
    PUBLISHING,
    ApprovalStep,
    Publication,
    Revision,
    WorkflowEvent,
)
from app.wareki import now_utc, to_jst, wareki

log = logging.getLogger(__name__)
PUBLISHED_TOPIC = "manual.published"


@dataclass
class Approval:
    """What an approval led to: the next step, a publication, or a conflict sent back to the drafter."""

    published: ManualVersion | None = None
    conflict: bool = False
    final: bool = False


def commit_message(revision: Revision, number: int) -> str:
    reason = revision.reason.strip() or "（改正理由なし）"
    lines = [reason]
    if revision.summary.strip():
        lines += ["", revision.summary.strip()]
    trailers = [("Manual", revision.manual.slug), ("Revision", str(number)), ("Revision-Id", str(revision.id))]
    trailers += [("Approved-by", f"{s.actor.name} <{s.actor.login}>") for s in revision.steps if s.actor]
    return "\n".join(lines) + "\n\n" + trailer_block(trailers) + "\n"


def last_number(gs: GitStore, tip: str | None, manual: Manual) -> int:
    """The manual's newest version number on `tip` (its exact `Revision:` trailer)."""
    if tip is None:
        return 0
    # A version that changed only its 様式 touches the folder, not the text: both are looked at.
    numbers = [0]
    for path in (manual.path, attachments.folder(manual.slug) + "/"):
        shas = gs.log(tip, path=path, limit=1)
        if shas:
            numbers.append(int(gs.commit_info(shas[0]).trailers.get("Revision", ["0"])[-1]))
    return max(numbers)


def _merge(gs: GitStore, revision: Revision, tip: str | None) -> merging.Merged:
    return merging.merge(gs, base_text(revision), gs.read(tip, revision.manual.path), current_text(revision))


def publish(session: Session, revision: Revision, approver: User, step: ApprovalStep, *, comment: str = "",
            now: datetime | None = None, notice_due_days: int | None = None, retroactive: bool = False) -> Approval:
    """The final 決裁: steps 1–4 above. Commits the decision (step 2) itself, before main moves."""
    day = to_jst(now or now_utc()).date()
    if revision.effective_date is not None and revision.effective_date < day:
        if not retroactive:
            raise ValidationError(
                f"施行日（{wareki(revision.effective_date)}）が公布日（{wareki(day)}）より前です（遡及適用）。"
                "遡及して適用してよい場合は「遡及適用を確認しました」にチェックして決裁してください。")
        comment = (comment + "\n" if comment else "") + f"遡及適用を確認（施行日 {wareki(revision.effective_date)}、公布日 {wareki(day)}）"
    gs = store()
    tip = gs.ref(MAIN)
    clashing = attachments.clashes(revision.manual.slug, revision.base_commit, tip, revision.head_commit)
    if clashing:  # refused before anything is recorded: the drafter renames, then it is decided
        raise ValidationError(
            "この改正案の添付ファイルと同じ名前のファイルが、起案後に公布された別の改正で登録・変更されています。"
            "決裁すると、そちらのファイルを置き換えてしまいます。差し戻して、起案者が別の名前で登録し直してください。",
            details=[f"files/{n}" for n in clashing])
    merged = _merge(gs, revision, tip)
    if not merged.clean:
        send_back(session, revision, approver, merged, tip, now)
        return Approval(conflict=True, final=True)
    record_step(session, revision, step, approver, comment, now)
    values: dict[str, object] = {"state": PUBLISHING, "updated_at": now or now_utc(),
                                 "retroactive": revision.effective_date is not None and revision.effective_date < day}
    if notice_due_days is not None:
        values["notice_due_days"] = notice_due_days
    guard.transition(session, revision, Revision.state == IN_REVIEW, lambda r: state_refusal(r, "決裁"), **values)
    # The commit object is written before anything is decided, so a full disk or a read-only
    # repository refuses the approval with nothing changed.
    candidate = _candidate(gs, revision, tip, merged, now)
    sha = gs.write_commit(tip, candidate.files, candidate.message, candidate.author, candidate.when)
    publication = Publication(revision_id=revision.id, manual_id=revision.manual_id, since=tip, parent=tip,
                              commit_sha=sha, number=_number_of(gs, sha), status="pending")
    session.add(publication)
    # The decision and the intent are durable before main moves (the point of no return).
    session.commit()
    version = complete(session, publication, when=now, prepared=(tip, sha))
    return Approval(published=version, final=True)


def _candidate(gs: GitStore, revision: Revision, tip: str | None, merged: merging.Merged,
               when: datetime | None) -> Candidate:
    assert merged.doc is not None
    number = last_number(gs, tip, revision.manual) + 1
    # The draft's attachments go in the same commit as its text (only what the draft changed).
    files: dict[str, str | bytes | None] = {revision.manual.path: merged.doc.dump()}
    files.update(attachments.delta(revision.manual.slug, revision.base_commit, revision.head_commit))
    return Candidate(files, commit_message(revision, number), person(revision.drafter), to_jst(when or now_utc()))


def _number_of(gs: GitStore, sha: str) -> int:
    return int(parse_trailers(gs.commit_info(sha).message)["Revision"][-1])


def complete(session: Session, publication: Publication, *, when: datetime | None = None,
             prepared: tuple[str | None, str] | None = None) -> ManualVersion | None:
    """Steps 3–4 for a recorded intent (the approver's request, or a repair). None when the draft
    conflicted with a change published after the decision and went back to the drafter."""
    revision = session.get(Revision, publication.revision_id)
    assert revision is not None
    if publication.status == "done":
        return session.scalar(select(ManualVersion).where(ManualVersion.revision_id == revision.id))
    gs = store()
    late: list[tuple[str | None, merging.Merged]] = []

    def build(tip: str | None) -> Candidate:
        merged = _merge(gs, revision, tip)
        if not merged.clean:
            late.append((tip, merged))
            raise _LateConflict
        return _candidate(gs, revision, tip, merged, when)

    def before_move(tip: str | None, sha: str) -> None:
        publication.parent, publication.commit_sha, publication.number = tip, sha, _number_of(gs, sha)
        session.commit()

    if prepared is None and publication.commit_sha and gs.ref(MAIN) and gs.is_ancestor(publication.commit_sha,
                                                                                     gs.ref(MAIN) or ""):
        landed_sha = publication.commit_sha  # it landed before the crash
    else:
        try:
            landed_sha = commit_onto(gs, key=("Revision-Id", str(revision.id)), since=publication.since, build=build,
                                     before_move=before_move, prepared=prepared).sha
            faults.point("publish.after_git")
        except _LateConflict:
            tip, merged = late[-1]
            session.delete(publication)
            send_back(session, revision, None, merged, tip, when)
            return None
    return record(session, revision, landed_sha, published_at=to_jst(when or now_utc()) if prepared else None)


class _LateConflict(Exception):
    pass


def record(session: Session, revision: Revision, sha: str, *, published_at: datetime | None = None,
           repair: bool = False) -> ManualVersion:
    """Record the commit `sha` on main as the revision's version (idempotent and monotonic)."""
    existing = session.scalar(select(ManualVersion).where(ManualVersion.revision_id == revision.id))
    if existing is not None:
        _finish_intent(session, revision)
        return existing
    gs = store()
    manual = revision.manual
    info = gs.commit_info(sha)
    number = int(info.trailers["Revision"][-1])
    when = published_at or info.authored_at
    doc = parse(gs.read(sha, manual.path) or "")
    if repair:
        _restore_route(session, revision, info.trailers.get("Approved-by", []), when)
    guard.transition(session, revision, Revision.state.in_((PUBLISHING, IN_REVIEW)),
                     lambda r: state_refusal(r, "公布"), state=PUBLISHED, number=number, published_commit=sha,
                     published_at=when, conflict_text=None, updated_at=when)
    version = ManualVersion(
        manual_id=manual.id, number=number, commit_sha=sha, blob_sha=gs.blob_id(sha, manual.path) or "",
        title=doc.title, effective_date=doc.effective if revision.kind != ABOLISH else doc.obsolete,
        kind=revision.kind, reason=revision.reason, summary=revision.summary, drafter_id=revision.drafter_id,
        drafter_name=revision.drafter.name, revision_id=revision.id, published_at=when,
    )
    session.add(version)
    _advance_registry(session, manual, number, sha, doc, when)
    _finish_intent(session, revision)
    record_event(session, revision, None, "publish", comment=f"第{number}版として公布", commit_sha=sha, at=when)
    audit.record(session, None, "revision.publish", "revision", revision.id, manual=manual.slug, number=number,
                 commit=sha)
    events.emit(session, PUBLISHED_TOPIC, revision_id=revision.id, manual_id=manual.id, number=number)
    session.flush()
    return version


def _advance_registry(session: Session, manual: Manual, number: int, sha: str, doc, when: datetime) -> None:  # type: ignore[no-untyped-def]
    """The registry caches the newest published version: an older one recorded late (a repair)
    never moves it backwards."""
    moved = changed(session,
        update(Manual).where(Manual.id == manual.id, Manual.current_version < number)
        .values(current_version=number, current_commit=sha, title=doc.title, review_months=doc.review_months,
                effective_date=doc.effective, last_published_at=when, last_reviewed_at=when,
                status=OBSOLETE if doc.obsolete else ACTIVE)
        .execution_options(synchronize_session=False))
    session.refresh(manual)
    if moved:
        manual.set_lists(doc.targets, doc.tags)


def _finish_intent(session: Session, revision: Revision) -> None:
    session.execute(update(Publication).where(Publication.revision_id == revision.id, Publication.status == "pending")
                    .values(status="done", done_at=now_utc()).execution_options(synchronize_session=False))


def _restore_route(session: Session, revision: Revision, approved_by: list[str], when: datetime) -> None:
    """A repair of a commit whose approvals the database lost: the route is rebuilt from the
    commit's Approved-by trailers (name <login>) so the 決裁 record is whole again."""
    steps = sorted(revision.steps, key=lambda s: s.order)
    if steps and all(s.status == "approved" for s in steps):
        return
    logins = [a.rsplit("<", 1)[-1].rstrip(">").strip() for a in approved_by]
    users = {u.login: u for u in session.scalars(select(User).where(User.login.in_(logins)))}
    recorded = {e.actor_id for e in session.scalars(select(WorkflowEvent).where(
        WorkflowEvent.revision_id == revision.id, WorkflowEvent.action == "approve"))}
    for step, login in zip(steps, logins, strict=False):
        user = users.get(login)
        if step.status != "approved" and user is not None:
            step.status, step.actor_id, step.acted_at = "approved", user.id, when
            if user.id not in recorded:
                record_event(session, revision, user, "approve", meaning=step.meaning,
                             comment="（公布記録の修復: コミットの承認者から復元）", at=when)


def send_back(session: Session, revision: Revision, actor: User | None, merged: merging.Merged, tip: str | None,
              now: datetime | None) -> None:
    """A conflict with a change published meanwhile: back to the drafter, whose draft stays as it
    was (no markers anywhere); the resolution page shows both sides of each conflict."""
    main_text = store().read(tip, revision.manual.path) or ""
    doc = merged.doc
    data = {
        "main_commit": tip,
        "merged": {name: getattr(doc, name) for name in merging.MERGED_FIELDS} if doc else {},
        "fields": [{"name": f.name, "label": f.label, "main": f.main, "draft": f.draft} for f in merged.fields],
        "marked_body": merged.marked_body,
        "hunks": [{"main": h.main, "draft": h.draft} for h in merged.hunks],
    }
    guard.transition(session, revision, Revision.state.in_((IN_REVIEW, PUBLISHING)),
                     lambda r: state_refusal(r, "決裁"), state=DRAFT, conflict_text=main_text,
                     conflict_data=json.dumps(data, ensure_ascii=False, default=str), updated_at=now or now_utc())
    revision.steps = []
    record_event(session, revision, actor, "conflict", at=now,
                 comment="起案後に同じマニュアルの別の改正が公布され、同じ箇所が変更されていました。競合を解消してください。")
    audit.record(session, actor, "revision.conflict", "revision", revision.id)


def pending(session: Session, *, older_than: timedelta = timedelta(minutes=2)) -> list[Publication]:
    """Intents not completed a while after they were recorded (a crash, or still in flight)."""
    return list(session.scalars(select(Publication).where(
        Publication.status == "pending", Publication.created_at < now_utc() - older_than).order_by(Publication.id)))


def complete_pending(session: Session, *, older_than: timedelta = timedelta(minutes=2)) -> list[str]:
    """Complete every pending intent (the `events run` timer and `doctor --repair`)."""
    done = []
    for publication in pending(session, older_than=older_than):
        try:
            version = complete(session, publication)
            session.commit()
        except Conflict as err:  # completed by another process meanwhile
            session.rollback()
            log.info("publication %s: %s", publication.id, err.message)
            continue
        revision = session.get(Revision, publication.revision_id)
        done.append(f"改正案 #{publication.revision_id}（{revision.manual.title if revision else ''}）: "
                    + (f"第{version.number}版として公布を完了" if version else "競合のため起案者に差し戻し"))
    return done
