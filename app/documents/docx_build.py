"""python-docx building blocks for the city's documents: A4 pages, named Japanese fonts, ruled
tables, and the renderer's HTML written as Word paragraphs (`HtmlToDocx`)."""

from __future__ import annotations

import io
import re
from typing import Any

import lxml.html
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

MINCHO = "ＭＳ 明朝"
GOTHIC = "ＭＳ ゴシック"
LATIN = "Century"
LATIN_HEADING = "Arial"


def fonts(rpr_owner: Any, east_asia: str, latin: str) -> None:
    rpr = rpr_owner.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attr), latin)
    fonts.set(qn("w:eastAsia"), east_asia)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)


def new_document(title: str, *, landscape: bool = False) -> Any:
    doc = Document()
    section = doc.sections[0]
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Mm(297), Mm(210)
        margin = Mm(15)
    else:
        section.page_width, section.page_height = Mm(210), Mm(297)
        margin = Mm(20)
    section.left_margin = section.right_margin = section.top_margin = section.bottom_margin = margin
    normal = doc.styles["Normal"]
    normal.font.size = Pt(10.5)
    fonts(normal.element, MINCHO, LATIN)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "ja-JP")
    normal.element.get_or_add_rPr().append(lang)
    normal.paragraph_format.space_after = Pt(2)
    for level, size in ((1, 16), (2, 13), (3, 11.5), (4, 10.5), (5, 10.5), (6, 10.5)):
        style = doc.styles[f"Heading {level}"]
        style.font.size = Pt(size)
        style.font.bold = True
        style.font.italic = False
        style.font.color.rgb = RGBColor(0, 0, 0)
        fonts(style.element, GOTHIC, LATIN_HEADING)
        style.paragraph_format.space_before = Pt(10 if level <= 2 else 6)
        style.paragraph_format.space_after = Pt(4)
    doc.core_properties.title = title
    doc.core_properties.author = "手引（Tebiki）"
    doc.core_properties.comments = ""
    page_numbers(section)
    return doc


def page_numbers(section: Any) -> None:
    """「- 1 -」centred in the footer (a PAGE field: Word fills in the number)."""
    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.add_run("- ")
    run = p.add_run()
    for kind, text in (("begin", None), (None, "PAGE"), ("separate", None), (None, "1"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
            run._r.append(el)
        elif text == "PAGE":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = " PAGE "
            run._r.append(el)
        else:
            el = OxmlElement("w:t")
            el.text = text
            run._r.append(el)
    p.add_run(" -")


def save(doc: Any) -> bytes:
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def repeat_header(row: Any) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


def no_split(row: Any) -> None:
    el = OxmlElement("w:cantSplit")
    el.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(el)


def shade(cell: Any, fill: str = "E8E8E8") -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def borders(table: Any, inside_h: bool = True) -> None:
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        if edge == "insideH" and not inside_h:
            el.set(qn("w:val"), "nil")
        else:
            el.set(qn("w:val"), "single")
            el.set(qn("w:sz"), "4")
            el.set(qn("w:space"), "0")
            el.set(qn("w:color"), "000000")
        borders.append(el)
    tbl_pr.append(borders)


def cell_bottom(cell: Any) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    borders = OxmlElement("w:tcBorders")
    el = OxmlElement("w:bottom")
    for k, v in (("w:val", "single"), ("w:sz", "4"), ("w:space", "0"), ("w:color", "000000")):
        el.set(qn(k), v)
    borders.append(el)
    tc_pr.append(borders)


def add_table(doc_or_cell: Any, rows: int, cols: int) -> Any:
    table = doc_or_cell.add_table(rows=rows, cols=cols)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    return table


def set_widths(table: Any, widths_mm: list[float]) -> None:
    """Fixed column widths (Word reads the cells', LibreOffice the grid's: both are set)."""
    table.autofit = False
    for col, mm in zip(table.columns, widths_mm, strict=False):
        col.width = Mm(mm)
    for row in table.rows:
        for cell, mm in zip(row.cells, widths_mm, strict=False):
            cell.width = Mm(mm)


def min_height(row: Any, mm: float) -> None:
    from docx.enum.table import WD_ROW_HEIGHT_RULE

    row.height = Mm(mm)
    row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST


def cell_text(cell: Any, text: str, *, bold: bool = False, center: bool = False) -> None:
    p = cell.paragraphs[0]
    lines = (text or "").split("\n")
    for i, line in enumerate(lines):
        run = p.add_run(line)
        run.bold = bold or None
        if i < len(lines) - 1:
            run.add_break()
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER


def hyperlink(paragraph: Any, url: str, text: str) -> None:
    r_id = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), r_id)
    run = OxmlElement("w:r")
    rpr = OxmlElement("w:rPr")
    color = OxmlElement("w:color")
    color.set(qn("w:val"), "0563C1")
    underline = OxmlElement("w:u")
    underline.set(qn("w:val"), "single")
    rpr.append(color)
    rpr.append(underline)
    run.append(rpr)
    t = OxmlElement("w:t")
    t.set(qn("xml:space"), "preserve")
    t.text = text
    run.append(t)
    link.append(run)
    paragraph._p.append(link)


_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


def join_soft_breaks(text: str, prev: str) -> tuple[str, str]:
    """HTML white space as a browser shows it, except that a soft line break between two
    Japanese characters joins them (a space there would show as a gap)."""
    out = []
    last = prev
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in " \t\r\n":
            j = i
            while j < len(text) and text[j] in " \t\r\n":
                j += 1
            nxt = text[j] if j < len(text) else ""
            has_newline = "\n" in text[i:j]
            if last in ("", " ") or (has_newline and _CJK.match(last or "") and _CJK.match(nxt or "")):
                pass
            else:
                out.append(" ")
                last = " "
            i = j
            continue
        out.append(ch)
        last = ch
        i += 1
    return "".join(out), last


class HtmlToDocx:
    """Writes the renderer's HTML (headings, paragraphs, lists, tables, emphasis, links, code,
    quotes) into a python-docx document."""

    OL_MARKERS = (lambda n: f"{n}.", lambda n: f"({n})", lambda n: "アイウエオカキクケコサシスセソタチツテト"[(n - 1) % 20])
    UL_MARKERS = ("・", "－", "・")

    def __init__(self, doc: Any) -> None:
        self.doc = doc
        self._last = ""
        # Style ids looked up once: python-docx resolves a style name by scanning all styles.
        self._heading = {n: doc.styles[f"Heading {n}"].style_id for n in range(1, 7)}

    def add(self, html: str) -> None:
        if not html.strip():
            return
        root = lxml.html.fragment_fromstring(html, create_parent="div")
        self._blocks(root, self.doc, depth=0)

    def _blocks(self, container: Any, target: Any, depth: int) -> None:
        loose: list[Any] = []
        for child in container:
            if not isinstance(child.tag, str):
                continue
            tag = child.tag
            if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                p = target.add_paragraph()
                p._p.style = self._heading[int(tag[1])]
                self._inline(p, child)
            elif tag == "p":
                self._inline(target.add_paragraph(), child)
            elif tag in ("ul", "ol"):
                self._list(child, target, depth, tag == "ol")
            elif tag == "table":
                self._table(child, target)
            elif tag == "pre":
                for line in (child.text_content() or "").rstrip("\n").split("\n"):
                    run = target.add_paragraph().add_run(line)
                    fonts(run._r, GOTHIC, "Courier New")
            elif tag == "blockquote":
                for sub in child.iter("p"):
                    p = target.add_paragraph()
                    p.paragraph_format.left_indent = Mm(8)
                    self._inline(p, sub)
            elif tag == "hr":
                p = target.add_paragraph()
                p_pr = p._p.get_or_add_pPr()
                bdr = OxmlElement("w:pBdr")
                bottom = OxmlElement("w:bottom")
                for k, v in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
                    bottom.set(qn(k), v)
                bdr.append(bottom)
                p_pr.append(bdr)
            elif tag == "dl":
                for item in child:
                    p = target.add_paragraph()
                    if item.tag == "dt":
                        self._inline(p, item, bold=True)
                    else:
                        p.paragraph_format.left_indent = Mm(8)
                        self._inline(p, item)
            elif tag == "div":
                self._blocks(child, target, depth)
            else:
                loose.append(child)
        for el in loose:  # stray inline content (rare in the renderer's output)
            self._inline(target.add_paragraph(), el)

    def _list(self, el: Any, target: Any, depth: int, ordered: bool) -> None:
        start = int(el.get("start") or 1) if ordered else 1
        n = start - 1
        for li in el:
            if li.tag != "li":
                continue
            n += 1
            marker = self.OL_MARKERS[min(depth, 2)](n) if ordered else self.UL_MARKERS[min(depth, 2)]
            p = target.add_paragraph()
            fmt = p.paragraph_format
            fmt.left_indent = Mm(7 * (depth + 1))
            fmt.first_line_indent = Mm(-7)
            fmt.space_after = Pt(1)
            p.add_run(marker + "\u3000" if not ordered else marker + " ")
            self._last = " "
            inline_parent = li
            paragraphs = [c for c in li if c.tag == "p"]
            if paragraphs:
                inline_parent = paragraphs[0]
            self._inline(p, inline_parent, skip=("ul", "ol", "p", "table"))
            for extra in paragraphs[1:]:
                q = target.add_paragraph()
                q.paragraph_format.left_indent = Mm(7 * (depth + 1))
                self._inline(q, extra)
            for child in li:
                if child.tag in ("ul", "ol"):
                    self._list(child, target, depth + 1, child.tag == "ol")
                elif child.tag == "table":
                    self._table(child, target)

    def _table(self, el: Any, target: Any) -> None:
        rows = [tr for tr in el.iter("tr")]
        if not rows:
            return
        width = max(sum(1 for c in tr if c.tag in ("td", "th")) for tr in rows) or 1
        table = add_table(target, len(rows), width)
        for r, tr in enumerate(rows):
            cells = [c for c in tr if c.tag in ("td", "th")]
            header = tr.getparent() is not None and tr.getparent().tag == "thead"
            if header:
                repeat_header(table.rows[r])
            for c, td in enumerate(cells[:width]):
                cell = table.cell(r, c)
                p = cell.paragraphs[0]
                cls = td.get("class") or ""
                if "align-right" in cls:
                    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                elif "align-center" in cls or header:
                    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
                self._last = ""
                self._inline(p, td, bold=header or td.tag == "th")
                if header:
                    shade(cell)
        self.doc.add_paragraph()

    def _inline(self, p: Any, el: Any, *, bold: bool = False, skip: tuple[str, ...] = ()) -> None:
        self._last = ""
        self._runs(p, el, {"bold": bold}, skip, top=True)

    def _text(self, p: Any, text: str | None, fmt: dict[str, Any]) -> None:
        if not text:
            return
        if fmt.get("pre"):
            value = text
        else:
            value, self._last = join_soft_breaks(text, self._last)
        if not value:
            return
        run = p.add_run(value)
        run.bold = fmt.get("bold") or None
        run.italic = fmt.get("italic") or None
        run.underline = fmt.get("underline") or None
        if fmt.get("strike"):
            run.font.strike = True
        if fmt.get("sup"):
            run.font.superscript = True
        if fmt.get("sub"):
            run.font.subscript = True
        if fmt.get("code"):
            fonts(run._r, GOTHIC, "Courier New")

    def _runs(self, p: Any, el: Any, fmt: dict[str, Any], skip: tuple[str, ...], top: bool = False) -> None:
        if not top:
            tag = el.tag
            if tag == "br":
                p.add_run().add_break(WD_BREAK.LINE)
                self._last = ""
                return
            if tag == "img":
                alt = el.get("alt") or "図"
                self._text(p, f"［図: {alt}（{re.sub(r'^/.*/files/', 'files/', el.get('src') or '')}）］", fmt)
                return
            if tag == "a" and (el.get("href") or "").startswith(("http://", "https://", "mailto:")):
                text = el.text_content()
                hyperlink(p, el.get("href"), text)
                self._last = text[-1:] or self._last
                return
            fmt = dict(fmt)
            if tag in ("strong", "b"):
                fmt["bold"] = True
            elif tag in ("em", "i"):
                fmt["italic"] = True
            elif tag == "u":
                fmt["underline"] = True
            elif tag in ("s", "del"):
                fmt["strike"] = True
            elif tag == "sup":
                fmt["sup"] = True
            elif tag == "sub":
                fmt["sub"] = True
            elif tag == "code":
                fmt["code"] = True
        self._text(p, el.text, fmt)
        for child in el:
            if isinstance(child.tag, str) and child.tag not in skip:
                self._runs(p, child, fmt, skip)
            if child.tail:
                self._text(p, child.tail, fmt)
