"""Consistency check between the sources of truth (git for content, the DB for the rest).

Publishing writes git first, then the DB. A crash in between leaves a commit on main that the
DB does not show; `flask doctor --repair` records it from the commit itself, so nothing is lost
and nothing is published twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
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
    for sha, version in known.items():
        if sha not in on_main:
            findings.append(Finding("missing_commit", f"DBの版（manual {version.manual_id} 第{version.number}版）の"
                                    f"コミット {sha[:10]} が main にありません。", repairable=False))
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
    return findings
