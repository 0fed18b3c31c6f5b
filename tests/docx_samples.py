"""Word documents made in the tests (python-docx, plus the raw WordprocessingML python-docx has no API
for: tracked changes, text boxes, shapes, ruby), and small real images."""

from __future__ import annotations

import io

import docx
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from PIL import Image

W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def png(width: int = 40, height: int = 20, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def gif(width: int = 16, height: int = 16) -> bytes:
    out = io.BytesIO()
    Image.new("P", (width, height), 3).save(out, "GIF")
    return out.getvalue()


def save(document) -> bytes:  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def numbering(document, formats: tuple[str, ...] = ("decimal", "decimal")) -> str:  # type: ignore[no-untyped-def]
    """A multi-level list definition as Word writes one (levels 0, 1 … in one abstractNum); its numId."""
    el = document.part.numbering_part.element
    abs_id = 1 + max([int(a.get(qn("w:abstractNumId"))) for a in el.findall(qn("w:abstractNum"))] or [0])
    num_id = 1 + max([int(n.get(qn("w:numId"))) for n in el.findall(qn("w:num"))] or [0])
    levels = "".join(
        f'<w:lvl w:ilvl="{i}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/>'
        f'<w:lvlText w:val="{"・" if fmt == "bullet" else f"%{i + 1}."}"/>'
        f'<w:pPr><w:ind w:left="{420 * (i + 1)}" w:hanging="420"/></w:pPr></w:lvl>'
        for i, fmt in enumerate(formats))
    abstract = parse_xml(f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{abs_id}">'
                         f'<w:multiLevelType w:val="multilevel"/>{levels}</w:abstractNum>')
    first = el.find(qn("w:num"))
    if first is not None:
        first.addprevious(abstract)
    else:
        el.append(abstract)
    el.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="{num_id}"><w:abstractNumId w:val="{abs_id}"/></w:num>'))
    return str(num_id)


def list_item(document, text: str, num_id: str, level: int = 0):  # type: ignore[no-untyped-def]
    p = document.add_paragraph(text, style="List Paragraph")
    p._p.get_or_add_pPr().append(parse_xml(
        f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{level}"/><w:numId w:val="{num_id}"/></w:numPr>'))
    return p


def manual_docx(image: bytes | None = None) -> bytes:
    """Headings, a paragraph with bold, a numbered list (with a sub-step), bullets, a table, an image."""
    d = docx.Document()
    d.add_heading("国民健康保険 資格取得の手引き", 1)
    d.add_heading("1 目的", 2)
    p = d.add_paragraph("この手引きは、")
    p.add_run("「資格取得届」").bold = True
    p.add_run("の受付から決定までの事務を定める。")
    d.add_heading("2 受付", 2)
    steps = numbering(d)
    list_item(d, "窓口で届出書を受け付ける。", steps)
    list_item(d, "本人確認書類を確認する。", steps)
    list_item(d, "マイナンバーカードは表面の写真で確認する。", steps, level=1)
    list_item(d, "受付印を押す。", steps)
    d.add_paragraph("持参するもの", style="List Bullet")
    d.add_paragraph("本人確認書類", style="List Bullet")
    table = d.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("書類", "確認事項"), ("届出書", "記載漏れがないこと"), ("本人確認書類", "有効期限内であること")]):
        table.cell(r, 0).text = a
        table.cell(r, 1).text = b
    d.add_heading("3 画面の操作", 3)
    d.add_paragraph("資格取得の画面は次のとおり。")
    d.add_picture(io.BytesIO(image or png()))
    return save(d)


def _append(paragraph, xml: str) -> None:  # type: ignore[no-untyped-def]
    paragraph._p.append(parse_xml(xml))


def messy_docx() -> bytes:
    """What Markdown cannot hold: tracked changes, a comment, a text box, a shape, ruby, a GIF."""
    d = docx.Document()
    d.add_heading("変更履歴のある手引き", 2)
    p = d.add_paragraph("申請は")
    _append(p, f'<w:del {W_NS} w:id="1" w:author="t" w:date="2024-01-01T00:00:00Z"><w:r><w:delText>14日</w:delText></w:r></w:del>')
    _append(p, f'<w:ins {W_NS} w:id="2" w:author="t" w:date="2024-01-01T00:00:00Z"><w:r><w:t>30日</w:t></w:r></w:ins>')
    _append(p, f'<w:r {W_NS}><w:t>以内に行う。</w:t></w:r>')
    c = d.add_paragraph("この段落にはコメントがある。")
    d.add_comment(c.runs, text="施行日を確認すること", author="係長")
    box = d.add_paragraph("図の前の段落。")
    _append(box, (
        f'<w:r {W_NS} xmlns:v="urn:schemas-microsoft-com:vml"><w:pict><v:shape style="width:100pt;height:40pt">'
        '<v:textbox><w:txbxContent><w:p><w:r><w:t>枠の中の注意書き</w:t></w:r></w:p></w:txbxContent></v:textbox>'
        '</v:shape></w:pict></w:r>'))
    shape = d.add_paragraph("矢印の図形がある段落。")
    _append(shape, f'<w:r {W_NS} xmlns:v="urn:schemas-microsoft-com:vml"><w:pict><v:rect style="width:50pt;height:20pt"/></w:pict></w:r>')
    ruby = d.add_paragraph("担当は")
    _append(ruby, (
        f'<w:r {W_NS}><w:ruby><w:rubyPr><w:rubyAlign w:val="center"/></w:rubyPr><w:rt><w:r><w:t>ちょうしゅう</w:t></w:r></w:rt>'
        '<w:rubyBase><w:r><w:t>徴収</w:t></w:r></w:rubyBase></w:ruby></w:r>'))
    _append(ruby, f'<w:r {W_NS}><w:t>係である。</w:t></w:r>')
    d.add_picture(io.BytesIO(gif()))
    return save(d)


def footnote_docx() -> bytes:
    """A paragraph with a footnote (python-docx has no API for notes: the part is added by hand)."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part

    d = docx.Document()
    d.add_heading("脚注のある手引き", 2)
    p = d.add_paragraph("所得の基準は政令で定める")
    _append(p, f'<w:r {W_NS}><w:footnoteReference w:id="1"/></w:r>')
    _append(p, f'<w:r {W_NS}><w:t>額とする。</w:t></w:r>')
    notes = (f'<w:footnotes {W_NS}><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p>'
             '</w:footnote><w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/>'
             '</w:r></w:p></w:footnote><w:footnote w:id="1"><w:p><w:r><w:footnoteRef/></w:r><w:r>'
             '<w:t xml:space="preserve"> 国民健康保険法施行令第29条の7</w:t></w:r></w:p></w:footnote></w:footnotes>')
    part = Part(PackURI("/word/footnotes.xml"),
                "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml", notes.encode(), d.part.package)
    d.part.relate_to(part, RT.FOOTNOTES)
    return save(d)
