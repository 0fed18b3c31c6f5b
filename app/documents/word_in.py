""".docx → Markdown: headings, numbered and bulleted lists, tables, bold, images; and a report.

A pure function: `docx_to_markdown(bytes)` → WordResult(markdown, files, warnings). The file is
checked first (files.check_upload: content, sizes, zip bomb); every XML part read here is parsed
with defusedxml (no DTD), so the parts mammoth reads afterwards carry no entity tricks. Mammoth
reads the structure (its own Markdown writer is deprecated: it recommends HTML and a separate
HTML → Markdown step, which is `html_markdown.MarkdownWriter`, written for what mammoth emits). What
Markdown cannot hold (tracked changes, comments, text boxes, shapes …) is listed in `warnings`.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

import mammoth

from app.documents import files
from app.documents.files import DEFAULT_LIMITS, Limits, parse_xml, read_member
from app.documents.html_markdown import IMAGE_PLACEHOLDER, MarkdownWriter
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

    PLACEHOLDER = IMAGE_PLACEHOLDER

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
    writer = MarkdownWriter()
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
