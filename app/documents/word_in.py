""".docx → Markdown: headings, numbered and bulleted lists, tables, bold, images; and a report.

A pure function: `docx_to_markdown(bytes)` → WordResult(markdown, files, warnings). The file is
checked first (files.check_upload: content, sizes, zip bomb); every XML part read here is parsed
with defusedxml (no DTD), so the parts mammoth reads afterwards carry no entity tricks. Mammoth
reads the structure (its own Markdown writer is deprecated: it recommends HTML and a separate
HTML → Markdown step, which is `_MarkdownWriter` below, written for what mammoth emits). What
Markdown cannot hold (tracked changes, comments, text boxes, shapes …) is listed in `warnings`.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import string
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

import lxml.html
import mammoth

from app.documents import files
from app.documents.files import DEFAULT_LIMITS, Limits, parse_xml, read_member
from app.errors import ValidationError

log = logging.getLogger(__name__)

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
WPS = "{http://schemas.microsoft.com/office/word/2010/wordprocessingShape}"
V = "{urn:schemas-microsoft-com:vml}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"

GRAPHIC_KINDS = {
    "http://schemas.openxmlformats.org/drawingml/2006/chart": "グラフ",
    "http://schemas.openxmlformats.org/drawingml/2006/diagram": "SmartArt",
    "http://schemas.microsoft.com/office/word/2010/wordprocessingGroup": "図形のグループ",
    "http://schemas.microsoft.com/office/word/2010/wordprocessingCanvas": "描画キャンバス",
}
VML_SHAPES = {f"{V}{n}" for n in ("shape", "rect", "roundrect", "oval", "line", "polyline", "arc", "curve", "group")}

# Headings also under Japanese style names (some tools write 見出し 1 into styles.xml); Word's own
# table of contents is dropped: the manual page builds its 目次 from the headings.
STYLE_MAP = "\n".join(
    [f"p[style-name='見出し {n}'] => h{n}:fresh" for n in range(1, 7)]
    + ["p[style-name='Title'] => h1:fresh", "p[style-name='表題'] => h1:fresh", "p[style-name='Subtitle'] => p:fresh"]
    + [f"p[style-name='toc {n}'] => !" for n in range(1, 10)]
    + [f"p[style-name='目次 {n}'] => !" for n in range(1, 10)]
    + ["p[style-name='TOC Heading'] => !"]
)


@dataclass
class ExtractedFile:
    name: str
    kind: files.Kind
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class WordResult:
    markdown: str
    files: list[ExtractedFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _walk(el: ET.Element, skip_fallback: bool = True):  # type: ignore[no-untyped-def]
    """Every element, without the mc:Fallback copies Word writes beside modern drawings."""
    yield el
    for child in el:
        if skip_fallback and child.tag == f"{MC}Fallback":
            continue
        yield from _walk(child, skip_fallback)


def _text(el: ET.Element) -> str:
    return "".join(t.text or "" for t in el.iter(f"{W}t"))


def _field_code(el: ET.Element) -> str:
    """The instruction of a field (w:instrText or w:fldSimple), upper case: TOC … for a table of contents."""
    if el.tag == f"{W}instrText":
        return (el.text or "").strip().upper()
    if el.tag == f"{W}fldSimple":
        return el.get(f"{W}instr", "").strip().upper()
    return ""


def _short(text: str, n: int = 30) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n] + "…"


@dataclass
class _Scan:
    warnings: list[str]
    document_xml: bytes | None  # rewritten document.xml, when text would otherwise be lost
    toc: bool


def _scan(zf: zipfile.ZipFile, label: str, limits: Limits) -> _Scan:
    """Read the parts with defusedxml: count what will not be carried over; unwrap the few
    wrappers whose text mammoth would drop (ルビ, simple fields)."""
    names = set(zf.namelist())
    doc_xml = read_member(zf, "word/document.xml", label, limits)
    root = parse_xml(doc_xml, label)
    # Every other XML part is parsed too, so none reaches mammoth unchecked.
    parts: dict[str, ET.Element] = {}
    for name in sorted(names):
        if name.endswith((".xml", ".rels")) and name != "word/document.xml":
            parts[name] = parse_xml(read_member(zf, name, label, limits), label)

    counts: Counter[str] = Counter()
    for el in _walk(root):
        tag = el.tag
        if tag in (f"{W}ins", f"{W}moveTo", f"{W}cellIns"):
            counts["ins"] += 1
        elif tag in (f"{W}del", f"{W}moveFrom", f"{W}cellDel"):
            counts["del"] += 1
        elif tag in (f"{W}rPrChange", f"{W}pPrChange", f"{W}tblPrChange", f"{W}tcPrChange", f"{W}sectPrChange"):
            counts["format_change"] += 1
        elif tag == f"{W}txbxContent":
            counts["textbox"] += 1
        elif tag == f"{WPS}wsp" and el.find(f"{WPS}txbx") is None:
            counts["shape"] += 1
        elif tag == f"{A}graphicData" and el.get("uri") in GRAPHIC_KINDS:
            counts[GRAPHIC_KINDS[el.get("uri", "")]] += 1
        elif tag in VML_SHAPES and el.find(f"{V}imagedata") is None and el.find(f"{V}textbox") is None \
                and tag != f"{V}group":
            counts["shape"] += 1
        elif tag == f"{W}object":
            counts["object"] += 1
        elif tag == f"{M}oMath":
            counts["math"] += 1
        elif tag == f"{W}ruby":
            counts["ruby"] += 1
        elif _field_code(el).startswith("TOC"):
            counts["toc"] += 1

    warnings: list[str] = []
    if counts["ins"] or counts["del"] or counts["format_change"]:
        parts_text = "・".join(p for p in (
            f"挿入{counts['ins']}件" if counts["ins"] else "", f"削除{counts['del']}件" if counts["del"] else "",
            f"書式の変更{counts['format_change']}件" if counts["format_change"] else "") if p)
        warnings.append(f"変更履歴（{parts_text}）が残っていました。すべて承諾した状態（挿入は本文に入れ、削除した文字は除く）で"
                        "取り込みました。Word の内容と見比べてください。")
    comments = parts.get("word/comments.xml")
    if comments is not None:
        found = [c for c in comments.iter(f"{W}comment")]
        if found:
            examples = "、".join(f"「{_short(_text(c))}」" for c in found[:3])
            warnings.append(f"コメント{len(found)}件は取り込みません（{examples}{' ほか' if len(found) > 3 else ''}）。"
                            "必要な内容は本文に書き加えてください。")
    if counts["textbox"]:
        warnings.append(f"テキストボックス{counts['textbox']}個の文字は、枠や位置を再現できないため、置かれていた段落の後に"
                        "通常の段落として入れました。位置を確認してください。")
    if counts["shape"]:
        warnings.append(f"図形（矢印・四角・線など）{counts['shape']}個は取り込めません。必要なら画像にして挿入してください。")
    for label_jp in GRAPHIC_KINDS.values():
        if counts[label_jp]:
            warnings.append(f"{label_jp}{counts[label_jp]}個は取り込めません。必要なら画像にして挿入してください。")
    if counts["object"]:
        warnings.append(f"埋め込みオブジェクト（Excel の表など）{counts['object']}個は取り込めません。表は Word の表にするか、"
                        "様式として添付してください。")
    if counts["math"]:
        warnings.append(f"数式{counts['math']}個は取り込めません。文章で書き直してください。")
    if counts["ruby"]:
        warnings.append(f"ルビ（ふりがな）{counts['ruby']}か所は、ふりがなを除いた文字で取り込みました。")
    if counts["toc"]:
        warnings.append("Word の目次は取り込んでいません（マニュアルの画面では見出しから目次が自動で作られます）。")
    header_texts = [
        _text(el) for name, el in parts.items()
        if re.match(r"word/(header|footer)\d*\.xml$", name)
    ]
    if any(re.sub(r"[\s\d\-/ページ]", "", t) for t in header_texts):
        warnings.append("ヘッダー・フッターの文字は取り込みません（ページ番号などは出力時に付きます）。")

    rewritten = None
    if counts["ruby"] or any(True for _ in root.iter(f"{W}fldSimple")):
        _unwrap(root)
        rewritten = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return _Scan(warnings, rewritten, bool(counts["toc"]))


def _unwrap(root: ET.Element) -> None:
    """Replace wrappers mammoth ignores whole by the runs they hold: a ruby keeps its base text
    (the reading is dropped); a simple field keeps its shown result."""
    changed = True
    while changed:
        changed = False
        for parent in root.iter():
            for i, child in enumerate(list(parent)):
                if child.tag == f"{W}fldSimple":
                    parent[i:i + 1] = list(child)
                    changed = True
                    break
                if child.tag == f"{W}r" and child.find(f"{W}ruby") is not None:
                    base = child.find(f"{W}ruby/{W}rubyBase")
                    parent[i:i + 1] = list(base) if base is not None else []
                    changed = True
                    break
            if changed:
                break


def _replace_member(data: bytes, name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, content if info.filename == name else src.read(info.filename))
    return out.getvalue()


class _Images:
    """Mammoth's image callback: PNG/JPEG kept (checked by content), GIF/BMP/TIFF made PNG, the
    rest (EMF/WMF …) become a visible placeholder in the text."""

    PLACEHOLDER = "unsupported:"

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.files: list[ExtractedFile] = []
        self.by_hash: dict[str, str] = {}
        self.unsupported: Counter[str] = Counter()
        self.converted = 0

    def __call__(self, image) -> dict[str, str]:  # type: ignore[no-untyped-def]
        content_type = (image.content_type or "").lower()
        try:
            with image.open() as f:
                raw = f.read(self.limits.zip_member_bytes + 1)
        except Exception:  # noqa: BLE001 - a missing or external image: say so in the text
            self.unsupported["リンクされた画像"] += 1
            return {"src": self.PLACEHOLDER + "リンク"}
        found = files.sniff(raw)
        if found not in (files.PNG, files.JPG):
            converted = self._to_png(raw)
            if converted is None:
                label = content_type.split("/")[-1].removeprefix("x-").upper() or "不明"
                self.unsupported[label] += 1
                return {"src": self.PLACEHOLDER + label}
            raw, found = converted, files.PNG
            self.converted += 1
        digest = hashlib.sha256(raw).hexdigest()
        if digest not in self.by_hash:
            name = f"image-{len(self.files) + 1:02d}{found.extension}"
            try:
                checked = files.check_upload(name, raw, allowed=files.IMAGES, limits=self.limits)
            except ValidationError:
                self.unsupported["壊れた画像"] += 1
                return {"src": self.PLACEHOLDER + "壊れた画像"}
            self.files.append(ExtractedFile(checked.name, checked.kind, checked.data))
            self.by_hash[digest] = checked.name
        return {"src": f"files/{self.by_hash[digest]}"}

    def _to_png(self, raw: bytes) -> bytes | None:
        if files.sniff(raw) not in ("GIF 画像", "BMP 画像", "TIFF 画像"):
            return None
        from PIL import Image

        try:
            with Image.open(io.BytesIO(raw)) as im:
                if im.width * im.height > self.limits.image_pixels:
                    return None
                out = io.BytesIO()
                im.convert("RGBA" if "A" in im.getbands() or "transparency" in im.info else "RGB").save(out, "PNG")
                return out.getvalue()
        except (OSError, ValueError, Image.DecompressionBombError):
            return None


def docx_to_markdown(data: bytes, *, filename: str = "document.docx", limits: Limits = DEFAULT_LIMITS) -> WordResult:
    """Word in. Raises ValidationError (in Japanese) for a file that is not a safe .docx."""
    upload = files.check_upload(filename, data, allowed=frozenset({"docx"}), limits=limits)
    label = f"Word 文書「{upload.name}」"
    zf = files.open_zip(data, label, limits)
    scan = _scan(zf, label, limits)
    if scan.document_xml is not None:
        data = _replace_member(data, "word/document.xml", scan.document_xml)
    images = _Images(limits)
    writer = _MarkdownWriter()
    try:
        result = mammoth.convert_to_html(io.BytesIO(data), style_map=STYLE_MAP, include_embedded_style_map=False,
                                         convert_image=mammoth.images.img_element(images))
        markdown = writer.convert(result.value)
    except ValidationError:
        raise
    except Exception as exc:  # noqa: BLE001 - an untrusted file may break the reader anywhere: a 400, never a 500
        log.warning("docx conversion failed for %s: %r", upload.name, exc)
        raise ValidationError(f"{label}を読み取れませんでした。Word で開いて保存し直してください。",
                              details=[f"（詳細: {type(exc).__name__}）"]) from None
    warnings = list(scan.warnings)
    warnings += writer.warnings()
    if images.unsupported:
        kinds = "、".join(f"{k}{n}点" for k, n in images.unsupported.items())
        warnings.append(f"画像のうち {kinds} は取り込めません。本文の「［取り込めなかった画像］」の位置に PNG か JPEG で"
                        "入れ直してください。")
    if images.converted:
        warnings.append(f"画像{images.converted}点は PNG に変換して取り込みました。")
    styles = sorted({m.message.split("'")[1] for m in result.messages
                     if m.message.startswith("Unrecognised paragraph style") and "'" in m.message})
    if styles:
        warnings.append(f"段落スタイル「{'」「'.join(styles[:8])}」は通常の段落として取り込みました。"
                        "見出しにする行は「見出し 1〜3」のスタイルにするか、取り込み後に「## 」を付けてください。")
    if not writer.headings and writer.paragraphs >= 5:
        warnings.append("見出しが見つかりませんでした（Word の「見出し」スタイルが使われていません）。"
                        "節の見出しにする行の先頭に「## 」を付けてください。")
    if not markdown.strip():
        raise ValidationError(f"{label}に取り込める本文がありません。")
    return WordResult(markdown, images.files, warnings)


# --- HTML (as mammoth writes it) → Markdown -------------------------------------------------

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


class _MarkdownWriter:
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
            if src.startswith(_Images.PLACEHOLDER):
                out.append(f"［取り込めなかった画像（{src.removeprefix(_Images.PLACEHOLDER)}）］")
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
