"""Shared builders for tests: manuals imported through the real importer, users by login."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flask import current_app

from app.extensions import db
from app.manuals.document import parse
from app.manuals.importer import import_documents
from app.manuals.models import Manual
from app.org.models import User
from app.revisions import base, drafting, route
from app.revisions.models import Revision
from app.revisions.publishing import Approval
from app.wareki import today_jst

FLASK = str(Path(sys.executable).parent / "flask")

BODY = """# {title}

## 1 目的

この手引きは、{title}の事務の取扱いを定める。

## 2 受付

1. 窓口で申請書を受け付ける。
2. 本人確認書類を確認する。
3. 受付印を押す。

| 書類 | 確認事項 |
|---|---|
| 申請書 | 記載漏れがないこと |
| 本人確認書類 | 有効期限内であること |

## 3 審査

申請内容を審査し、14日以内に決定する。

## 4 通知

決定通知書を郵送する。
"""


def user(login: str) -> User:
    return db.session.query(User).filter_by(login=login).one()


def manual_text(title: str, owner: str = "健康福祉局 保険年金課", targets: str = "[保険年金課]",
                body: str | None = None) -> str:
    return (f"---\ntitle: {title}\nowner: {owner}\ntargets: {targets}\neffective: 2024-04-01\n"
            f"review_months: 12\ntags: [テスト]\n---\n" + (body or BODY.format(title=title)))


def make_manual(slug: str = "test-manual", title: str = "テスト事務の手引き", **kw: str) -> Manual:
    (manual,) = import_documents(db.session, [(f"{slug}.md", manual_text(title, **kw))], as_user=user("hq.kacho"))
    return manual


def revise(manual: Manual, drafter: str, old: str, new: str, reason: str = "記載を改める。") -> Revision:
    """Open a revision and save it with one text replacement."""
    revision = drafting.open_revision(db.session, user(drafter), manual)
    doc = parse(base.current_text(revision))
    assert old in doc.body, old
    fields = drafting.DraftFields(title=doc.title, targets=doc.targets, tags=doc.tags, effective=today_jst(),
                             review_months=doc.review_months, body=doc.body.replace(old, new, 1), reason=reason)
    drafting.save_draft(db.session, user(drafter), revision, fields, expected_head=revision.head_commit)
    db.session.commit()
    return revision


def approve_all(revision: Revision, chief: str = "hq.kakaricho", head: str = "hq.kacho") -> Approval:
    """Submit, 審査 and 決裁 — committed, as the requests would be (the reactions run)."""
    route.submit(db.session, revision.drafter, revision)
    route.approve(db.session, user(chief), revision)
    outcome = route.approve(db.session, user(head), revision)
    db.session.commit()
    return outcome


def git(*args: str) -> str:
    """The real git CLI on the manuals repository."""
    return subprocess.run(["git", "--git-dir", current_app.config["MANUALS_REPO"], *args],
                          check=True, capture_output=True, text=True).stdout


def submit(revision: Revision) -> None:
    route.submit(db.session, revision.drafter, revision)
    db.session.commit()


def approve_step(revision: Revision, login: str) -> None:
    """One approval that is not the final one (審査 / 合議)."""
    route.approve(db.session, user(login), revision)
    db.session.commit()
