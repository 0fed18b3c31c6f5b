"""Consistency check between the sources of truth (git for content, the database for the rest)
and what is derived from them (the search index, notices, mail, ruling flags).

Publishing records its intent before main moves and the version after; a crash in between leaves a
pending publication that `--repair` completes exactly as the approver's request would have. What
must follow a publication is an event reaction: the backlog of each consumer is reported and run.
Every finding `--repair` cannot fix says what to do; the command never crashes on one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app import events
from app.documents import attachments
from app.errors import TebikiError
from app.gitstore import MAIN, store
from app.manuals.models import Manual, ManualVersion
from app.notices import delivery
from app.notices.models import FAILED, QUEUED, SENDING, MailOutbox, Notice
from app.revisions import publishing
from app.revisions.models import OPEN_STATES, PUBLISHED, PUBLISHING, Publication, Revision
from app.rulings.models import Inquiry
from app.search import services as search
from app.wareki import now_utc

log = logging.getLogger(__name__)


@dataclass
class Finding:
    kind: str
    message: str
    repairable: bool
    repaired: bool = False


def check(session: Session, *, repair: bool = False) -> list[Finding]:
    findings: list[Finding] = []
    for part in (_check_publications, _check_main, _check_registry, _check_drafts, _check_events, _check_notices,
                 _check_index, _check_outbox, _check_repository, _check_attachments):
        try:
            findings += part(session, repair)
        except TebikiError as err:  # one broken part must not hide the others
            session.rollback()
            findings.append(Finding("check_failed", f"{part.__name__}: {err.message}", repairable=False))
    return findings


def _check_publications(session: Session, repair: bool) -> list[Finding]:
    """Decided revisions whose commit onto main or whose record did not finish (a crash)."""
    out = []
    for pub in publishing.pending(session, older_than=timedelta(0) if repair else timedelta(minutes=2)):
        revision = session.get(Revision, pub.revision_id)
        f = Finding("publication_pending", f"改正案 #{pub.revision_id}（{revision.manual.title if revision else '?'}）は"
                    "決裁済みですが、公布が完了していません。", repairable=True)
        if repair:
            try:
                publishing.complete(session, pub)
                session.commit()
                f.repaired = True
            except TebikiError as err:
                session.rollback()
                f.message += f" 修復できませんでした: {err.message}"
                f.repairable = False
        out.append(f)
    pending_ids = set(session.scalars(select(Publication.revision_id).where(Publication.status == "pending")))
    for revision in session.scalars(select(Revision).where(Revision.state == PUBLISHING)):
        if revision.id not in pending_ids:
            out.append(Finding("publishing_without_intent", f"改正案 #{revision.id} は公布処理中ですが、公布の記録が"
                               "ありません。管理者が状態を確認してください（決裁をやり直すには差戻しが必要です）。",
                               repairable=False))
    return out


def _check_main(session: Session, repair: bool) -> list[Finding]:
    """Every commit on main is a recorded version (once), and every recorded version is on main."""
    gs = store()
    out: list[Finding] = []
    known = {v.commit_sha: v for v in session.scalars(select(ManualVersion))}
    on_main: set[str] = set()
    by_revision = {v.revision_id: v for v in known.values() if v.revision_id}
    for sha in reversed(gs.log(MAIN)):
        on_main.add(sha)
        if sha in known:
            continue
        info = gs.commit_info(sha)
        slug = (info.trailers.get("Manual") or [""])[-1]
        rid = (info.trailers.get("Revision-Id") or [""])[-1]
        revision = session.get(Revision, int(rid)) if rid.isdigit() else None
        if revision is not None and revision.id in by_revision:
            out.append(Finding(
                "duplicate_commit", f"main のコミット {sha[:10]}（{slug}）は改正案 #{rid} の2つ目の公布コミットです"
                f"（第{by_revision[revision.id].number}版として記録済み）。main は書き換えないため自動では修復しません。"
                "内容を確認し、必要なら次の改正で正してください。", repairable=False))
            continue
        f = Finding("unrecorded_commit", f"main のコミット {sha[:10]}（{slug}）がDBに記録されていません。",
                    repairable=revision is not None)
        if revision is None:
            f.message += " 改正案が特定できないため、バックアップからの復元か手作業での登録が必要です。"
        elif repair:
            try:
                by_revision[revision.id] = publishing.record(session, revision, sha, repair=True)
                session.commit()
                f.repaired = True
            except TebikiError as err:
                session.rollback()
                f.message += f" 修復できませんでした: {err.message}"
                f.repairable = False
        out.append(f)
    slugs = {m.id: m.slug for m in session.scalars(select(Manual))}
    for sha, version in known.items():
        if sha not in on_main:
            out.append(Finding("missing_commit", f"DBの版（{slugs.get(version.manual_id)} 第{version.number}版）の"
                               f"コミット {sha[:10]} が main にありません。リポジトリをバックアップから戻してください。",
                               repairable=False))
            continue
        trailers = gs.commit_info(sha).trailers
        if (trailers.get("Manual", [""])[-1] != slugs.get(version.manual_id)
                or trailers.get("Revision", [""])[-1] != str(version.number)):
            out.append(Finding("trailer_mismatch", f"コミット {sha[:10]} のトレーラー（Manual/Revision）がDBの版"
                               f"（{slugs.get(version.manual_id)} 第{version.number}版）と一致しません。", repairable=False))
    for revision in session.scalars(select(Revision).where(Revision.state == PUBLISHED,
                                                           Revision.published_commit.is_(None))):
        out.append(Finding("published_without_commit", f"改正案 #{revision.id} は公布済ですがコミットがありません。",
                           repairable=False))
    return out


def _check_registry(session: Session, repair: bool) -> list[Finding]:
    """The registry caches each manual's newest version (and moves only forward)."""
    out = []
    latest = dict(session.execute(select(ManualVersion.manual_id, func.max(ManualVersion.number))
                                  .group_by(ManualVersion.manual_id)).all())
    for manual in session.scalars(select(Manual).where(Manual.id.in_(latest))):
        number = latest[manual.id]
        version = session.scalar(select(ManualVersion).where(ManualVersion.manual_id == manual.id,
                                                              ManualVersion.number == number))
        if version is None or (manual.current_version == number and manual.current_commit == version.commit_sha):
            continue
        f = Finding("stale_registry", f"「{manual.title}」の現行版の記録（第{manual.current_version}版）が最新の版"
                    f"（第{number}版）と一致しません。", repairable=True)
        if repair:
            manual.current_version, manual.current_commit = number, version.commit_sha
            session.commit()
            f.repaired = True
        out.append(f)
    return out


def _check_drafts(session: Session, repair: bool) -> list[Finding]:
    gs = store()
    out = []
    refs = gs.refs("refs/heads/drafts/")
    for revision in session.scalars(select(Revision).where(Revision.state.in_(OPEN_STATES))):
        if revision.head_commit and refs.get(revision.ref) != revision.head_commit:
            f = Finding("draft_ref", f"改正案 #{revision.id} の下書きの参照が保存内容と一致しません。", repairable=True)
            if repair:
                gs.update_ref(revision.ref, revision.head_commit, refs.get(revision.ref))
                f.repaired = True
            out.append(f)
    return out


def _check_events(session: Session, repair: bool) -> list[Finding]:
    """What must follow a change (index, notices, ruling flags) and has not run yet or keeps failing."""
    out = []
    # A reaction is run right after its commit; a repair takes every pending one (claims keep a
    # reaction from running twice), a check reports those left a little while.
    for b in events.backlog(session, older_than=timedelta(0) if repair else timedelta(seconds=30)):
        f = Finding("event_backlog", f"{b.topic} の処理「{b.consumer}」が{b.pending}件未完了です"
                    + (f"（失敗中 {b.failing}件、最後のエラー: {b.last_error[:200]}）" if b.failing else "") + "。",
                    repairable=True)
        out.append(f)
    if repair and out:
        events.release_dead_claims(session)
        session.commit()
        session.execute(update(events.Reaction).where(events.Reaction.status == events.PENDING)
                        .values(next_attempt_at=now_utc()).execution_options(synchronize_session=False))
        session.commit()
        result = events.run_due(limit=100_000)
        left = {b.consumer for b in events.backlog(session, older_than=timedelta(0))}
        for f in out:
            f.repaired = not any(f"「{c}」" in f.message for c in left)
        if result.failed:
            log.warning("%s reactions still failing", result.failed)
    return out


def _check_notices(session: Session, repair: bool) -> list[Finding]:
    """Every publication announced (legacy data, or a reaction lost with a restored database)."""
    out: list[Finding] = []
    announced = set(session.scalars(select(Notice.revision_id).where(Notice.revision_id.is_not(None))))
    waiting = {r.data.get("revision_id") for r in session.scalars(select(events.Reaction).where(
        events.Reaction.topic == publishing.PUBLISHED_TOPIC, events.Reaction.consumer == "notices"))}
    for revision in session.scalars(select(Revision).where(Revision.state == PUBLISHED)):
        if revision.id in announced or revision.id in waiting:
            continue
        f = Finding("notices_missing", f"改正案 #{revision.id}（{revision.manual.title} 第{revision.number}版）の"
                    "改正通知がありません。", repairable=True)
        if repair:
            delivery.announce_revision(session, revision.id, revision.number or 0)
            session.commit()
            f.repaired = True
        out.append(f)
    announced_rulings = set(session.scalars(select(Notice.ruling_id).where(Notice.ruling_id.is_not(None))))
    waiting_rulings = {i for r in session.scalars(select(events.Reaction).where(
        events.Reaction.topic == "ruling.published", events.Reaction.consumer == "notices"))
        for i in r.data.get("ruling_ids", [])}
    missing = list(session.scalars(select(Inquiry.id).where(
        Inquiry.number.is_not(None), Inquiry.imported.is_(False), Inquiry.id.not_in(announced_rulings))))
    missing = [i for i in missing if i not in waiting_rulings]
    if missing:
        f = Finding("notices_missing", f"判断事例{len(missing)}件の共有の通知がありません。", repairable=True)
        if repair:
            delivery.announce_rulings(session, missing)
            session.commit()
            f.repaired = True
        out.append(f)
    return out


def _check_index(session: Session, repair: bool) -> list[Finding]:
    """The search index holds exactly the current versions and the published rulings."""
    index = search.get_index()
    out: list[Finding] = []
    indexed = index.versions("manual")
    for manual in session.scalars(select(Manual).where(Manual.current_version > 0)):
        if indexed.pop(manual.slug, None) != (manual.current_commit or ""):
            f = Finding("index_manual", f"検索インデックスの「{manual.title}」が現行版と一致しません。", repairable=True)
            if repair:
                search.index_manual(session, manual)
                session.commit()
                f.repaired = True
            out.append(f)
    for slug in indexed:  # in the index but no longer published
        f = Finding("index_extra", f"検索インデックスに公布されていないマニュアル「{slug}」があります。", repairable=True)
        if repair:
            index.delete(f"manual:{slug}#")
            session.commit()
            f.repaired = True
        out.append(f)
    in_index = set(index.versions("ruling"))
    published = dict(session.execute(select(Inquiry.number, Inquiry.id).where(Inquiry.number.is_not(None))).all())
    missing = [rid for number, rid in published.items() if number not in in_index]
    if missing:
        f = Finding("index_ruling", f"検索インデックスに判断事例が{len(missing)}件ありません。", repairable=True)
        if repair:
            search.index_rulings(session, missing)
            session.commit()
            f.repaired = True
        out.append(f)
    vocab = getattr(index, "vocab", None)
    if vocab is not None and index.count() != vocab.count():  # readings and 「もしかして」 describe another index
        f = Finding("index_vocab", "検索の読み・「もしかして」の語彙が検索インデックスと一致しません"
                                   "（flask search reindex で作り直せます）。", repairable=True)
        if repair:
            search.reindex(session)
            session.commit()
            f.repaired = True
        out.append(f)
    for number in in_index - set(published):
        f = Finding("index_extra", f"検索インデックスに公表されていない判断事例「{number}」があります。", repairable=True)
        if repair:
            index.delete(f"ruling:{number}")
            session.commit()
            f.repaired = True
        out.append(f)
    return out


def _check_outbox(session: Session, repair: bool) -> list[Finding]:
    """Mail that a crashed sender left in 'sending', and mail that could not be delivered."""
    out: list[Finding] = []
    stale = (MailOutbox.status == SENDING) & (MailOutbox.next_attempt_at < now_utc() - timedelta(minutes=10))
    stuck = session.scalar(select(func.count(MailOutbox.id)).where(stale)) or 0
    if stuck:
        f = Finding("outbox_stuck", f"送信中のまま止まっているメールが{stuck}件あります。", repairable=True)
        if repair:
            session.execute(update(MailOutbox).where(stale).values(status=QUEUED))
            session.commit()
            f.repaired = True
        out.append(f)
    failed = session.scalar(select(func.count(MailOutbox.id)).where(MailOutbox.status == FAILED)) or 0
    if failed:
        out.append(Finding("outbox_failed", f"送信できなかったメールが{failed}件あります（宛先・メールサーバーを確認）。",
                           repairable=False))
    return out


LOOSE_OBJECTS_LIMIT = 5000


def _check_repository(session: Session, repair: bool) -> list[Finding]:
    """Loose objects pile up with every save and publication until `flask maintenance` packs them."""
    gs = store()
    loose = gs.object_counts().get("count", 0)
    if loose <= LOOSE_OBJECTS_LIMIT:
        return []
    f = Finding("repository_unpacked", f"マニュアルリポジトリに未パックのオブジェクトが{loose:,}件あります"
                "（flask maintenance を毎日のタイマーで実行してください）。", repairable=True)
    if repair:
        gs.maintain()
        f.repaired = True
    return [f]


def _check_attachments(session: Session, repair: bool) -> list[Finding]:
    """Every `files/…` the text refers to is in the same tree: the current version of each manual
    (what wards read) and each open draft (what will be decided). A missing file is a broken image
    or a 様式 link that leads nowhere; the drafter adds it (or removes the reference)."""
    gs = store()
    out: list[Finding] = []
    targets = [(f"「{m.title}」第{m.current_version}版", m.slug, m.path, m.current_commit)
               for m in session.scalars(select(Manual).where(Manual.current_version > 0))]
    targets += [(f"改正案 #{r.id}（{r.manual.title}）", r.manual.slug, r.manual.path, r.head_commit)
                for r in session.scalars(select(Revision).where(Revision.state.in_(OPEN_STATES)))]
    for label, slug, path, commit in targets:
        text = gs.read(commit, path) if commit else None
        if not text or "files/" not in text:
            continue
        missing = attachments.missing_references(text, attachments.list_files(commit, slug, gs))
        if missing:
            out.append(Finding("attachment_missing", f"{label}の本文が参照する添付ファイルが版にありません: "
                               + "、".join(f"files/{n}" for n in missing[:10])
                               + "（編集画面の「添付ファイル」で登録するか、本文の参照を直してください）。",
                               repairable=False))
    return out
