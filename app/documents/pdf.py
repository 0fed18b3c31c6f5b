"""PDF out (WeasyPrint): HTML + print CSS → PDF with embedded (subset) Japanese fonts and real,
selectable text. Fonts come from fontconfig: IPA fonts from Debian (fonts-ipafont-gothic,
fonts-ipafont-mincho), installed by the Makefile / .ci/run.

Nothing is fetched from outside: a manual may contain any image URL, and a PDF engine that
follows it would let a manual author make the server call other hosts or read local files. The
fetcher serves only this application's own stylesheets; every other URL is refused.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import weasyprint
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

ORIGIN = "https://tebiki.invalid"  # a name that never resolves: relative URLs hang off it
STATIC = Path(__file__).resolve().parent.parent / "static"


class LocalOnlyFetcher(URLFetcher):
    """Serves /static/*.css from the package and embedded PNG/JPEG data: URLs; refuses everything
    else (no network, no files)."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=())
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        if url.startswith(("data:image/png;base64,", "data:image/jpeg;base64,")):
            # A version's own images, embedded by the caller (nothing leaves the process).
            kind, _, payload = url.removeprefix("data:").partition(";base64,")
            return URLFetcherResponse(url, base64.b64decode(payload), {"Content-Type": kind})
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" == ORIGIN and parts.path.startswith("/static/"):
            name = unquote(parts.path.removeprefix("/static/"))
            path = (STATIC / name).resolve()
            if path.suffix == ".css" and path.is_file() and STATIC in path.parents:
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": "text/css; charset=utf-8"})
        self.refused.append(url)
        raise ValueError("外部の資源は読み込みません")


_IMG = re.compile(r"<img\b[^>]*>")
_ATTR = re.compile(r'\b(src|alt)="([^"]*)"')


def offline_images(html: str, images: dict[str, str] | None = None) -> str:
    """The renderer's <img> tags: the version's own images (`images`: src → data: URL, read from
    git by the caller) are embedded; any other URL becomes a visible 「［図: …］」, as in the .docx,
    instead of a fetch. The input is the sanitised HTML of app/markdown.py (quoted attributes)."""

    def replace(m: re.Match[str]) -> str:
        attrs = dict(_ATTR.findall(m.group(0)))
        if attrs.get("src", "").startswith("data:image/"):
            return m.group(0)
        if images and attrs.get("src", "") in images:
            return f'<img src="{images[attrs["src"]]}" alt="{attrs.get("alt", "")}">'
        alt = attrs.get("alt") or "図"
        src = re.sub(r"^/.*/files/", "files/", attrs.get("src", ""))  # a version's file: by its name
        return f'<span class="img-missing">［図: {alt}（{src}）］</span>'

    return _IMG.sub(replace, html)


def html_to_pdf(html: str) -> bytes:
    fetcher = LocalOnlyFetcher()
    document = HTML(string=html, base_url=ORIGIN + "/", url_fetcher=fetcher)
    return document.write_pdf()


CACHE_FILES = 500  # about 100 MB of 新旧対照表 and manual versions; the oldest read go first


def cached_pdf(html: str, cache_dir: str | Path) -> bytes:
    """html_to_pdf, kept on disk by content: the same version or 新旧対照表 is laid out once (a
    34-page 新旧対照表 takes seconds), then every ward's download is a file read. The key covers
    the HTML, the stylesheet and the engine's version, so any change renders anew. It is read
    only after the caller's permission check (the key is the HTML that check let through); manual
    text only — a 事務引継書 (personal records) is never kept."""
    css = (STATIC / "documents-pdf.css").read_bytes()
    key = hashlib.sha256(html.encode() + b"\0" + css + b"\0" + weasyprint.__version__.encode()).hexdigest()
    root = Path(cache_dir)
    path = root / key[:2] / f"{key}.pdf"
    try:
        data = path.read_bytes()
        os.utime(path)  # recently read: kept longest
        return data
    except OSError:
        pass
    data = html_to_pdf(html)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)  # atomic: another worker never reads half a file
    _prune(root)
    return data


def _prune(root: Path) -> None:
    entries = sorted(root.glob("*/*.pdf"), key=lambda p: p.stat().st_mtime if p.exists() else 0)
    for old in entries[: max(0, len(entries) - CACHE_FILES)]:
        old.unlink(missing_ok=True)
