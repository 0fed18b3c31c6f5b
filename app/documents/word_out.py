"""Word out (python-docx): a manual version, a 新旧対照表 and a 事務引継書 as .docx on A4.

The manual body is written from the HTML of the one renderer (app/markdown.py), so the .docx,
the PDF and the page show the same thing. Fonts are named, not embedded (Word on the city's PCs
has them): ＭＳ 明朝 for text, ＭＳ ゴシック for headings. Lists carry their numbers as text, so
every list restarts at 1 as it does on the page (Word's list styles number across the document).
"""

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

from app.documents.model import CompareExport, ManualExport, segments
from app.wareki import wareki, wareki_datetime

MINCHO = "ＭＳ 明朝"
GOTHIC = "ＭＳ ゴシック"
LATIN = "Century"
LATIN_HEADING = "Arial"


def _fonts(rpr_owner: Any, east_asia: str, latin: str) -> None:
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
    _fonts(normal.element, MINCHO, LATIN)
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
        _fonts(style.element, GOTHIC, LATIN_HEADING)
        style.paragraph_format.space_before = Pt(10 if level <= 2 else 6)
        style.paragraph_format.space_after = Pt(4)
    doc.core_properties.title = title
    doc.core_properties.author = "手引（Tebiki）"
    doc.core_properties.comments = ""
    _page_numbers(section)
    return doc


def _page_numbers(section: Any) -> None:
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


def _repeat_header(row: Any) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


def _no_split(row: Any) -> None:
    el = OxmlElement("w:cantSplit")
    el.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(el)


def _shade(cell: Any, fill: str = "E8E8E8") -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def _borders(table: Any, inside_h: bool = True) -> None:
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


def _cell_bottom(cell: Any) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    borders = OxmlElement("w:tcBorders")
    el = OxmlElement("w:bottom")
    for k, v in (("w:val", "single"), ("w:sz", "4"), ("w:space", "0"), ("w:color", "000000")):
        el.set(qn(k), v)
    borders.append(el)
    tc_pr.append(borders)


def _table(doc_or_cell: Any, rows: int, cols: int) -> Any:
    table = doc_or_cell.add_table(rows=rows, cols=cols)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    return table


def _widths(table: Any, widths_mm: list[float]) -> None:
    """Fixed column widths (Word reads the cells', LibreOffice the grid's: both are set)."""
    table.autofit = False
    for col, mm in zip(table.columns, widths_mm, strict=False):
        col.width = Mm(mm)
    for row in table.rows:
        for cell, mm in zip(row.cells, widths_mm, strict=False):
            cell.width = Mm(mm)


def _min_height(row: Any, mm: float) -> None:
    from docx.enum.table import WD_ROW_HEIGHT_RULE

    row.height = Mm(mm)
    row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST


def _cell_text(cell: Any, text: str, *, bold: bool = False, center: bool = False) -> None:
    p = cell.paragraphs[0]
    lines = (text or "").split("\n")
    for i, line in enumerate(lines):
        run = p.add_run(line)
        run.bold = bold or None
        if i < len(lines) - 1:
            run.add_break()
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _hyperlink(paragraph: Any, url: str, text: str) -> None:
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


def _join_soft_breaks(text: str, prev: str) -> tuple[str, str]:
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
                    _fonts(run._r, GOTHIC, "Courier New")
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
        table = _table(target, len(rows), width)
        for r, tr in enumerate(rows):
            cells = [c for c in tr if c.tag in ("td", "th")]
            header = tr.getparent() is not None and tr.getparent().tag == "thead"
            if header:
                _repeat_header(table.rows[r])
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
                    _shade(cell)
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
            value, self._last = _join_soft_breaks(text, self._last)
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
            _fonts(run._r, GOTHIC, "Courier New")

    def _runs(self, p: Any, el: Any, fmt: dict[str, Any], skip: tuple[str, ...], top: bool = False) -> None:
        if not top:
            tag = el.tag
            if tag == "br":
                p.add_run().add_break(WD_BREAK.LINE)
                self._last = ""
                return
            if tag == "img":
                alt = el.get("alt") or "図"
                self._text(p, f"［図: {alt}（{el.get('src') or ''}）］", fmt)
                return
            if tag == "a" and (el.get("href") or "").startswith(("http://", "https://", "mailto:")):
                text = el.text_content()
                _hyperlink(p, el.get("href"), text)
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


# --- the three documents ---------------------------------------------------------------------

def _title(doc: Any, text: str, size: float = 16, spaced: bool = False) -> None:
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run(text)
    run.bold = True
    run.font.size = Pt(size)
    _fonts(run._r, GOTHIC, LATIN_HEADING)
    if spaced:
        spacing = OxmlElement("w:spacing")
        spacing.set(qn("w:val"), "120")
        run._r.get_or_add_rPr().append(spacing)


def _meta_table(doc: Any, pairs: list[tuple[str, str]]) -> None:
    table = _table(doc, len(pairs), 2)
    for r, (label, value) in enumerate(pairs):
        _cell_text(table.cell(r, 0), label)
        _shade(table.cell(r, 0))
        _cell_text(table.cell(r, 1), value)
    _widths(table, [28, 142])
    doc.add_paragraph()


def manual_docx(m: ManualExport) -> bytes:
    doc = new_document(m.heading)
    _title(doc, m.title)
    sub = doc.add_paragraph(f"第{m.version}版" + ("" if m.version == m.current_version else
                                                   f"（旧版。現行は第{m.current_version}版）"))
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _meta_table(doc, [("所管課", m.owner), ("施行日", m.effective or "—"), ("公布日", m.published),
                      ("対象の課", "・".join(m.targets)), ("改正理由", m.reason or "—")])
    if m.approvals:
        table = _table(doc, 2, len(m.approvals))
        for c, a in enumerate(m.approvals):
            _cell_text(table.cell(0, c), a.meaning, center=True)
            _shade(table.cell(0, c))
            _cell_text(table.cell(1, c), f"{a.name}\n{a.where}\n{a.at}", center=True)
        doc.add_paragraph()
    HtmlToDocx(doc).add(m.html)
    return save(doc)


def compare_docx(c: CompareExport) -> bytes:
    doc = new_document(f"{c.title} 新旧対照表", landscape=True)
    _title(doc, "新旧対照表", 15, spaced=True)
    p = doc.add_paragraph(f"{c.title}（{c.versions}）")
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if c.reason or c.effective:
        doc.add_paragraph(f"改正理由: {c.reason or '—'}　施行日: {c.effective or '—'}")
    note = doc.add_paragraph("（傍線部分は改正部分）")
    note.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    rows = c.rows()
    table = _table(doc, 1, 2)
    _borders(table, inside_h=False)
    for i, label in enumerate(("改正後", "改正前")):
        cell = table.cell(0, i)
        _cell_text(cell, label, bold=True, center=True)
        _shade(cell)
        _cell_bottom(cell)
    _repeat_header(table.rows[0])
    last = None
    for kind, value in rows:
        if kind == "end":
            if last is not None:
                for cell in last.cells:
                    _cell_bottom(cell)
            continue
        row = table.add_row()
        _no_split(row)
        last = row
        if kind == "section":
            merged = row.cells[0].merge(row.cells[1])
            _cell_text(merged, str(value), center=True)
            _cell_bottom(merged)
            last = None
        elif kind == "fold":
            for cell in row.cells:
                _cell_text(cell, "（略）", center=True)
        else:
            for cell, markup in zip(row.cells, (value.new, value.old), strict=True):  # type: ignore[union-attr]
                p = cell.paragraphs[0]
                for text, changed in segments(markup):
                    run = p.add_run(text)
                    if changed:
                        run.underline = True
    _widths(table, [133, 133])  # 改正後｜改正前 in halves of the landscape page
    if not any(kind == "row" for kind, _ in rows):
        doc.add_paragraph("2つの版の本文に違いはありません。")
    return save(doc)


def handover_docx(h: Any) -> bytes:
    """事務引継書 in the layout of templates/handover/print.html."""
    doc = new_document(f"事務引継書 {h.user.name}")
    _title(doc, "事 務 引 継 書", 18, spaced=True)
    date = doc.add_paragraph(wareki(h.submitted_at or h.created_at, with_seireki=False))
    date.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    head = _table(doc, 2, 6)
    for c, (label, value) in enumerate((("所属", h.unit.name), ("職", h.position), ("氏名", h.user.name))):
        _cell_text(head.cell(0, c * 2), label)
        _shade(head.cell(0, c * 2))
        _cell_text(head.cell(0, c * 2 + 1), value)
    _cell_text(head.cell(1, 0), "発令日")
    _shade(head.cell(1, 0))
    _widths(head, [16, 62, 12, 26, 14, 40])
    merged = head.cell(1, 1).merge(head.cell(1, 5))
    _cell_text(merged, wareki(h.due_date, with_seireki=False) if h.due_date else "")

    def heading(text: str) -> None:
        doc.add_paragraph(text, style="Heading 2")

    def box(text: str, height: float) -> None:
        table = _table(doc, 1, 1)
        _cell_text(table.cell(0, 0), text or "")
        _min_height(table.rows[0], height)

    def grid(headers: list[str], rows: list[list[str]], empty: str, widths: list[float]) -> None:
        table = _table(doc, 1, len(headers))
        for c, label in enumerate(headers):
            _cell_text(table.cell(0, c), label, center=True)
            _shade(table.cell(0, c))
        _repeat_header(table.rows[0])
        for values in rows:
            cells = table.add_row().cells
            for c, value in enumerate(values):
                _cell_text(cells[c], value)
        _widths(table, widths)
        if not rows:
            merged_row = table.add_row()
            merged = merged_row.cells[0].merge(merged_row.cells[-1])
            _cell_text(merged, empty)

    heading("1 担当事務")
    box(h.duties, 14)
    heading("2 マニュアル管理状況")
    manual_rows = []
    for i in h.manual_items:
        successor = i.successor or h.default_successor
        manual_rows.append([i.label, i.detail, i.flag or "", successor.name if successor else "", i.note or ""])
    grid(["マニュアル名", "版・施行日・次回見直し", "状況", "後任の管理担当者", "引継事項"], manual_rows, "管理担当のマニュアルなし",
         [40, 38, 24, 28, 40])
    others = [i for i in h.items if i.kind != "manual"]
    n = 3
    if others:
        heading(f"{n} 進行中の案件")
        grid(["区分", "件名", "状況", "引継事項"],
             [[i.kind_label, i.label, f"{i.detail} {i.flag or ''}".strip(), i.note or ""] for i in others], "",
             [24, 56, 50, 40])
        n += 1
    heading(f"{n} 懸案事項")
    box(h.concerns, 30)
    doc.add_paragraph()
    confirm = _table(doc, 1, 4)
    _cell_text(confirm.cell(0, 0), "所属長確認")
    _shade(confirm.cell(0, 0))
    _cell_text(confirm.cell(0, 1), f"{h.confirmed_by_name}（{h.confirmed_by_position}）\n{wareki_datetime(h.confirmed_at)}"
               if h.confirmed_by_name else "")
    _cell_text(confirm.cell(0, 2), "後任者")
    _shade(confirm.cell(0, 2))
    _cell_text(confirm.cell(0, 3), h.default_successor.name if h.default_successor else "")
    _widths(confirm, [24, 76, 20, 50])
    _min_height(confirm.rows[0], 12)
    return save(doc)
