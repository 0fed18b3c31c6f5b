"""A version's page, made once and kept on disk for every worker.

A published version never changes (its commit holds its text and its files), so what its page
shows of it — the front matter, the HTML, the headings, the list of its files — is made once per
(version, renderer) and stored under INSTANCE_DIR/rendered/ as one small file, written when the
version is published (an outbox consumer) or first shown. A page view then reads that file: no
git process, no YAML, no Markdown. A worker's memory keeps only a bounded number of them
(app/cache.py), so it does not grow with the number of distinct pages served. The files are
derived: deleting the directory loses nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import current_app
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import events, markdown
from app.cache import BoundedCache
from app.documents import attachments
from app.documents.attachments import Attachment
from app.gitstore import store
from app.manuals.document import ManualDoc, parse
from app.manuals.models import Manual, ManualVersion
from app.markdown import Heading, Rendered, render

log = logging.getLogger(__name__)

# A different renderer (markdown.py, or the page data made here, changed) gives different files: never
# an old page after an upgrade.
RENDERER = hashlib.blake2b(Path(markdown.__file__).read_bytes() + Path(__file__).read_bytes(), digest_size=6).hexdigest()


@dataclass(frozen=True)
class Page:
    """What a version's page shows of the version itself (the front matter without the body)."""

    doc: ManualDoc
    rendered: Rendered
    files: tuple[Attachment, ...]
    toc: tuple[tuple[str, str], ...] = ()  # per entry: its link, and the end of its 照会 link (toc_parts)

    @property
    def forms(self) -> list[Attachment]:
        return attachments.forms_of(list(self.files))

    def toc_html(self, ask_url: str | None) -> Markup:
        """The table of contents; with `ask_url`, each entry links to an inquiry about that section.
        Made from strings kept with the page: a long manual's TOC costs no template loop per view."""
        ask = f' <a class="toc-ask" href="{escape(ask_url)}' if ask_url else ""
        return Markup("<ol>" + "".join(item + (ask + suffix if ask else "") + "</li>" for item, suffix in self.toc)
                      + "</ol>")


def toc_parts(rendered: Rendered) -> tuple[tuple[str, str], ...]:
    return tuple((f'<li class="toc-{h.level}"><a href="#{escape(h.anchor)}">{escape(h.text)}</a>',
                  f'&amp;anchor={escape(quote(h.anchor))}" title="この節について照会">照会</a>')
                 for h in rendered.toc)


# Bounded per process; the files on disk serve every worker and every restart.
_PAGES: BoundedCache[Page] = BoundedCache(4 * 1024 * 1024, lambda p: 2 * len(p.rendered.html) + 200 * len(p.rendered.headings))


def page(manual: Manual, version: ManualVersion) -> Page:
    """The version's page data: from memory, else its file, else made from git and kept."""
    key, base_url = _key(manual, version)
    return _PAGES.get(key, lambda: _page_file(_page_path(key), manual, version, base_url))


def _key(manual: Manual, version: ManualVersion) -> tuple[str, str]:
    base_url = attachments.version_url(manual.slug, version.number)
    digest = hashlib.blake2b(base_url.encode("utf-8"), digest_size=8).hexdigest()
    return f"{version.commit_sha}-{digest}-{RENDERER}", base_url


def _page_path(key: str) -> Path:
    return Path(current_app.config["INSTANCE_DIR"]) / "rendered" / key[:2] / f"page-{key}.json"


def _page_file(path: Path, manual: Manual, version: ManualVersion, base_url: str) -> Page:
    try:
        return _decode(json.loads(path.read_bytes()))
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not made yet (or unreadable: made again)
    doc = parse(store().read_blob(version.blob_sha))
    found = tuple(attachments.list_files(version.commit_sha, manual.slug))
    html = render(doc.body, attachments.links(list(found), base_url))
    made = Page(replace(doc, body=""), html, found, toc_parts(html))
    _write(path, _encode(made))
    return made


def _encode(p: Page) -> dict[str, Any]:
    doc = {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(p.doc).items()}
    return {"doc": doc, "html": p.rendered.html, "headings": [[h.level, h.text, h.anchor] for h in p.rendered.headings],
            "files": [[a.name, a.size, a.blob] for a in p.files], "toc": [list(t) for t in p.toc]}


def _decode(data: dict[str, Any]) -> Page:
    doc = dict(data["doc"])
    for name in ("effective", "obsolete"):
        doc[name] = date.fromisoformat(doc[name]) if doc[name] else None
    found = []
    for name, size, blob in data["files"]:
        kind = attachments.kind_of(name)
        if kind is None:
            raise ValueError(name)
        found.append(Attachment(name, kind, size, blob))
    return Page(ManualDoc(**doc), Rendered(data["html"], tuple(Heading(*h) for h in data["headings"])), tuple(found),
                tuple((item, suffix) for item, suffix in data["toc"]))


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


def _prerender(session: Session, manual_ids: list[int] | None = None) -> int:
    stmt = (select(Manual, ManualVersion).join(ManualVersion, ManualVersion.manual_id == Manual.id)
            .where(ManualVersion.number == Manual.current_version))
    if manual_ids is not None:
        stmt = stmt.where(Manual.id.in_(manual_ids))
    made = 0
    for manual, version in session.execute(stmt):
        if not _page_path(_key(manual, version)[0]).exists():
            page(manual, version)
            made += 1
    return made


def prepare_all(session: Session) -> int:
    """Every manual's newest version has its page file; how many were made. After an upgrade that
    changed the renderer, the daily `flask maintenance` makes them before readers ask for them."""
    return _prerender(session)
