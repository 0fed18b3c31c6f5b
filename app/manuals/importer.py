"""`flask manuals import DIR`: Markdown files with front matter become published manuals (第1版).

All or nothing: every file is checked first and every problem is reported by file; then all
commits are written as one chain and `main` moves once, in step with one DB transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit, events
from app.errors import ValidationError
from app.gitstore import MAIN, FileChanges, GitStoreError, Person, RefMoved, store, trailer_block
from app.manuals.document import SLUG_RE, ManualDoc, parse
from app.manuals.models import ACTIVE, OBSOLETE, Manual, ManualVersion
from app.org import structure
from app.org.models import HQ, Unit, User
from app.wareki import now_utc, to_jst

SYSTEM = Person("Tebiki 一括取込", "import@tebiki.invalid")


@dataclass
class Item:
    slug: str
    filename: str
    doc: ManualDoc
    text: str
    owner: Unit
    manager: User | None


def check_documents(session: Session, files: list[tuple[str, str]]) -> list[Item]:
    """Validate (filename, text) pairs; raises ValidationError listing every problem by file."""
    problems: list[str] = []
    items: list[Item] = []
    units = {u.name: u for u in session.scalars(select(Unit))}
    existing = set(session.scalars(select(Manual.slug)))
    seen: dict[str, str] = {}
    for filename, text in files:
        slug = Path(filename).stem
        file_problems: list[str] = []
        if not SLUG_RE.match(slug):
            file_problems.append(f"ファイル名「{slug}」は識別名に使えません（半角英小文字・数字・ハイフン、2〜80文字）。")
        elif slug in existing:
            file_problems.append(f"識別名「{slug}」のマニュアルは既に登録されています。")
        elif slug in seen:
            file_problems.append(f"識別名「{slug}」が {seen[slug]} と重複しています。")
        seen.setdefault(slug, filename)
        try:
            doc = parse(text)
        except ValidationError as err:
            file_problems += err.details or [err.message]
            problems += [f"{filename}: {p}" for p in file_problems]
            continue
        owner = units.get(doc.owner)
        if owner is None:
            file_problems.append(f"所管課「{doc.owner}」は登録されていません。")
        elif owner.kind != HQ:
            file_problems.append(f"所管課「{doc.owner}」は本庁の課ではありません。")
        unknown = [t for t in doc.targets if t not in structure.SECTION_KINDS]
        if unknown:
            file_problems.append(f"対象の課「{'、'.join(unknown)}」は区役所の課の種類にありません。")
        if not doc.targets:
            file_problems.append("targets（対象の課）がありません。")
        if not doc.body.strip():
            file_problems.append("本文がありません。")
        manager = None
        if doc.manager:
            manager = session.scalar(select(User).where(User.login == doc.manager))
            if manager is None:
                file_problems.append(f"管理担当者「{doc.manager}」は登録されていません。")
            elif owner is not None and manager.unit_id != owner.id:
                file_problems.append(f"管理担当者「{doc.manager}」は所管課の職員ではありません。")
        if file_problems:
            problems += [f"{filename}: {p}" for p in file_problems]
        elif owner is not None:
            items.append(Item(slug, filename, doc, text, owner, manager))
    if problems:
        raise ValidationError(f"取込を中止しました（{len(problems)}件の問題）。何も登録していません。", details=problems)
    return items


def import_documents(session: Session, files: list[tuple[str, str]], *, as_user: User | None = None,
                     when: datetime | None = None, attachments: dict[str, dict[str, Path]] | None = None
                     ) -> list[Manual]:
    """`attachments`: slug → {name: staged file} committed with the manual's text at
    manuals/<slug>/files/<name> (the images of a Word manual, app/documents/bulk.py)."""
    items = check_documents(session, files)
    if not items:
        raise ValidationError("取り込むマニュアル（*.md）がありません。")
    gs = store()
    when = to_jst(when or now_utc())
    author = Person(as_user.name, as_user.commit_email) if as_user else SYSTEM
    approved = f"{as_user.name} <{as_user.login}>" if as_user else "Tebiki 一括取込 <import>"
    for _attempt in range(10):
        main = gs.ref(MAIN)
        chain: list[tuple[FileChanges, str, Person, datetime]] = []
        for item in items:
            message = f"{item.doc.title}を制定（一括取込: {item.filename}）\n\n" + trailer_block(
                [("Manual", item.slug), ("Revision", "1"), ("Approved-by", approved)]) + "\n"
            content: dict[str, str | bytes | Path | None] = {f"manuals/{item.slug}.md": item.text}
            for name, staged in (attachments or {}).get(item.slug, {}).items():
                content[f"manuals/{item.slug}/files/{name}"] = staged
            chain.append((content, message, author, when))
        shas = gs.write_chain(main, chain)
        manuals = []
        for item, sha in zip(items, shas, strict=True):
            manual = Manual(
                slug=item.slug, title=item.doc.title, owner_unit=item.owner, manager=item.manager,
                status=OBSOLETE if item.doc.obsolete else ACTIVE, review_months=item.doc.review_months,
                current_version=1, current_commit=sha, effective_date=item.doc.effective,
                last_published_at=when, last_reviewed_at=when,
            )
            manual.set_lists(item.doc.targets, item.doc.tags)
            session.add(manual)
            session.flush()
            session.add(ManualVersion(
                manual_id=manual.id, number=1, commit_sha=sha, blob_sha=gs.blob_id(sha, manual.path) or "",
                title=item.doc.title, effective_date=item.doc.effective, kind="new",
                reason=f"{item.doc.title}を制定（一括取込）", summary="", drafter_id=as_user.id if as_user else None,
                drafter_name=as_user.name if as_user else "一括取込", revision_id=None, published_at=when,
            ))
            manuals.append(manual)
        audit.record(session, as_user, "manual.import", "manual", "", count=len(manuals),
                     slugs=[m.slug for m in manuals][:50])
        events.emit(session, "manuals.imported", manual_ids=[m.id for m in manuals])
        session.flush()
        try:
            gs.update_ref(MAIN, shas[-1], main, reason=f"import {len(items)} manuals")
        except RefMoved:
            session.rollback()
            items = check_documents(session, files)
            continue
        except GitStoreError:
            session.rollback()
            raise
        # main has moved (the point of no return): the database follows at once, in this order.
        session.commit()
        return manuals
    raise ValidationError("マニュアルリポジトリが混み合っているため取込できませんでした。再度実行してください。")


def import_dir(session: Session, directory: str | Path, *, as_user: User | None = None) -> list[Manual]:
    """Every *.md in the directory (all or nothing); Word files too: app.documents.bulk."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ValidationError(f"ディレクトリ「{directory}」がありません。")
    files, problems = read_markdown_files(directory)
    if problems:
        raise ValidationError("取込を中止しました。何も登録していません。", details=problems)
    if not files:
        raise ValidationError(f"「{directory}」に .md ファイルがありません。")
    return import_documents(session, files, as_user=as_user)


def read_markdown_files(directory: Path) -> tuple[list[tuple[str, str]], list[str]]:
    files: list[tuple[str, str]] = []
    problems = []
    for path in sorted(directory.glob("*.md")):
        try:
            files.append((path.name, path.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            problems.append(f"{path.name}: UTF-8 のテキストではありません。")
    return files, problems
