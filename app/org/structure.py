"""The city's organisation as DOMAIN.md describes it (the data `flask seed org` writes)."""

from __future__ import annotations

from collections.abc import Iterator

from app.org.models import HQ, WARD

HQ_UNITS: list[tuple[str, str]] = [
    ("市民局", "戸籍住民課"),
    ("市民局", "区政課"),
    ("健康福祉局", "保険年金課"),
    ("健康福祉局", "障害企画課"),
    ("健康福祉局", "保護自立支援課"),
    ("健康福祉局", "介護保険課"),
    ("こども若者局", "こども家庭保健課"),
    ("こども若者局", "運営支援課"),
    ("財政局", "課税企画課"),
    ("財政局", "収納対策課"),
    ("総務局", "コンプライアンス推進担当"),
]

# The city's order of its 局 (事務分掌の順): lists of 本庁 units follow it.
BUREAU_ORDER: list[str] = [
    "総務局", "まちづくり政策局", "財政局", "市民局", "文化観光局", "環境局", "健康福祉局", "こども若者局",
    "経済局", "都市整備局", "建設局", "消防局", "交通局", "水道局", "ガス局", "教育局",
]

WARD_OFFICES: list[str] = ["青葉区", "宮城野区", "若林区", "太白区", "泉区", "宮城総合支所", "秋保総合支所"]

SECTION_KINDS: list[str] = [
    "戸籍住民課", "保険年金課", "障害高齢課", "保護課", "家庭健康課",
    "保育給付課", "税務課", "納税課", "まちづくり推進課", "総務課",
]

# A 総合支所 is smaller: taxes (and at 秋保 welfare and childcare payments) are handled by the ward.
MISSING_SECTIONS: dict[str, set[str]] = {
    "宮城総合支所": {"税務課", "納税課"},
    "秋保総合支所": {"税務課", "納税課", "保護課", "保育給付課"},
}


def ward_sections(office: str) -> list[str]:
    missing = MISSING_SECTIONS.get(office, set())
    return [s for s in SECTION_KINDS if s not in missing]


def all_units() -> Iterator[tuple[str, str, str]]:
    for group, section in HQ_UNITS:
        yield HQ, group, section
    for office in WARD_OFFICES:
        for section in ward_sections(office):
            yield WARD, office, section
