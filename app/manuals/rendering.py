"""A version's HTML, rendered once and kept on disk for every worker.

A version's text is a git blob (content addressed), so its HTML never changes while the renderer
does not: it is stored under INSTANCE_DIR/rendered/ named by blob and renderer, written when the
version is published (an outbox consumer) or first shown. A worker then reads a small file instead
of parsing Markdown again; its own memory keeps only a bounded number (app/cache.py), so memory
does not grow with the number of distinct pages served. The files are derived: deleting the
directory loses nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import events, markdown
from app.documents import attachments
from app.gitstore import store
from app.manuals.document import parse
from app.manuals.models import Manual, ManualVersion
from app.markdown import FileLinks, Heading, Rendered, render

log = logging.getLogger(__name__)

# A different renderer (markdown.py changed) gives different files: never an old page after an upgrade.
RENDERER = hashlib.blake2b(Path(markdown.__file__).read_bytes(), digest_size=6).hexdigest()


def _path(blob_sha: str, files: FileLinks | None = None) -> Path:
    # Two versions can share a text and differ in their files (app/documents/attachments.py).
    extra = "-" + hashlib.blake2b(repr(files).encode("utf-8"), digest_size=8).hexdigest() if files else ""
    return Path(current_app.config["INSTANCE_DIR"]) / "rendered" / blob_sha[:2] / f"{blob_sha}-{RENDERER}{extra}.json"


def version_links(manual: Manual, version: ManualVersion) -> FileLinks:
    """files/… in a version's text point at that version's files (permalinks), with type and size."""
    found = attachments.list_files(version.commit_sha, manual.slug)
    return attachments.links(found, attachments.version_url(manual.slug, version.number))


def rendered(blob_sha: str, body: str, files: FileLinks | None = None) -> Rendered:
    """The HTML of a version's body: from its file when made before, else rendered and kept."""
    path = _path(blob_sha, files)
    try:
        data = json.loads(path.read_bytes())
        return Rendered(data["html"], tuple(Heading(*h) for h in data["headings"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not made yet (or unreadable: made again)
    result = render(body, files)
    _write(path, {"html": result.html, "headings": [[h.level, h.text, h.anchor] for h in result.headings]})
    return result


def _write(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(json.dumps(data, ensure_ascii=False).encode("utf-8"))
        os.replace(tmp, path)  # readers see the whole file or none
    except OSError as exc:  # a full or read-only disk costs speed, never a page
        log.warning("could not keep the rendered page %s: %s", path.name, exc)


@events.consumer("manual.published", "rendered_pages")
def _on_manual_published(session: Session, data: dict[str, Any]) -> None:
    _prerender(session, [data["manual_id"]])


@events.consumer("manuals.imported", "rendered_pages")
def _on_manuals_imported(session: Session, data: dict[str, Any]) -> None:
    _prerender(session, list(data["manual_ids"]))


def _prerender(session: Session, manual_ids: list[int]) -> None:
    gs = store()
    rows = session.execute(select(Manual, ManualVersion).join(ManualVersion, ManualVersion.manual_id == Manual.id)
                           .where(Manual.id.in_(manual_ids), ManualVersion.number == Manual.current_version))
    for manual, version in rows:
        links = version_links(manual, version)
        if not _path(version.blob_sha, links).exists():
            rendered(version.blob_sha, parse(gs.read_blob(version.blob_sha)).body, links)
