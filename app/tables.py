"""The one reader of uploaded tables (.csv UTF-8 with or without BOM, .xlsx): rows as dicts keyed by
the header row (row 1), for the importers that report problems by row number."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

from app.errors import ValidationError


def read_table(path: Path, columns: list[str]) -> list[dict[str, object]]:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # any damage to the file: one clear message
            raise ValidationError(f"Excelファイルを読めません: {type(exc).__name__}") from None
        rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
        wb.close()
    elif suffix == ".csv":
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError("CSVは UTF-8 で保存してください（Excelの「CSV UTF-8」形式）。") from None
        rows = [list(r) for r in csv.reader(io.StringIO(text))]
    else:
        raise ValidationError("取り込めるのは .csv と .xlsx のファイルです。")
    if not rows:
        raise ValidationError("ファイルが空です。")
    header = [str(c or "").strip() for c in rows[0]]
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValidationError(f"1行目（見出し）に列「{'」「'.join(missing)}」がありません。",
                              details=[f"必要な列: {','.join(columns)}"])
    out = []
    for row in rows[1:]:
        values = list(row) + [None] * (len(header) - len(row))
        out.append({h: values[i] for i, h in enumerate(header) if h})
    return out


def text(value: object) -> str:
    return "" if value is None else str(value).strip()


def as_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(text(value).replace("/", "-"))
    except ValueError:
        return None


def blank(row: dict[str, object]) -> bool:
    return not any(text(v) for v in row.values())
