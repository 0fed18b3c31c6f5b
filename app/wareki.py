"""The one date formatter: 和暦 beside 西暦, in Japan time."""

from __future__ import annotations

import os
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
