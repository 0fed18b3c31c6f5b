"""The one reader of uploaded tables (.csv UTF-8 with or without BOM, or Excel's cp932; .xlsx) and the
one writer of exported tables (.csv, .xlsx).

Reading: rows as dicts keyed by the header row (row 1), for the importers that report problems by
row number. Every upload is bounded *before* it is parsed — file size, number of zip members, the
uncompressed size of each member and of all of them (read from the zip directory; Python's zipfile
never inflates a member past its declared size), then rows, columns, cell length and time while
reading — so a zip bomb is refused in milliseconds with a Japanese message and never reaches the
XML parser.

Writing: every text cell is written as text. A cell beginning with = + - @ tab or CR would run as a
formula in Excel (formula / CSV injection): in .xlsx it is stored as a string with Excel's quote
prefix, in .csv it gets a leading apostrophe, as OWASP recommends.
"""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import cast

from app.errors import ValidationError

# --- limits ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    file_bytes: int = 10 * 1024 * 1024
    members: int = 200  # an .xlsx has about ten
    member_bytes: int = 40 * 1024 * 1024  # uncompressed, each
    total_bytes: int = 80 * 1024 * 1024  # uncompressed, all together
    rows: int = 30_000  # a city of 15,000 staff fits twice
    columns: int = 60
    cell_chars: int = 10_000
    seconds: float = 30.0


LIMITS = Limits()


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):,.0f}MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)}KB"


def check_file_size(path: Path, limits: Limits = LIMITS) -> None:
    size = path.stat().st_size
    if size > limits.file_bytes:
        raise ValidationError(f"ファイルが大きすぎます（{_mb(size)}、上限 {_mb(limits.file_bytes)}）。ファイルを分けてください。")


def check_zip(path: Path, limits: Limits = LIMITS, *, kind: str = "Excel") -> None:
    """An Office file (.xlsx, .docx) is a zip: refuse one that would inflate beyond the limits,
    from its directory alone (nothing is decompressed here)."""
    check_file_size(path, limits)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ValidationError(f"{kind}ファイルとして読めません（ファイルが壊れているか、形式が違います）。") from None
    if len(infos) > limits.members:
        raise ValidationError(f"{kind}ファイルの中身の数が多すぎます（{len(infos)}個）。通常の{kind}ファイルを使ってください。")
    total = 0
    for info in infos:
        if info.file_size > limits.member_bytes:
            raise ValidationError(
                f"{kind}ファイルの展開後の大きさが上限を超えています（{info.filename}: {_mb(info.file_size)}、"
                f"上限 {_mb(limits.member_bytes)}）。圧縮爆弾の可能性があるため取り込みません。")
        total += info.file_size
    if total > limits.total_bytes:
        raise ValidationError(f"{kind}ファイルの展開後の大きさが上限を超えています（合計 {_mb(total)}、上限 "
                              f"{_mb(limits.total_bytes)}）。圧縮爆弾の可能性があるため取り込みません。")


class _Guard:
    """Counts rows and watches the clock while a table is read."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.started = time.monotonic()

    def row(self, number: int, width: int) -> None:
        lim = self.limits
        if number > lim.rows + 1:
            raise ValidationError(f"行数が上限（{lim.rows:,}行）を超えています。ファイルを分けて取り込んでください。")
        if width > lim.columns:
            raise ValidationError(f"{number}行目: 列が多すぎます（上限 {lim.columns}列）。")
        if number % 500 == 0 and time.monotonic() - self.started > lim.seconds:
            raise ValidationError(f"ファイルの読み込みが{lim.seconds:.0f}秒を超えたため中止しました。ファイルを分けてください。")


def _xlsx_rows(path: Path, limits: Limits) -> list[list[object]]:
    from openpyxl import load_workbook

    check_zip(path, limits)
    guard = _Guard(limits)
    rows: list[list[object]] = []
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except ValidationError:
        raise
    except Exception as exc:  # any damage to the file: one clear message
        raise ValidationError(f"Excelファイルを読めません（{type(exc).__name__}）。ファイルが壊れていないか確認してください。") from None
    try:
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # the stored size may lie (too small or a million rows): read the data itself
        # One column past the limit is read, so a wider table is noticed without building huge rows.
        for number, values in enumerate(ws.iter_rows(values_only=True, max_col=limits.columns + 1), start=1):
            row: list[object] = list(values)
            while row and row[-1] in (None, ""):
                row.pop()
            guard.row(number, len(row))
            for value in row:
                if isinstance(value, str) and len(value) > limits.cell_chars:
                    raise ValidationError(f"{number}行目: セルの文字数が上限（{limits.cell_chars:,}字）を超えています。")
            rows.append(row)
    except ValidationError:
        raise
    except Exception as exc:
        raise ValidationError(f"Excelファイルを読めません（{type(exc).__name__}）。ファイルが壊れていないか確認してください。") from None
    finally:
        wb.close()
    return rows


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Excel's default for Japanese CSV (cp932 / Shift_JIS)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932")
    except UnicodeDecodeError:
        raise ValidationError("CSVの文字コードを読み取れません。UTF-8 または Shift_JIS（Excelの「CSV（コンマ区切り）」）で"
                              "保存してください。") from None


def _csv_rows(path: Path, limits: Limits) -> list[list[object]]:
    check_file_size(path, limits)
    text = decode_text(path.read_bytes())
    if "\x00" in text:  # no database column can hold it
        line = text[:text.index("\x00")].count("\n") + 1
        raise ValidationError(f"{line}行目: 制御文字（NUL）が含まれています。CSVとして保存し直してください。")
    guard = _Guard(limits)
    rows: list[list[object]] = []
    reader = csv.reader(io.StringIO(text))
    try:
        for number, row in enumerate(reader, start=1):
            while row and not row[-1].strip():
                row.pop()
            guard.row(number, len(row))
            rows.append(list(row))
    except csv.Error as exc:
        line = reader.line_num
        reason = "セルの文字数が多すぎます" if "field larger" in str(exc) else "CSVの形式が正しくありません"
        raise ValidationError(f"{line}行目: {reason}（引用符「\"」の閉じ忘れ、制御文字などを確認してください）。") from None
    return rows


def read_table(path: Path, columns: list[str], *, optional: Sequence[str] = (),
               limits: Limits = LIMITS) -> list[dict[str, object]]:
    """Rows 2… as {header: value}. `columns` must all be in the header row; `optional` ones may be."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        rows = _xlsx_rows(path, limits)
    elif suffix == ".csv":
        rows = _csv_rows(path, limits)
    else:
        raise ValidationError("取り込めるのは .csv と .xlsx のファイルです。")
    if not rows:
        raise ValidationError("ファイルが空です。")
    header = [str(c or "").replace("\ufeff", "").strip() for c in rows[0]]
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValidationError(f"1行目（見出し）に列「{'」「'.join(missing)}」がありません。",
                              details=[f"必要な列: {','.join(columns)}"] +
                                      ([f"任意の列: {','.join(optional)}"] if optional else []))
    out = []
    for row in rows[1:]:
        values = list(row) + [None] * (len(header) - len(row))
        out.append({h: values[i] for i, h in enumerate(header) if h})  # an absent optional column has no key
    return out


def text(value: object) -> str:
    return "" if value is None else str(value).strip()


def as_date(value: object) -> date | None:
    """A date cell: an Excel date, or text in 西暦 (2027-04-01, 2027/4/1) or 和暦 (令和9年4月1日, R9.4.1)."""
    from app.wareki import parse_date

    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return parse_date(text(value))


def blank(row: dict[str, object]) -> bool:
    return not any(text(v) for v in row.values())


# --- the one writer ------------------------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters an .xlsx cannot hold (openpyxl refuses them); dropped rather than failing the export.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def is_formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str):
        value = _ILLEGAL.sub("", value)
        if value.startswith(FORMULA_START):
            return "'" + value
    return value


def to_csv(rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 with BOM, so that Excel opens the Japanese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: Iterable[Sequence[object]], *, sheet_title: str | None = None,
            widths: dict[str, float] | None = None, wrap: bool = False, heading: bool = False) -> bytes:
    """Every str is a text cell (never a formula); `heading` makes row 1 a title."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.worksheet import Worksheet

    wb = Workbook()
    ws = cast(Worksheet, wb.active)  # a new workbook's one sheet
    if sheet_title:
        ws.title = sheet_title[:31]
    alignment = Alignment(wrap_text=True, vertical="top") if wrap else None
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is None:
                continue
            cell = ws.cell(row=r, column=c)
            if isinstance(value, str):
                # One line-break form: XML parsers differ on a bare CR, Excel shows "\n" as a break.
                cell.value = _ILLEGAL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
                cell.data_type = "s"  # openpyxl would otherwise store "=…" as a formula
                if value.startswith(FORMULA_START):
                    cell.quotePrefix = True  # Excel keeps it as text even when the cell is edited
            else:
                cell.value = value  # type: ignore[assignment]  # numbers and dates; openpyxl checks the type
            if alignment is not None:
                cell.alignment = alignment
    if heading and ws.max_row >= 1:
        ws["A1"].font = Font(size=14, bold=True)
    for column, width in (widths or {}).items():
        ws.column_dimensions[column].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(rows: Iterable[Sequence[object]], name: str, fmt: str, **xlsx_options: object):  # type: ignore[no-untyped-def]
    """The response of every table export: `fmt` "xlsx" or "csv" (anything else is csv)."""
    from flask import Response

    if fmt == "xlsx":
        return Response(to_xlsx(rows, **xlsx_options), mimetype=XLSX_MIME,  # type: ignore[arg-type]
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    return Response(to_csv(rows), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
