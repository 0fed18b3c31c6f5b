"""HTML as mammoth writes it → Markdown (the step mammoth recommends instead of its own writer).

Written for what mammoth emits from a Word document: headings, paragraphs, lists, tables with
merged cells, bold / italic / strike, links and images. Escapes what Markdown would read as syntax.
"""

from __future__ import annotations

import re
import string
import unicodedata

import lxml.html

# The src word_in gives an image it could not carry over (EMF, WMF …): shown as a placeholder.
IMAGE_PLACEHOLDER = "unsupported:"

_OPEN = {"strong": "\x01", "b": "\x01", "em": "\x03", "i": "\x03", "s": "\x05", "del": "\x05"}
_CLOSE = {"\x01": "\x02", "\x03": "\x04", "\x05": "\x06"}
_MARK = {"\x01": "**", "\x03": "*", "\x05": "~~"}
_SENTINELS = set("\x01\x02\x03\x04\x05\x06")


def _is_punct(ch: str) -> bool:
    return ch in string.punctuation or ch in _SENTINELS or unicodedata.category(ch)[0] in "PS"


def _is_space(ch: str) -> bool:
    return ch == "" or ch.isspace()


def _finish_marks(s: str) -> str:
    """Emphasis markers that CommonMark will really open and close next to Japanese text: a
    marker between a letter and punctuation (**「申請書」**は) does not flank, so edge
    punctuation moves outside the marker (「**申請書**」は)."""
    for open_ch, close_ch in _CLOSE.items():
        s = s.replace(close_ch + open_ch, "")  # adjacent runs with the same format: one span
    pattern = re.compile("([\x01\x03\x05])([^\x01-\x06]*)([\x02\x04\x06])")
    while True:
        m = pattern.search(s)
        if m is None:
            break
        open_ch, inner = m.group(1), m.group(2)
        before = s[m.start() - 1] if m.start() > 0 else ""
        after = s[m.end()] if m.end() < len(s) else ""
        stripped = inner.strip()
        lead = inner[: len(inner) - len(inner.lstrip())]
        trail = inner[len(inner.rstrip()):]
        prefix, suffix = lead, trail
        if lead:
            before = lead[-1]
        if trail:
            after = trail[0]
        # Moved out whenever a letter or punctuation (not a space) is outside: the parser's
        # flanking test then passes on both sides, and 「…」 stay paired outside the marks.
        if stripped and _is_punct(stripped[0]) and not _is_space(before):
            prefix += stripped[0]
            stripped = stripped[1:]
        if stripped and _is_punct(stripped[-1]) and not _is_space(after):
            suffix = stripped[-1] + suffix
            stripped = stripped[:-1]
        mark = _MARK[open_ch]
        replacement = prefix + (f"{mark}{stripped}{mark}" if stripped else "") + suffix
        s = s[: m.start()] + replacement + s[m.end():]
    return s


_INLINE_ESCAPE = re.compile(r"([\\`*_\[\]<>~|])")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


def _escape(text: str) -> str:
    text = text.replace("\t", " ").replace("\xa0", " ")
    return _ENTITY.sub(r"\\&", _INLINE_ESCAPE.sub(r"\\\1", text))


_LINE_START = re.compile(r"^([#>+=\-]|\d{1,9}(?=[.)]))")


def _escape_line_start(line: str) -> str:
    line = line.lstrip(" ")
    m = _LINE_START.match(line)
    if not m:
        return line
    if m.group(1)[0].isdigit():
        end = m.end()
        return line[:end] + "\\" + line[end:]
    return "\\" + line


class MarkdownWriter:
    BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "div", "blockquote", "pre", "hr"}

    def __init__(self) -> None:
        self.headings = 0
        self.paragraphs = 0
        self.merged_cells = 0
        self.cell_breaks = 0
        self.nested_tables = 0
        self.footnotes = 0

    def warnings(self) -> list[str]:
        out = []
        if self.merged_cells:
            out.append(f"表の結合されたセル{self.merged_cells}か所は、結合を解いて空のセルを補いました。表を確認してください。")
        if self.cell_breaks:
            out.append(f"表のセルの中の改行・段落{self.cell_breaks}か所は、1行にまとめました。")
        if self.nested_tables:
            out.append(f"表の中の表{self.nested_tables}個は、文字だけをセルに入れました。")
        if self.footnotes:
            out.append(f"脚注{self.footnotes}件は、本文の最後に「（注1）…」の形でまとめました。")
        return out

    def convert(self, html: str) -> str:
        if not html.strip():
            return ""
        root = lxml.html.fragment_fromstring(html, create_parent="div")
        blocks = self._blocks(root)
        return "\n\n".join(b for b in blocks if b.strip()) + "\n"

    # blocks ----------------------------------------------------------------------------------
    def _blocks(self, container) -> list[str]:  # type: ignore[no-untyped-def]
        out: list[str] = []
        pending: list = []  # stray inline content at block level

        def flush() -> None:
            if pending:
                text = self._inline_nodes(pending)
                if text.strip():
                    out.append(self._paragraph(text))
                pending.clear()

        if container.text and container.text.strip():
            pending.append(container.text)
        for child in container:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag in self.BLOCKS:
                flush()
                out.extend(self._block(child))
            else:
                pending.append(child)
            if child.tail and child.tail.strip():
                pending.append(child.tail)
        flush()
        return out

    def _block(self, el) -> list[str]:  # type: ignore[no-untyped-def]
        tag = el.tag
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            text = self._inline(el, single_line=True).strip()
            if not text:
                return []
            self.headings += 1
            return ["#" * int(tag[1]) + " " + text]
        if tag == "p":
            text = self._inline(el)
            if not text.strip():
                return []
            self.paragraphs += 1
            return [self._paragraph(text)]
        if tag in ("ul", "ol"):
            if self._is_notes(el):
                return self._notes(el)
            return ["\n".join(self._list(el, tag == "ol"))]
        if tag == "table":
            return [self._table(el)]
        if tag == "hr":
            return ["---"]
        return self._blocks(el)

    def _paragraph(self, text: str) -> str:
        lines = [_escape_line_start(line) for line in text.split("\n")]
        return "\\\n".join(line for line in lines)

    def _is_notes(self, el) -> bool:  # type: ignore[no-untyped-def]
        items = [li for li in el if li.tag == "li"]
        return bool(items) and all((li.get("id") or "").startswith(("footnote-", "endnote-")) for li in items)

    def _notes(self, el) -> list[str]:  # type: ignore[no-untyped-def]
        out = []
        for li in el:
            if li.tag != "li":
                continue
            self.footnotes += 1
            n = (li.get("id") or "").rsplit("-", 1)[-1]
            text = " ".join(self._inline(p, single_line=True).strip() for p in li.iter("p")) or self._inline(li)
            out.append(self._paragraph(f"（注{n}）{text.strip()}"))
        return out

    def _list(self, el, ordered: bool, indent: str = "") -> list[str]:  # type: ignore[no-untyped-def]
        lines: list[str] = []
        n = 0
        for li in el:
            if li.tag != "li":
                continue
            n += 1
            marker = f"{n}. " if ordered else "- "
            inner_indent = indent + " " * len(marker)
            inline_nodes: list = [li.text] if li.text else []
            nested: list[str] = []
            for child in li:
                if child.tag in ("ul", "ol"):
                    nested += self._list(child, child.tag == "ol", inner_indent)
                elif child.tag in self.BLOCKS:
                    for block in self._block(child):
                        nested.append("")
                        nested += [inner_indent + line for line in block.split("\n")]
                else:
                    inline_nodes.append(child)
                if child.tail:
                    inline_nodes.append(child.tail)
            text = self._inline_nodes(inline_nodes).strip()
            first, *rest = (self._paragraph(text) if text else "").split("\n")
            lines.append(indent + marker + first)
            lines += [inner_indent + line for line in rest]
            lines += nested
        return lines

    def _table(self, el) -> str:  # type: ignore[no-untyped-def]
        rows = [tr for tr in el.iter("tr") if self._owning_table(tr) is el]
        grid: list[list[str]] = []
        spans: dict[int, int] = {}  # column → rows still covered by a rowspan above
        for tr in rows:
            cells: list[str] = []
            col = 0
            for td in tr:
                if td.tag not in ("td", "th"):
                    continue
                col = _fill_spans(spans, cells, col)
                cells.append(self._cell(td))
                colspan = _int(td.get("colspan"))
                rowspan = _int(td.get("rowspan"))
                if colspan > 1 or rowspan > 1:
                    self.merged_cells += 1
                for k in range(colspan):
                    if k:
                        cells.append("")
                    if rowspan > 1:
                        spans[col + k] = rowspan - 1
                col += colspan
            col = _fill_spans(spans, cells, col)
            for c in [c for c, left in spans.items() if left > 0 and c >= col]:
                spans[c] -= 1
                cells.append("")
            grid.append(cells)
        if not grid:
            return ""
        width = max(len(r) for r in grid) or 1
        grid = [r + [""] * (width - len(r)) for r in grid]

        def line(cells: list[str]) -> str:
            return "| " + " | ".join(c if c else " " for c in cells) + " |"

        out = [line(grid[0]), "| " + " | ".join(["---"] * width) + " |"]
        out += [line(r) for r in grid[1:]]
        return "\n".join(out)

    def _owning_table(self, tr):  # type: ignore[no-untyped-def]
        node = tr.getparent()
        while node is not None and node.tag != "table":
            node = node.getparent()
        return node

    def _cell(self, td) -> str:  # type: ignore[no-untyped-def]
        parts: list[str] = []
        if td.find(".//table") is not None:
            self.nested_tables += 1
            return " ".join(_escape(t) for t in td.itertext() if t.strip())
        for node in self._cell_parts(td):
            text = node if isinstance(node, str) else self._inline(node, single_line=True)
            if text.strip():
                parts.append(text.strip())
        if len(parts) > 1:
            self.cell_breaks += len(parts) - 1
        return " ".join(parts)

    def _cell_parts(self, td) -> list:  # type: ignore[no-untyped-def]
        out: list = []
        if td.text and td.text.strip():
            out.append(_escape(td.text))
        for child in td:
            if child.tag in ("ul", "ol"):
                for li in child.iter("li"):
                    out.append("・" + self._inline(li, single_line=True, skip_lists=True).strip())
            else:
                out.append(child)
            if child.tail and child.tail.strip():
                out.append(_escape(child.tail))
        return out

    # inline ----------------------------------------------------------------------------------
    def _inline(self, el, *, single_line: bool = False, skip_lists: bool = False) -> str:  # type: ignore[no-untyped-def]
        nodes: list = [el.text] if el.text else []
        for child in el:
            if skip_lists and child.tag in ("ul", "ol"):
                pass
            else:
                nodes.append(child)
            if child.tail:
                nodes.append(child.tail)
        return self._inline_nodes(nodes, single_line=single_line)

    def _inline_nodes(self, nodes: list, *, single_line: bool = False) -> str:
        out: list[str] = []
        for node in nodes:
            self._emit(node, out, single_line)
        text = _finish_marks("".join(out))
        if single_line:
            text = text.replace("\n", " ")
        return text

    def _emit(self, node, out: list[str], single_line: bool) -> None:  # type: ignore[no-untyped-def]
        if isinstance(node, str):
            out.append(_escape(node))
            return
        tag = node.tag if isinstance(node.tag, str) else ""
        children = [node.text] if node.text else []
        for child in node:
            children.append(child)
            if child.tail:
                children.append(child.tail)
        if tag in _OPEN:
            open_ch = _OPEN[tag]
            out.append(open_ch)
            for c in children:
                self._emit(c, out, single_line)
            out.append(_CLOSE[open_ch])
        elif tag == "br":
            out.append(" " if single_line else "\n")
        elif tag == "img":
            src = node.get("src") or ""
            alt = node.get("alt") or ""
            if src.startswith(IMAGE_PLACEHOLDER):
                out.append(f"［取り込めなかった画像（{src.removeprefix(IMAGE_PLACEHOLDER)}）］")
            else:
                out.append(f"![{_escape(alt or '図')}]({src})")
        elif tag == "a":
            href = node.get("href") or ""
            inner: list[str] = []
            for c in children:
                self._emit(c, inner, single_line)
            text = "".join(inner)
            if href.startswith(("#footnote-ref-", "#endnote-ref-")):
                return  # the back link of a note
            if href.startswith(("#footnote-", "#endnote-")):
                out.append(f"（注{href.rsplit('-', 1)[-1]}）")
            elif re.match(r"^(https?:|mailto:)", href) and text.strip():
                out.append(f"[{text}]({href.replace(' ', '%20').replace(')', '%29').replace('(', '%28')})")
            else:
                out.append(text)
        elif tag in ("sup", "sub", "u", "span", "li", "p", "div"):
            if tag == "sup" and len(node) == 1 and node[0].tag == "a" and not (node.text or "").strip():
                self._emit(node[0], out, single_line)
                return
            for c in children:
                self._emit(c, out, single_line)
        else:
            for c in children:
                self._emit(c, out, single_line)


def _fill_spans(spans: dict[int, int], cells: list[str], col: int) -> int:
    """Empty cells where a rowspan from above covers this row; the next free column."""
    while spans.get(col, 0) > 0:
        spans[col] -= 1
        cells.append("")
        col += 1
    return col


def _int(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 100))
    except ValueError:
        return 1
