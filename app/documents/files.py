"""Upload checking: a file's type comes from its content, never from its name.

Allowed: PDF, Excel (.xlsx), Word (.docx), PNG, JPEG. A .docx / .xlsx is a zip; its central
directory is read (nothing is decompressed) to bound the member count and each member's and the
total uncompressed size before anything is opened, so a zip bomb is refused at once. Python's
zipfile never inflates a member past its declared size, so a member that lies about its size
ends in a CRC error rather than in memory. The XML that decides the type is parsed with
defusedxml (no DTD, no entities). Every refusal is a ValidationError in plain Japanese.
"""

from __future__ import annotations

import io
import re
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from app.errors import ValidationError

MB = 1024 * 1024


@dataclass(frozen=True)
class Kind:
    code: str
    extension: str
    mimetype: str
    label: str


PDF = Kind("pdf", ".pdf", "application/pdf", "PDF")
XLSX = Kind("xlsx", ".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel ブック（.xlsx）")
DOCX = Kind("docx", ".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "Word 文書（.docx）")
PNG = Kind("png", ".png", "image/png", "PNG 画像")
JPG = Kind("jpg", ".jpg", "image/jpeg", "JPEG 画像")
KINDS = {k.code: k for k in (PDF, XLSX, DOCX, PNG, JPG)}
EXTENSIONS = {".pdf": PDF, ".xlsx": XLSX, ".docx": DOCX, ".png": PNG, ".jpg": JPG, ".jpeg": JPG}
ALL = frozenset(KINDS)
IMAGES = frozenset({"png", "jpg"})
ALLOWED_TEXT = "PDF・Excel（.xlsx）・Word（.docx）・PNG・JPEG"


@dataclass(frozen=True)
class Limits:
    """Bounds for one upload. The per-file default matches MAX_UPLOAD_MB (10 MB)."""

    max_bytes: int = 10 * MB
    zip_members: int = 1000
    zip_member_bytes: int = 30 * MB  # uncompressed, each member
    zip_total_bytes: int = 100 * MB  # uncompressed, all members
    zip_ratio: int = 100  # uncompressed / compressed, for members over 1 MB
    image_pixels: int = 50_000_000  # a 7,000 × 7,000 screenshot; more is a decompression bomb


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Upload:
    name: str  # sanitised, with the extension of the detected type
    kind: Kind
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


def sha1_blob(data: bytes) -> str:
    """The id git gives these bytes as a blob (to tell an unchanged re-upload without writing it)."""
    import hashlib

    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def human_size(n: int) -> str:
    if n >= MB:
        return f"{n / MB:.1f}MB"
    if n >= 1024:
        return f"{n / 1024:.0f}KB"
    return f"{n}バイト"


# --- names ------------------------------------------------------------------------------------

_FORBIDDEN = re.compile(r'[<>:"/\\|?*]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])$", re.I)
MAX_NAME = 100  # characters of the stem; well inside every file system's 255 bytes


def sanitize_name(name: str, *, default: str = "file") -> str:
    """A safe file name: the last path part only, NFC (a Mac sends ガ as カ+゛), no control or
    format characters (U+202E can make 'fdp.exe' read as 'exe.pdf'), none of Windows' forbidden
    characters, no leading dots. Japanese is kept."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    name = _FORBIDDEN.sub("", name)
    name = re.sub(r"\s+", " ", name).strip(" ")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem = stem.strip(" .")
    ext = ext.strip(" ").lower()
    if not stem or not re.search(r"\w", stem):
        stem = default
    if _RESERVED.match(stem):
        stem = "_" + stem
    stem = stem[:MAX_NAME].rstrip(" .")
    return f"{stem}.{ext}" if ext else stem


def with_extension(name: str, kind: Kind) -> str:
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return stem + kind.extension


# --- content ----------------------------------------------------------------------------------

# What a refused file really is, for a message the clerk understands.
_SIGNATURES: list[tuple[bytes, str]] = [
    (b"MZ", "Windows の実行ファイル（.exe など）"),
    (b"\x7fELF", "Linux の実行ファイル"),
    (b"\xcf\xfa\xed\xfe", "Mac の実行ファイル"),
    (b"\xce\xfa\xed\xfe", "Mac の実行ファイル"),
    (b"\xca\xfe\xba\xbe", "Mac の実行ファイル"),
    (b"#!", "スクリプト"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
     "古い形式の Office 文書（.doc / .xls）か、パスワードで保護された文書"),
    (b"GIF8", "GIF 画像"),
    (b"II*\x00", "TIFF 画像"),
    (b"MM\x00*", "TIFF 画像"),
    (b"BM", "BMP 画像"),
    (b"Rar!", "RAR 圧縮ファイル"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip 圧縮ファイル"),
    (b"\x1f\x8b", "gzip 圧縮ファイル"),
    (b"{\\rtf", "リッチテキスト（.rtf）"),
]


def sniff(data: bytes) -> Kind | str:
    """The type of `data` by its first bytes: an allowed Kind, "zip", or a description."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPG
    if b"%PDF-" in data[:1024]:
        return PDF
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP 画像"
    for magic, label in _SIGNATURES:
        if data.startswith(magic):
            return label
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<svg")):
        return "HTML・XML などのテキスト"
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return "不明な形式のファイル"
    return "テキストファイル"


_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.ms-word.document.macroEnabled.main+xml": "docm",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": "xlsm",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml": "dotx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": "xltx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": "pptx",
}
_ZIP_LABELS = {
    "docm": "マクロを含む Word 文書（.docm）",
    "xlsm": "マクロを含む Excel ブック（.xlsm）",
    "dotx": "Word のテンプレート（.dotx）",
    "xltx": "Excel のテンプレート（.xltx）",
    "pptx": "PowerPoint（.pptx）",
    "zip": "ZIP 圧縮ファイル",
}
_MAIN_PART = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}


def parse_xml(data: bytes, what: str) -> ET.Element:
    """Untrusted XML: defusedxml, and no DTD at all (Office XML never has one)."""
    try:
        return SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise ValidationError(f"{what}に安全でない XML（DTD・エンティティ宣言）が含まれているため、受け付けられません。") from None
    except SafeET.ParseError:
        raise ValidationError(f"{what}の XML が壊れています。") from None


def open_zip(data: bytes, label: str, limits: Limits = DEFAULT_LIMITS) -> zipfile.ZipFile:
    """The zip with every bound checked from its directory, before any member is inflated."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise ValidationError(f"{label}は壊れているため開けません。元のソフトで保存し直してください。") from None
    if len(infos) > limits.zip_members:
        raise ValidationError(f"{label}は中のファイルの数が多すぎます（{len(infos)}個、上限{limits.zip_members}個）。"
                              "圧縮爆弾の疑いがあるため受け付けません。")
    total = 0
    names: set[str] = set()
    for info in infos:
        if info.filename in names:
            raise ValidationError(f"{label}の中に同じ名前のファイルが2つあります。壊れているか改ざんされたファイルです。")
        names.add(info.filename)
        if info.flag_bits & 0x1:
            raise ValidationError(f"{label}はパスワードで保護されています。保護を解除してから登録してください。")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ValidationError(f"{label}は対応していない圧縮方式で作られています。Word・Excel で保存し直してください。")
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if (info.file_size > limits.zip_member_bytes or total > limits.zip_total_bytes
                or (info.file_size > MB and ratio > limits.zip_ratio)):
            raise ValidationError(
                f"{label}は展開すると大きくなりすぎます（中の「{info.filename[:60]}」が{human_size(info.file_size)}、"
                f"上限は1つ{human_size(limits.zip_member_bytes)}・合計{human_size(limits.zip_total_bytes)}）。"
                "圧縮爆弾の疑いがあるため受け付けません。")
    return zf


def read_member(zf: zipfile.ZipFile, name: str, label: str, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """One member, never more than the limit even if the directory lied."""
    try:
        with zf.open(name) as f:
            data = f.read(limits.zip_member_bytes + 1)
    except KeyError:
        raise ValidationError(f"{label}に必要な部分（{name}）がありません。") from None
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError):
        raise ValidationError(f"{label}は壊れているため開けません（{name}）。元のソフトで保存し直してください。") from None
    if len(data) > limits.zip_member_bytes:
        raise ValidationError(f"{label}は展開すると大きくなりすぎます。圧縮爆弾の疑いがあるため受け付けません。")
    return data


def ooxml_kind(zf: zipfile.ZipFile, label: str, limits: Limits = DEFAULT_LIMITS) -> str:
    """docx / xlsx / docm … from [Content_Types].xml and the main part being there."""
    names = set(zf.namelist())
    if "[Content_Types].xml" not in names:
        return "zip"
    root = parse_xml(read_member(zf, "[Content_Types].xml", label, limits), label)
    kinds = {_OOXML_MAIN[el.get("ContentType", "")] for el in root.iter(f"{_CT_NS}Override")
             if el.get("ContentType", "") in _OOXML_MAIN}
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        kinds.add("docm" if any(n.startswith("word/") for n in names) else "xlsm")
    for macro in ("docm", "xlsm"):
        if macro in kinds:
            return macro
    for code in ("docx", "xlsx"):
        if code in kinds:
            if _MAIN_PART[code] not in names:
                raise ValidationError(f"{label}に本文（{_MAIN_PART[code]}）がありません。壊れているファイルです。")
            return code
    return next(iter(kinds), "zip")


def _image_size(kind: Kind, data: bytes) -> tuple[int, int] | None:
    if kind is PNG and len(data) >= 24 and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    if kind is JPG:
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            seg = struct.unpack(">H", data[i + 2:i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                h, w = struct.unpack(">HH", data[i + 5:i + 9])
                return w, h
            i += 2 + seg
    return None


def check_upload(filename: str, data: bytes, *, allowed: frozenset[str] = ALL,
                 limits: Limits = DEFAULT_LIMITS) -> Upload:
    """Accept a file only when its content is one of the allowed types and within the limits."""
    name = sanitize_name(filename)
    shown = f"「{name}」"
    allowed_text = "・".join(KINDS[c].label for c in KINDS if c in allowed)
    if not data:
        raise ValidationError(f"ファイル{shown}は空です（0バイト）。")
    if len(data) > limits.max_bytes:
        raise ValidationError(f"ファイル{shown}は{human_size(len(data))}で、上限（{human_size(limits.max_bytes)}）を超えています。"
                              "画像を小さくするか、ファイルを分けてください。")
    ext = "." + name.rsplit(".", 1)[1] if "." in name else ""
    named = EXTENSIONS.get(ext)
    if named is None or named.code not in allowed:
        raise ValidationError(f"ファイル{shown}の形式（{ext or '拡張子なし'}）は登録できません。登録できるのは{allowed_text}です。")
    found = sniff(data)
    if found == "zip":
        zf = open_zip(data, f"ファイル{shown}", limits)
        code = ooxml_kind(zf, f"ファイル{shown}", limits)
        found = KINDS.get(code) or _ZIP_LABELS.get(code, _ZIP_LABELS["zip"])
    if isinstance(found, str):
        raise ValidationError(f"ファイル{shown}は{named.label}ではありません（中身は{found}です）。登録できません。")
    if found is not named:
        if found.code in allowed:
            raise ValidationError(f"ファイル{shown}は名前が{ext}ですが、中身は{found.label}です。"
                                  f"正しい拡張子（{found.extension}）で保存し直してください。")
        raise ValidationError(f"ファイル{shown}は{named.label}ではありません（中身は{found.label}です）。登録できません。")
    if found.code in IMAGES:
        size = _image_size(found, data)
        if size is None:
            raise ValidationError(f"ファイル{shown}は{found.label}として壊れています。")
        if size[0] * size[1] > limits.image_pixels:
            raise ValidationError(f"画像{shown}は大きすぎます（{size[0]}×{size[1]}ピクセル）。縮小してから登録してください。")
    return Upload(with_extension(name, found), found, data)
