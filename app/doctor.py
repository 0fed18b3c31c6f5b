"""Consistency check between the sources of truth (git for content, the DB for the rest).

Publishing writes git first, then the DB. A crash in between leaves a commit on main that the
DB does not show; `flask doctor --repair` records it from the commit itself, so nothing is lost
and nothing is published twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.gitstore import MAIN
from app.manuals.models import Manual, ManualVersion
from app.revisions import services as rev
from app.revisions.models import OPEN_STATES, PUBLISHED, Revision


@dataclass
class Finding:
    kind: str
    message: str
    repairable: bool
    repaired: bool = False


def check(session: Session, *, repair: bool = False) -> list[Finding]:
    gs = rev.store()
    findings: list[Finding] = []
    known = {v.commit_sha: v for v in session.scalars(select(ManualVersion))}
    on_main: set[str] = set()
    for sha in reversed(gs.log(MAIN)):
        on_main.add(sha)
        if sha in known:
            continue
        info = gs.commit_info(sha)
        slug = (info.trailers.get("Manual") or [""])[-1]
        rid = (info.trailers.get("Revision-Id") or [""])[-1]
        revision = session.get(Revision, int(rid)) if rid.isdigit() else None
        f = Finding("unrecorded_commit", f"main のコミット {sha[:10]}（{slug}）がDBに記録されていません。",
                    repairable=revision is not None)
        if repair and revision is not None:
            rev._record_published(session, revision, sha, info.authored_at)
            session.commit()
            f.repaired = True
        findings.append(f)
    manual_slugs = {m.id: m.slug for m in session.scalars(select(Manual))}
    for sha, version in known.items():
        if sha not in on_main:
            findings.append(Finding("missing_commit", f"DBの版（manual {version.manual_id} 第{version.number}版）の"
                                    f"コミット {sha[:10]} が main にありません。", repairable=False))
            continue
        trailers = gs.commit_info(sha).trailers
        if (trailers.get("Manual", [""])[-1] != manual_slugs.get(version.manual_id)
                or trailers.get("Revision", [""])[-1] != str(version.number)):
            findings.append(Finding("trailer_mismatch", f"コミット {sha[:10]} のトレーラー（Manual/Revision）がDBの版"
                                    f"（{manual_slugs.get(version.manual_id)} 第{version.number}版）と一致しません。",
                                    repairable=False))
    for manual in session.scalars(select(Manual).where(Manual.current_version > 0)):
        latest = session.scalar(select(ManualVersion).where(ManualVersion.manual_id == manual.id)
                                .order_by(ManualVersion.number.desc()).limit(1))
        if latest is not None and manual.current_commit != latest.commit_sha:
            f = Finding("stale_registry", f"「{manual.title}」の現行版の記録が最新の版と一致しません。", repairable=True)
            if repair:
                manual.current_commit, manual.current_version = latest.commit_sha, latest.number
                session.commit()
                f.repaired = True
            findings.append(f)
    refs = gs.refs("refs/heads/drafts/")
    for revision in session.scalars(select(Revision).where(Revision.state.in_(OPEN_STATES))):
        if revision.head_commit and refs.get(revision.ref) != revision.head_commit:
            f = Finding("draft_ref", f"改正案 #{revision.id} の下書きの参照が保存内容と一致しません。", repairable=True)
            if repair:
                gs.update_ref(revision.ref, revision.head_commit, refs.get(revision.ref))
                f.repaired = True
            findings.append(f)
    for revision in session.scalars(select(Revision).where(Revision.state == PUBLISHED,
                                                           Revision.published_commit.is_(None))):
        findings.append(Finding("published_without_commit", f"改正案 #{revision.id} は公布済ですがコミットがありません。",
                                repairable=False))
    findings += _check_notices(session, repair)
    findings += _check_index(session, repair)
    findings += _check_outbox(session, repair)
    return findings


def _check_notices(session: Session, repair: bool) -> list[Finding]:
    """Every publication announced: a crash after the DB commit must not lose the notices."""
    from app.notices import services as notices
    from app.notices.models import Notice
    from app.rulings.models import Inquiry

    out: list[Finding] = []
    announced = set(session.scalars(select(Notice.revision_id).where(Notice.revision_id.is_not(None))))
    for revision in session.scalars(select(Revision).where(Revision.state == PUBLISHED)):
        if revision.id in announced:
            continue
        f = Finding("notices_missing", f"改正案 #{revision.id}（{revision.manual.title} 第{revision.number}版）の"
                    "改正通知がありません。", repairable=True)
        if repair:
            notices._on_revision_published(None, revision_id=revision.id, manual_id=revision.manual_id,
                                           number=revision.number, kind=revision.kind)
            f.repaired = True
        out.append(f)
    announced_rulings = set(session.scalars(select(Notice.ruling_id).where(Notice.ruling_id.is_not(None))))
    missing = list(session.scalars(select(Inquiry.id).where(
        Inquiry.number.is_not(None), Inquiry.imported.is_(False), Inquiry.id.not_in(announced_rulings))))
    if missing:
        f = Finding("notices_missing", f"判断事例{len(missing)}件の共有の通知がありません。", repairable=True)
        if repair:
            notices._on_ruling_published(None, ruling_ids=missing)
            f.repaired = True
        out.append(f)
    return out


def _check_index(session: Session, repair: bool) -> list[Finding]:
    """The search index holds exactly the effective versions and the published rulings."""
    from app.rulings.models import Inquiry
    from app.search import services as search

    index = search.get_index()
    out: list[Finding] = []
    indexed = index.versions("manual")
    for manual in session.scalars(select(Manual).where(Manual.current_version > 0)):
        if indexed.pop(manual.slug, None) != (manual.current_commit or ""):
            f = Finding("index_manual", f"検索インデックスの「{manual.title}」が現行版と一致しません。", repairable=True)
            if repair:
                search.index_manual(session, manual)
                f.repaired = True
            out.append(f)
    for slug in indexed:  # in the index but no longer published
        f = Finding("index_extra", f"検索インデックスに公布されていないマニュアル「{slug}」があります。", repairable=True)
        if repair:
            index.delete(f"manual:{slug}#")
            f.repaired = True
        out.append(f)
    in_index = set(index.versions("ruling"))
    published = dict(session.execute(select(Inquiry.number, Inquiry.id).where(Inquiry.number.is_not(None))).all())
    missing = [rid for number, rid in published.items() if number not in in_index]
    if missing:
        f = Finding("index_ruling", f"検索インデックスに判断事例が{len(missing)}件ありません。", repairable=True)
        if repair:
            search.index_rulings(session, missing)
            f.repaired = True
        out.append(f)
    for number in in_index - set(published):
        f = Finding("index_extra", f"検索インデックスに公表されていない判断事例「{number}」があります。", repairable=True)
        if repair:
            index.delete(f"ruling:{number}")
            f.repaired = True
        out.append(f)
    return out


def _check_outbox(session: Session, repair: bool) -> list[Finding]:
    """Mail that a crashed sender left in 'sending', and mail that could not be delivered."""
    from datetime import timedelta

    from sqlalchemy import update

    from app.notices.models import FAILED, QUEUED, SENDING, MailOutbox
    from app.wareki import now_utc

    out: list[Finding] = []
    stuck = session.scalar(select(func.count(MailOutbox.id)).where(
        MailOutbox.status == SENDING, MailOutbox.next_attempt_at < now_utc() - timedelta(minutes=10))) or 0
    if stuck:
        f = Finding("outbox_stuck", f"送信中のまま止まっているメールが{stuck}件あります。", repairable=True)
        if repair:
            session.execute(update(MailOutbox).where(MailOutbox.status == SENDING,
                                                     MailOutbox.next_attempt_at < now_utc() - timedelta(minutes=10))
                            .values(status=QUEUED))
            session.commit()
            f.repaired = True
        out.append(f)
    failed = session.scalar(select(func.count(MailOutbox.id)).where(MailOutbox.status == FAILED)) or 0
    if failed:
        out.append(Finding("outbox_failed", f"送信できなかったメールが{failed}件あります（宛先・メールサーバーを確認）。",
                           repairable=False))
    return out
