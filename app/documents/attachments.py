"""Attachments belong to a version: 様式 (.pdf, .xlsx, .docx) and images (.png, .jpg) are files in
git beside the manual's Markdown, at `manuals/<slug>/files/<name>`.

The text stays at `manuals/<slug>.md` (every existing path, version and `git log -- path` keeps
working); git lets a file `manuals/<slug>.md` and a folder `manuals/<slug>/` sit side by side, so
a clone of the repository is still the whole archive: each commit holds a version's text and its
files together. The text refers to them as `files/<name>` (what the editor and Word in write);
the renderer turns that into the version's permalink.

This module only reads (listing, differences, references); `attaching` writes to a draft.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote, unquote

from flask import has_request_context, request

from app.cache import BoundedCache
from app.documents import files
from app.gitstore import GitStore, store
from app.markdown import FileLinks

FILES = "files"
MAX_FILES = 200  # per manual version
MAX_TOTAL_BYTES = 200 * files.MB  # per manual version (a clone carries every version's files)
FORMS = frozenset({"pdf", "xlsx", "docx"})  # 様式
REF = re.compile(r"\]\(\s*(?:<files/([^>\n]+)>|files/([^)\s]+))")  # [..](files/x), ![..](files/x), (<files/x y>)


def folder(slug: str) -> str:
    return f"manuals/{slug}/{FILES}"


def path_of(slug: str, name: str) -> str:
    return f"{folder(slug)}/{name}"


@dataclass(frozen=True)
class Attachment:
    name: str
    kind: files.Kind
    size: int
    blob: str

    @property
    def is_image(self) -> bool:
        return self.kind.code in files.IMAGES

    @property
    def size_text(self) -> str:
        return files.human_size(self.size)

    @property
    def short_label(self) -> str:
        return {"pdf": "PDF", "xlsx": "Excel", "docx": "Word", "png": "PNG画像", "jpg": "JPEG画像"}[self.kind.code]


def kind_of(name: str) -> files.Kind | None:
    """A stored file's type: it was checked by content when it came in, and stored with the
    extension of that type, so the name tells it."""
    ext = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return files.EXTENSIONS.get(ext)


def clean_name(filename: str, kind: files.Kind) -> str:
    """A name safe in git, in a URL and in Markdown: files.sanitize_name (Japanese kept, no path,
    no control characters), spaces and brackets that would end a Markdown link made `_`."""
    name = files.with_extension(files.sanitize_name(filename), kind)
    name = re.sub(r"[\s()\[\]<>#%&+;=]+", "_", unicodedata.normalize("NFC", name))
    stem = name.rsplit(".", 1)[0].strip("_.") or "file"
    return stem + kind.extension


# A commit named by its full id never changes: its listing is kept (bounded), not asked of git again.
_LISTINGS: BoundedCache[tuple[Attachment, ...]] = BoundedCache(2 * 1024 * 1024, lambda found: 100 + 200 * len(found))
FULL_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def list_files(commit: str | None, slug: str, gs: GitStore | None = None) -> list[Attachment]:
    """The files of the version (or draft) at `commit`, by name."""
    if not commit:
        return []
    if FULL_ID.fullmatch(commit) and gs is None:
        return list(_LISTINGS.get((commit, slug), lambda: tuple(_list_files(commit, slug, store()))))
    return _list_files(commit, slug, gs or store())


def _list_files(commit: str, slug: str, gs: GitStore) -> list[Attachment]:
    prefix = folder(slug) + "/"
    out = []
    for path, (blob, size) in gs.tree_entries(commit, folder(slug)).items():
        name = path.removeprefix(prefix)
        kind = kind_of(name)
        if kind is not None and "/" not in name:
            out.append(Attachment(name, kind, size, blob))
    return sorted(out, key=lambda a: a.name)


def forms_of(found: list[Attachment]) -> list[Attachment]:
    return [a for a in found if a.kind.code in FORMS]


def references(body: str) -> list[str]:
    """The file names the text refers to (files/…), in order, once each."""
    return list(dict.fromkeys(unquote(m.group(1) or m.group(2)) for m in REF.finditer(body)))


def _url_root() -> str:
    return request.script_root if has_request_context() else ""


def version_url(slug: str, number: int) -> str:
    """The permalink folder of a version's files: /manuals/<slug>/v/<n>/files/"""
    return f"{_url_root()}/manuals/{quote(slug)}/v/{number}/{FILES}/"


def draft_url(revision_id: int) -> str:
    return f"{_url_root()}/revisions/{revision_id}/{FILES}/"


def links(found: list[Attachment], base_url: str) -> FileLinks:
    """What the renderer needs to resolve `files/…`: where they are and what each one is."""
    return FileLinks(base_url, tuple((a.name, a.short_label, a.size_text) for a in found))


# --- differences (新旧対照表, 改正通知) -----------------------------------------------------------

STATUS_LABELS = {"added": "追加", "replaced": "差替え", "removed": "削除"}


@dataclass(frozen=True)
class Change:
    name: str
    status: str  # added / replaced / removed
    kind: files.Kind
    size: int  # of the new file (of the old one when removed)
    url: str | None  # the permalink of the file in the newer version (of the older one when removed)

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def size_text(self) -> str:
        return files.human_size(self.size)


def changes(slug: str, old_commit: str | None, new_commit: str | None, *, new_url: str | None = None,
            old_url: str | None = None) -> list[Change]:
    """Files added, replaced (same name, other content) and removed from `old_commit` to `new_commit`."""
    gs = store()
    old = {a.name: a for a in list_files(old_commit, slug, gs)}
    new = {a.name: a for a in list_files(new_commit, slug, gs)}
    out = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if a is not None and b is not None and a.blob == b.blob:
            continue
        if b is not None:
            status = "added" if a is None else "replaced"
            out.append(Change(name, status, b.kind, b.size, new_url + quote(name) if new_url else None))
        elif a is not None:
            out.append(Change(name, "removed", a.kind, a.size, old_url + quote(name) if old_url else None))
    return out


def delta(slug: str, base_commit: str | None, head_commit: str | None) -> dict[str, bytes | None]:
    """What a draft did to the files since it started: {path: new content, or None when removed}.
    Publishing writes exactly this on top of main, so a file the draft did not touch stays as
    main has it (another revision published meanwhile may have changed it); a file this draft
    changed is this draft's decision (like its 施行日)."""
    gs = store()
    base = {a.name: a.blob for a in list_files(base_commit, slug, gs)}
    head = {a.name: a.blob for a in list_files(head_commit, slug, gs)}
    out: dict[str, bytes | None] = {}
    for name in sorted(set(base) | set(head)):
        if base.get(name) == head.get(name):
            continue
        out[path_of(slug, name)] = gs.read_bytes(head_commit, path_of(slug, name)) if name in head else None
    return out


def missing_references(body: str, found: list[Attachment]) -> list[str]:
    names = {a.name for a in found}
    return [n for n in references(body) if n not in names]


def _blobs(commit: str | None, slug: str, gs: GitStore) -> dict[str, str]:
    return {a.name: a.blob for a in list_files(commit, slug, gs)}


def clashes(slug: str, base_commit: str | None, main_commit: str | None, head_commit: str | None) -> list[str]:
    """Files this draft changed that a version published meanwhile changed differently (two
    drafts both registering their own image-01.png): publishing would replace the other's."""
    gs = store()
    base, main, head = (_blobs(c, slug, gs) for c in (base_commit, main_commit, head_commit))
    return [n for n in sorted(set(base) | set(main) | set(head))
            if head.get(n) != base.get(n) and main.get(n) != base.get(n) and main.get(n) != head.get(n)]


def rebase(slug: str, old_base: str | None, new_base: str | None, head_commit: str | None) -> dict[str, bytes | None]:
    """When a draft moves onto a newer main (its conflict resolved): main's file changes for the
    files the draft did not touch, so they are not taken as this draft's removals."""
    gs = store()
    old, new, head = (_blobs(c, slug, gs) for c in (old_base, new_base, head_commit))
    out: dict[str, bytes | None] = {}
    for name in sorted(set(old) | set(new)):
        if head.get(name) == old.get(name) and new.get(name) != old.get(name):
            out[path_of(slug, name)] = gs.read_bytes(new_base, path_of(slug, name)) if name in new else None
    return out
