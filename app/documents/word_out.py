"""Word out (python-docx): a manual version, a 新旧対照表 and a 事務引継書 as .docx on A4.

The manual body is written from the HTML of the one renderer (app/markdown.py), so the .docx,
the PDF and the page show the same thing. Fonts are named, not embedded (Word on the city's PCs
has them): ＭＳ 明朝 for text, ＭＳ ゴシック for headings. Lists carry their numbers as text, so
every list restarts at 1 as it does on the page (Word's list styles number across the document).
"""

from __future__ import annotations

from typing import Any

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt

from app.documents.docx_build import (
    GOTHIC,
    LATIN_HEADING,
    HtmlToDocx,
    add_table,
    borders,
    cell_bottom,
    cell_text,
    fonts,
    min_height,
    new_document,
    no_split,
    repeat_header,
    save,
    set_widths,
    shade,
)
from app.documents.model import CompareExport, ManualExport, segments
from app.wareki import wareki, wareki_datetime

# --- the three documents ---------------------------------------------------------------------

def _title(doc: Any, text: str, size: float = 16, spaced: bool = False) -> None:
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run(text)
    run.bold = True
    run.font.size = Pt(size)
    fonts(run._r, GOTHIC, LATIN_HEADING)
    if spaced:
        spacing = OxmlElement("w:spacing")
        spacing.set(qn("w:val"), "120")
        run._r.get_or_add_rPr().append(spacing)


def _meta_table(doc: Any, pairs: list[tuple[str, str]]) -> None:
    table = add_table(doc, len(pairs), 2)
    for r, (label, value) in enumerate(pairs):
        cell_text(table.cell(r, 0), label)
        shade(table.cell(r, 0))
        cell_text(table.cell(r, 1), value)
    set_widths(table, [28, 142])
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
        table = add_table(doc, 2, len(m.approvals))
        for c, a in enumerate(m.approvals):
            cell_text(table.cell(0, c), a.meaning, center=True)
            shade(table.cell(0, c))
            cell_text(table.cell(1, c), f"{a.name}\n{a.where}\n{a.at}", center=True)
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
    table = add_table(doc, 1, 2)
    borders(table, inside_h=False)
    for i, label in enumerate(("改正後", "改正前")):
        cell = table.cell(0, i)
        cell_text(cell, label, bold=True, center=True)
        shade(cell)
        cell_bottom(cell)
    repeat_header(table.rows[0])
    last = None
    for kind, value in rows:
        if kind == "end":
            if last is not None:
                for cell in last.cells:
                    cell_bottom(cell)
            continue
        row = table.add_row()
        no_split(row)
        last = row
        if kind == "section":
            merged = row.cells[0].merge(row.cells[1])
            cell_text(merged, str(value), center=True)
            cell_bottom(merged)
            last = None
        elif kind == "fold":
            for cell in row.cells:
                cell_text(cell, "（略）", center=True)
        else:
            for cell, markup in zip(row.cells, (value.new, value.old), strict=True):  # type: ignore[union-attr]
                p = cell.paragraphs[0]
                for text, changed in segments(markup):
                    run = p.add_run(text)
                    if changed:
                        run.underline = True
    set_widths(table, [133, 133])  # 改正後｜改正前 in halves of the landscape page
    if not any(kind == "row" for kind, _ in rows):
        doc.add_paragraph("2つの版の本文に違いはありません。")
    return save(doc)


def handover_docx(h: Any) -> bytes:
    """事務引継書 in the layout of templates/handover/print.html."""
    doc = new_document(f"事務引継書 {h.user.name}")
    _title(doc, "事 務 引 継 書", 18, spaced=True)
    date = doc.add_paragraph(wareki(h.submitted_at or h.created_at, with_seireki=False))
    date.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    head = add_table(doc, 2, 6)
    for c, (label, value) in enumerate((("所属", h.unit.name), ("職", h.position), ("氏名", h.user.name))):
        cell_text(head.cell(0, c * 2), label)
        shade(head.cell(0, c * 2))
        cell_text(head.cell(0, c * 2 + 1), value)
    cell_text(head.cell(1, 0), "発令日")
    shade(head.cell(1, 0))
    set_widths(head, [16, 62, 12, 26, 14, 40])
    merged = head.cell(1, 1).merge(head.cell(1, 5))
    cell_text(merged, wareki(h.due_date, with_seireki=False) if h.due_date else "")

    def heading(text: str) -> None:
        doc.add_paragraph(text, style="Heading 2")

    def box(text: str, height: float) -> None:
        table = add_table(doc, 1, 1)
        cell_text(table.cell(0, 0), text or "")
        min_height(table.rows[0], height)

    def grid(headers: list[str], rows: list[list[str]], empty: str, widths: list[float]) -> None:
        table = add_table(doc, 1, len(headers))
        for c, label in enumerate(headers):
            cell_text(table.cell(0, c), label, center=True)
            shade(table.cell(0, c))
        repeat_header(table.rows[0])
        for values in rows:
            cells = table.add_row().cells
            for c, value in enumerate(values):
                cell_text(cells[c], value)
        set_widths(table, widths)
        if not rows:
            merged_row = table.add_row()
            merged = merged_row.cells[0].merge(merged_row.cells[-1])
            cell_text(merged, empty)

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
    confirm = add_table(doc, 1, 4)
    cell_text(confirm.cell(0, 0), "所属長確認")
    shade(confirm.cell(0, 0))
    cell_text(confirm.cell(0, 1), f"{h.confirmed_by_name}（{h.confirmed_by_position}）\n{wareki_datetime(h.confirmed_at)}"
               if h.confirmed_by_name else "")
    cell_text(confirm.cell(0, 2), "後任者")
    shade(confirm.cell(0, 2))
    cell_text(confirm.cell(0, 3), h.default_successor.name if h.default_successor else "")
    set_widths(confirm, [24, 76, 20, 50])
    min_height(confirm.rows[0], 12)
    return save(doc)
