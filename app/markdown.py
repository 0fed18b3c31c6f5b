"""The one Markdown renderer: Markdown → safe HTML with heading anchors, a table of contents,
and the split into sections used by the 新旧対照表 and search.

Raw HTML is off in the parser *and* the output goes through an allow-list sanitiser (nh3), so
script or event handlers typed into a manual never reach a reader's browser.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote

import nh3
from markdown_it import MarkdownIt
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from app.cache import BoundedCache

TOC_LEVELS = (2, 3)

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "u", "ul", "img",
}
_ALLOWED_ATTRS = {
    "*": {"id", "class"},
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
}


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str


@dataclass(frozen=True)
class Section:
    """A part of a manual from one heading to the next (the text before the first is anchor '')."""

    anchor: str
    heading: str
    level: int
    text: str  # the Markdown source of the section, heading line included


def slugify(text: str) -> str:
    """An anchor for a heading: NFKC, lower case, letters (any script) and digits joined by '-'."""
    text = unicodedata.normalize("NFKC", text).lower().strip()
    text = re.sub(r"[^\w\s-]", "", text)
    return re.sub(r"[\s_]+", "-", text).strip("-") or "section"


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.use(front_matter_plugin)
    md.use(deflist_plugin)
    md.validateLink = _safe_link  # type: ignore[method-assign]  # markdown-it-py's documented hook
    return md


def _safe_link(url: str) -> bool:
    # No javascript:/data:/vbscript: links; relative links, http(s) and mailto only.
    scheme = re.match(r"^\s*([a-zA-Z][a-zA-Z0-9+.-]*):", url)
    return scheme is None or scheme.group(1).lower() in {"http", "https", "mailto"}


_MD = _parser()


def _assign_anchors(tokens: list) -> list[Heading]:
    headings: list[Heading] = []
    seen: dict[str, int] = {}
    for i, tok in enumerate(tokens):
        if tok.type in ("th_open", "td_open") and tok.attrGet("style"):
            # The CSP forbids inline styles: table alignment becomes a class.
            align = str(tok.attrGet("style")).removeprefix("text-align:")
            tok.attrs.pop("style", None)
            tok.attrSet("class", f"align-{align}")
            continue
        if tok.type != "heading_open":
            continue
        text = tokens[i + 1].content
        base = slugify(text)
        n = seen.get(base, 0)
        seen[base] = n + 1
        anchor = base if n == 0 else f"{base}-{n + 1}"
        tok.attrSet("id", anchor)
        headings.append(Heading(int(tok.tag[1]), text, anchor))
    return headings


@dataclass(frozen=True)
class FileLinks:
    """Where a version's (or a draft's) `files/…` are served, and what each file is: (name, type,
    size). A link to one shows its type and size; a link to a file that is not there says so."""

    base_url: str  # ends with "/", e.g. /manuals/<slug>/v/3/files/
    files: tuple[tuple[str, str, str], ...] = ()


def _resolve_files(tokens: list, links: FileLinks) -> None:
    known = {name: (label, size) for name, label, size in links.files}
    for tok in tokens:
        children = tok.children or []
        for i, child in enumerate(children):
            attr = "src" if child.type == "image" else "href" if child.type == "link_open" else None
            url = str(child.attrGet(attr) or "") if attr else ""
            if not url.startswith("files/"):
                continue
            rest = url.removeprefix("files/")
            child.attrSet(attr, links.base_url + rest)
            if attr == "src":
                continue
            info = known.get(unquote(rest))
            child.attrSet("class", "file-link" if info else "file-link file-missing")
            note = f"（{info[0]}・{info[1]}）" if info else "（ファイルが登録されていません）"
            close = next((j for j in range(i + 1, len(children)) if children[j].type == "link_close"), None)
            if close is not None:
                meta = children[close].__class__(type="html_inline", tag="", nesting=0)
                meta.content = f'<span class="file-meta">{html_lib.escape(note)}</span>'
                children.insert(close + 1, meta)


@dataclass(frozen=True)
class Rendered:
    html: str
    headings: tuple[Heading, ...]

    @property
    def toc(self) -> list[Heading]:
        return [h for h in self.headings if h.level in TOC_LEVELS]


# The same text always renders the same: kept per process, bounded (a worker's memory does not grow
# with the number of distinct manuals it has shown).
_RENDERED: BoundedCache[Rendered] = BoundedCache(4 * 1024 * 1024, lambda r: 2 * len(r.html) + 200 * len(r.headings))


def render(text: str, files: FileLinks | None = None) -> Rendered:
    """Render Markdown (front matter is skipped) to sanitised HTML, with heading anchors. With
    `files`, links and images to `files/…` point at that version's files."""
    key = hashlib.blake2b(text.encode("utf-8"), digest_size=16)
    if files is not None:
        key.update(b"\0" + repr(files).encode("utf-8"))
    return _RENDERED.get(key.digest(), lambda: _render(text, files))


def _render(text: str, files: FileLinks | None = None) -> Rendered:
    tokens = _MD.parse(text)
    headings = _assign_anchors(tokens)
    if files is not None:
        _resolve_files(tokens, files)
    html = _MD.renderer.render(tokens, _MD.options, {})
    clean = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRS,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    return Rendered(clean, tuple(headings))


_HEADING_LINE = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^(```|~~~)")


def split_sections(body: str) -> list[Section]:
    """Split Markdown (without front matter) at ATX headings, anchors matching `render`."""
    sections: list[Section] = []
    seen: dict[str, int] = {}
    current: list[str] = []
    anchor, heading, level = "", "", 0
    in_fence = False
    for line in body.splitlines(keepends=True):
        if _FENCE.match(line.lstrip()):
            in_fence = not in_fence
        m = None if in_fence else _HEADING_LINE.match(line.rstrip("\n"))
        if m:
            if current:
                sections.append(Section(anchor, heading, level, "".join(current)))
            heading = m.group(2).strip()
            level = len(m.group(1))
            base = slugify(heading)
            n = seen.get(base, 0)
            seen[base] = n + 1
            anchor = base if n == 0 else f"{base}-{n + 1}"
            current = [line]
        else:
            current.append(line)
    if current:
        sections.append(Section(anchor, heading, level, "".join(current)))
    return sections


def plain_text(markdown: str) -> str:
    """Markdown source reduced to readable text (for search snippets)."""
    text = re.sub(r"^#{1,6}\s+", "", markdown, flags=re.M)
    text = re.sub(r"^\s*\|?[-:| ]+\|?\s*$", "", text, flags=re.M)  # table rules
    text = re.sub(r"[|*_`>#]", " ", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[ \t\u3000]+", " ", text).strip()
