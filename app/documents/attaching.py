"""Putting attachments on a draft: each upload (or removal) is one commit on the draft's own ref,
like a save of the text, so they are approved with the revision and published in its commit
(app/revisions/publishing.py writes the draft's file changes on top of main)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app import audit
from app.documents import attachments, files
from app.documents.attachments import Attachment
from app.errors import NotFound, ValidationError
from app.org.models import User
from app.org.permissions import require
from app.revisions import drafting
from app.revisions.base import require_state
from app.revisions.models import EDITABLE_STATES, Revision

# A pasted screenshot arrives as "image.png" (Chrome) or "スクリーンショット …": numbered instead.
GENERIC = re.compile(r"^(image|img|画像|clipboard|blob|pasted.*|スクリーンショット.*|screenshot.*|無題)$", re.I)


@dataclass
class Added:
    attachment: Attachment
    head: str
    replaced: bool
    unchanged: bool = False

    @property
    def markdown(self) -> str:
        """The reference the editor inserts: an image inline, a 様式 as a link (the renderer adds
        its type and size)."""
        a = self.attachment
        target = "files/" + a.name
        label = a.name.rsplit(".", 1)[0].replace("[", "").replace("]", "")
        return f"![{label}]({target})" if a.is_image else f"[{label}]({target})"


def _may_edit(user: User, revision: Revision) -> None:
    require(user, "revision.edit", revision)
    require_state(revision, *EDITABLE_STATES, doing="添付ファイルの変更")


def _numbered(existing: set[str], kind: files.Kind) -> str:
    n = 1
    while f"image-{n:02d}{kind.extension}" in existing:
        n += 1
    return f"image-{n:02d}{kind.extension}"


def _check_room(current: list[Attachment], name: str, size: int) -> None:
    others = [a for a in current if a.name != name]
    if len(others) + 1 > attachments.MAX_FILES:
        raise ValidationError(f"1つのマニュアルに添付できるファイルは{attachments.MAX_FILES}個までです。"
                              "使わなくなったファイルを削除してから追加してください。")
    total = sum(a.size for a in others) + size
    if total > attachments.MAX_TOTAL_BYTES:
        raise ValidationError(f"添付ファイルの合計が上限（{files.human_size(attachments.MAX_TOTAL_BYTES)}）を超えます"
                              f"（追加すると{files.human_size(total)}）。画像を小さくするか、不要なファイルを削除してください。")


def add(session: Session, user: User, revision: Revision, filename: str, data: bytes, *, expected_head: str,
        limits: files.Limits = files.DEFAULT_LIMITS, numbered: bool = False) -> Added:
    """Check the file by its content and put it in the draft (the same name replaces the file)."""
    _may_edit(user, revision)
    checked = files.check_upload(filename, data, limits=limits)
    slug = revision.manual.slug
    current = attachments.list_files(revision.head_commit or None, slug)
    existing = {a.name: a for a in current}
    name = attachments.clean_name(checked.name, checked.kind)
    if checked.kind.code in files.IMAGES and (numbered or GENERIC.match(name.rsplit(".", 1)[0])):
        # Numbers used on main are skipped too: another draft's image-01.png is not replaced.
        taken = set(existing) | {a.name for a in attachments.list_files(revision.manual.current_commit, slug)}
        name = _numbered(taken, checked.kind)
    _check_room(current, name, checked.size)
    if revision.head_commit != expected_head:
        raise drafting._stale(session, revision)
    old = existing.get(name)
    if old is not None and old.size == checked.size and \
            files.sha1_blob(checked.data) == old.blob:
        return Added(old, revision.head_commit, replaced=False, unchanged=True)
    verb = "差し替え" if old else "追加"
    head = drafting.commit_files(session, user, revision, {attachments.path_of(slug, name): checked.data},
                                 expected_head=expected_head, what=f"添付ファイルを{verb}",
                                 comment=f"添付ファイル「{name}」を{verb}")
    audit.record(session, user, "revision.attach", "revision", revision.id, name=name, size=checked.size)
    found = Attachment(name, checked.kind, checked.size, files.sha1_blob(checked.data))
    return Added(found, head, replaced=old is not None)


def remove(session: Session, user: User, revision: Revision, name: str, *, expected_head: str) -> str:
    _may_edit(user, revision)
    slug = revision.manual.slug
    if name not in {a.name for a in attachments.list_files(revision.head_commit or None, slug)}:
        raise NotFound(f"添付ファイル「{name}」はこの改正案にありません（削除済みかもしれません）。")
    if revision.head_commit != expected_head:
        raise drafting._stale(session, revision)
    audit.record(session, user, "revision.detach", "revision", revision.id, name=name)
    return drafting.commit_files(session, user, revision, {attachments.path_of(slug, name): None},
                                 expected_head=expected_head, what="添付ファイルを削除",
                                 comment=f"添付ファイル「{name}」を削除")


def add_extracted(session: Session, user: User, revision: Revision, extracted: list, markdown: str, *,
                  expected_head: str) -> tuple[str, str, list[str]]:
    """Images taken out of a .docx (word_in.ExtractedFile) into the draft, in one commit. A name
    the draft already uses for other content gets the next free number and the Markdown follows.
    Returns (markdown, head, names)."""
    _may_edit(user, revision)
    slug = revision.manual.slug
    current = attachments.list_files(revision.head_commit or None, slug)
    existing = {a.name: a.blob for a in current}
    if revision.head_commit != expected_head:
        raise drafting._stale(session, revision)
    writes: dict[str, str | bytes | None] = {}
    names = []
    total = sum(a.size for a in current)
    for f in extracted:
        digest = files.sha1_blob(f.data)
        name = f.name
        if name in existing and existing[name] != digest:
            name = next((n for n, b in existing.items() if b == digest), None) or _numbered(set(existing), f.kind)
        if name != f.name:
            markdown = markdown.replace(f"](files/{f.name})", f"](files/{name})")
        if existing.get(name) != digest:
            writes[attachments.path_of(slug, name)] = f.data
            existing[name] = digest
            total += f.size
        names.append(name)
    if len(existing) > attachments.MAX_FILES or total > attachments.MAX_TOTAL_BYTES:
        raise ValidationError("Word 文書の画像を添付すると、添付ファイルの上限（"
                              f"{attachments.MAX_FILES}個・合計{files.human_size(attachments.MAX_TOTAL_BYTES)}）を超えます。")
    head = revision.head_commit
    if writes:
        head = drafting.commit_files(session, user, revision, writes, expected_head=expected_head,
                                     what="Word 文書の画像を添付", comment=f"Word 文書の画像{len(writes)}点を添付")
    return markdown, head, names
