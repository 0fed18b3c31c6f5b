"""The one place that knows how the city orders things: 50音順 by reading for manual titles and
people, and the city's own order for units (本庁 by 局, then the ward offices in their order).

A reading becomes a sort key of digits only (two per character, then one per character for
濁点・半濁点・小書き), so the database orders it the same under any collation: SQLite's binary
and PostgreSQL's locale collations alike. The keys are kept in columns (`Manual.title_kana`,
`User.name_kana`), set whenever a title or a name is set, so lists sort and paginate in SQL."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.manuals.models import Manual
from app.org.models import HQ, Unit, User
from app.org.structure import BUREAU_ORDER, HQ_UNITS, SECTION_KINDS, WARD_OFFICES
from app.search.analysis import reading

GOJUON = ("アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヰヱヲン")
VOWELS = "アイウエオ"
SMALL = dict(zip("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ", strict=True))
KEY_CHARS = 60  # the first 60 characters decide; ties fall back to the text itself
OTHER = 99


def _vowel(kana: str) -> str:
    i = GOJUON.find(kana)
    if i < 0 or kana == "ン":
        return ""
    if kana in "ヤユヨ":
        return {"ヤ": "ア", "ユ": "ウ", "ヨ": "オ"}[kana]
    if kana in "ワヰヱヲ":
        return {"ワ": "ア", "ヰ": "イ", "ヱ": "エ", "ヲ": "オ"}[kana]
    return VOWELS[i % 5]


@lru_cache(maxsize=8192)
def kana_key(text: str) -> str:
    """The sort key of a title or a name: 英数字, then kana in 50音順, then anything unread."""
    primary, secondary = [], []
    prev = ""
    for ch in reading(text or ""):
        mark = 1
        if "ぁ" <= ch <= "ゖ":
            ch = chr(ord(ch) + 0x60)  # hiragana → katakana
        if ch in SMALL:
            ch, mark = SMALL[ch], 0
        base, *marks = list(unicodedata.normalize("NFD", ch))
        if marks:
            mark = 2 if marks[0] == "\u3099" else 3
        if base == "ー":
            base = _vowel(prev) or base
        if base.isascii() and base.isdigit():
            code = 1 + int(base)
        elif base.isascii() and base.isalpha():
            code = 11 + ord(base.lower()) - ord("a")
        elif base in GOJUON:
            code = 40 + GOJUON.index(base)
        else:
            code = OTHER
        primary.append(f"{code:02d}")
        secondary.append(str(mark))
        prev = base
        if len(primary) == KEY_CHARS:
            break
    pad = KEY_CHARS - len(primary)
    return "".join(primary) + "00" * pad + "".join(secondary) + "0" * pad


@event.listens_for(Manual.title, "set")
def _manual_title(target: Manual, value: str, _old: object, _initiator: object) -> None:
    target.title_kana = kana_key(value or "")


@event.listens_for(User.name, "set")
def _user_name(target: User, value: str, _old: object, _initiator: object) -> None:
    target.name_kana = kana_key(value or "")


def unit_rank(kind: str, group_name: str, section: str) -> tuple[object, ...]:
    """本庁 first, by 局 in the city's order, its 課 in their order; then the ward offices
    (青葉区 宮城野区 若林区 太白区 泉区 宮城総合支所 秋保総合支所), each section in the city's order.
    Anything the city has not listed comes after the listed ones, by reading."""
    if kind == HQ:
        groups = BUREAU_ORDER
        sections = [s for g, s in HQ_UNITS if g == group_name]
    else:
        groups, sections = WARD_OFFICES, SECTION_KINDS
    g = groups.index(group_name) if group_name in groups else len(groups)
    s = sections.index(section) if section in sections else len(sections)
    return (kind != HQ, g, kana_key(group_name) if g == len(groups) else "", s,
            kana_key(section) if s == len(sections) else "", group_name, section)


def renumber_units(session: Session) -> None:
    """`Unit.sort_order` in the city's order: every list ordered by it (and there are many) follows."""
    units = sorted(session.scalars(select(Unit)), key=lambda u: unit_rank(u.kind, u.group_name, u.section))
    for n, unit in enumerate(units, start=1):
        if unit.sort_order != n:
            unit.sort_order = n


def group_rank(kind: str, group_name: str) -> tuple[object, ...]:
    """A 局 or a ward office in the city's order (lists grouped by them)."""
    return unit_rank(kind, group_name, "")[:3]
