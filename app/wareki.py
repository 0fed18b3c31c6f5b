"""The one date module: 和暦 beside 西暦 in Japan time, and reading dates typed as 西暦 or 和暦."""

from __future__ import annotations

import os
import re as _re
import unicodedata as _unicodedata
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")

# (first day of the era, name). Dates before 明治 are shown in 西暦 only.
ERAS: list[tuple[date, str]] = [
    (date(2019, 5, 1), "令和"),
    (date(1989, 1, 8), "平成"),
    (date(1926, 12, 25), "昭和"),
    (date(1912, 7, 30), "大正"),
    (date(1873, 1, 1), "明治"),  # the Gregorian calendar was adopted on 明治6年1月1日
]


def era_year(d: date) -> tuple[str, int] | None:
    for start, name in ERAS:
        if d >= start:
            return name, d.year - start.year + 1
    return None


def wareki(d: date | datetime | None, *, with_seireki: bool = True) -> str:
    """令和6年4月1日（2024-04-01）. Datetimes are first converted to Japan time."""
    if d is None:
        return ""
    if isinstance(d, datetime):
        d = to_jst(d).date()
    era = era_year(d)
    iso = d.isoformat()
    if era is None:
        return iso
    name, year = era
    text = f"{name}{'元' if year == 1 else year}年{d.month}月{d.day}日"
    return f"{text}（{iso}）" if with_seireki else text


def to_jst(dt: datetime) -> datetime:
    # Naive datetimes in the database are UTC (SQLite drops the zone).
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(JST)


def wareki_datetime(dt: datetime | None) -> str:
    """令和6年4月1日（2024-04-01）9:05"""
    if dt is None:
        return ""
    local = to_jst(dt)
    return f"{wareki(local.date())} {local.hour}:{local.minute:02d}"


def now_utc() -> datetime:
    return datetime.now(UTC)


def today_jst() -> date:
    """Today in Japan. `TEBIKI_TODAY=YYYY-MM-DD` sets the calendar (a rehearsal of a 施行日, and the
    tests' clock): everything that depends on the day — in force, 施行予定, due dates — follows it."""
    fixed = os.environ.get("TEBIKI_TODAY")
    if fixed:
        return date.fromisoformat(fixed)
    return datetime.now(JST).date()


# --- reading dates ---------------------------------------------------------------------------------


ERA_LETTERS = {"R": "令和", "H": "平成", "S": "昭和", "T": "大正", "M": "明治", "令": "令和", "平": "平成", "昭": "昭和",
               "大": "大正", "明": "明治"}
_ERA_START = {name: start for start, name in ERAS}
_ERA_END = {ERAS[i][1]: ERAS[i - 1][0] for i in range(1, len(ERAS))}  # the first day of the next era
_SEIREKI = _re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_WAREKI = _re.compile(r"^(令和|平成|昭和|大正|明治|[RHSTM令平昭大明])(元|\d{1,2})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


def parse_date(text: str) -> date | None:
    """A date as people type it: 2027-04-01, 2027/4/1, 2027年4月1日, 令和9年4月1日, 令和元年5月1日,
    R9.4.1, R09/04/01, H31.4.30 (full-width digits too). None for anything else, including days
    that do not exist (2027-02-30) and era years outside their era (平成32年, 令和元年4月30日)."""
    value = _unicodedata.normalize("NFKC", text or "").strip().replace(" ", "").upper()
    if not value:
        return None
    m = _SEIREKI.match(value)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    m = _WAREKI.match(value)
    if not m:
        return None
    era = ERA_LETTERS.get(m[1], m[1])
    start = _ERA_START[era]
    year = 1 if m[2] == "元" else int(m[2])
    if year < 1:
        return None
    try:
        d = date(start.year + year - 1, int(m[3]), int(m[4]))
    except ValueError:
        return None
    end = _ERA_END.get(era)
    if d < start or (end is not None and d >= end):
        return None
    return d
