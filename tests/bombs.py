"""Real hostile spreadsheets for the upload limits: built with zipfile from a genuine openpyxl
workbook, so everything but the bomb is a valid .xlsx."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

SHEET = "xl/worksheets/sheet1.xml"
HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
TAIL = b"</sheetData></worksheet>"


def _base() -> dict[str, bytes]:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["職員番号", "氏名", "異動前所属", "異動後所属", "職", "発令日"])
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(buf) as z:
        return {n: z.read(n) for n in z.namelist()}


def write_xlsx(path: Path, sheet_chunks, *, declared_size: int | None = None) -> Path:
    """An .xlsx whose first sheet is the concatenation of `sheet_chunks` (streamed, never held whole)."""
    parts = _base()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in parts.items():
            if name == SHEET:
                info = zipfile.ZipInfo(name)
                info.compress_type = zipfile.ZIP_DEFLATED
                info._compresslevel = 9  # type: ignore[attr-defined]
                with z.open(info, "w", force_zip64=True) as f:
                    for chunk in sheet_chunks:
                        f.write(chunk)
            else:
                z.writestr(name, data)
    if declared_size is not None:  # a lying directory: claim the sheet is small
        _patch_sizes(path, SHEET, declared_size)
    return path


def _patch_sizes(path: Path, member: str, size: int) -> None:
    """Rewrite the uncompressed size of `member` in the central directory (offset 24 of each entry)."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        n = int.from_bytes(data[pos + 28:pos + 30], "little")
        if data[pos + 46:pos + 46 + n] == name:
            data[pos + 24:pos + 28] = size.to_bytes(4, "little")
        pos = data.find(b"PK\x01\x02", pos + 4)
    path.write_bytes(bytes(data))


def huge_sheet(total_bytes: int):
    """A deflate bomb: ~1000:1, rows of one repeated cell."""
    row = b'<row><c t="inlineStr"><is><t>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA</t></is></c></row>'
    chunk = row * (1024 * 1024 // len(row))
    yield HEAD
    written = 0
    while written < total_bytes:
        yield chunk
        written += len(chunk)
    yield TAIL


def gap_sheet():
    """Tiny, within every byte limit, but a cell on row 1,000,000 (openpyxl fills the gap)."""
    yield HEAD
    yield b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
    yield b'<row r="1000000"><c r="A1000000" t="inlineStr"><is><t>y</t></is></c></row>'
    yield TAIL


def wide_sheet():
    """One row with the widest possible table (16,384 columns)."""
    yield HEAD + b"<row r=\"1\">"
    yield b"".join(b'<c t="inlineStr"><is><t>v</t></is></c>' for _ in range(16384))
    yield b"</row>" + TAIL
