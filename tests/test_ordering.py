"""50音順 by reading (titles, people) and the city's order of units, wherever they are listed."""

from __future__ import annotations

import re

import pytest

from app import ordering
from app.extensions import db
from app.org import services as org
from app.org.models import HQ, WARD, Unit
from app.search import analysis
from tests.conftest import login
from tests.helpers import make_manual, user

pytestmark = pytest.mark.usefixtures("demo_users")
CITY_WARDS = ["青葉区", "宮城野区", "若林区", "太白区", "泉区", "宮城総合支所", "秋保総合支所"]


def test_keys_sort_by_reading() -> None:
    titles = ["住民票の写しの交付事務", "保育所等の利用調整", "個人番号カードの交付", "介護保険の認定"]
    assert sorted(titles, key=ordering.kana_key) == ["介護保険の認定", "個人番号カードの交付",
                                                      "住民票の写しの交付事務", "保育所等の利用調整"]
    assert sorted(["ガス", "カス", "カード", "カイ"], key=ordering.kana_key) == ["カード", "カイ", "カス", "ガス"]
    assert ordering.kana_key("DV対策") > ordering.kana_key("住民")  # read ディーブイ, sorted as read
    assert set(ordering.kana_key("あ" * 300)) <= set("0123456789")  # collation-proof: digits only
    analysis.reading.cache_clear()
    analysis.reading("鈴木一郎")
    analysis.reading("鈴木一郎")
    assert analysis.reading.cache_info().hits >= 1


def test_manual_titles_in_50on_order(client) -> None:
    for slug, title in (("jumin", "住民票の写しの交付事務"), ("hoiku", "保育所等の利用調整"),
                        ("kojin", "個人番号カードの交付")):
        make_manual(slug, title)
    db.session.commit()
    login(client, "aoba.tanto")
    html = client.get("/manuals/?sort=title").get_data(as_text=True)
    found = [t for t in re.findall(r"(住民票の写しの交付事務|保育所等の利用調整|個人番号カードの交付)", html)]
    order = list(dict.fromkeys(found))
    assert order == ["個人番号カードの交付", "住民票の写しの交付事務", "保育所等の利用調整"]
    manual = db.session.query(ordering.Manual).filter_by(slug="kojin").one()
    manual.title = "和光市の例"  # a title changed later gets its key again
    assert manual.title_kana == ordering.kana_key("和光市の例")


def test_units_in_the_citys_order(client) -> None:
    units = org.list_units(db.session)
    wards = list(dict.fromkeys(u.group_name for u in units if u.kind == WARD))
    assert wards == CITY_WARDS
    bureaus = list(dict.fromkeys(u.group_name for u in units if u.kind == HQ))
    assert bureaus == ["総務局", "財政局", "市民局", "健康福祉局", "こども若者局"]
    assert [u.kind for u in units] == sorted(u.kind for u in units)  # 本庁 first
    # A unit added later takes its place among its office's units, not at the end.
    org.create_unit(db.session, user("admin"), kind=WARD, group_name="青葉区", section="新設担当")
    db.session.commit()
    units = org.list_units(db.session)
    names = [u.name for u in units]
    assert names.index("青葉区 新設担当") < names.index("宮城野区 戸籍住民課")
    login(client, "admin")
    html = client.get("/admin/users").get_data(as_text=True)
    groups = re.findall(r'<optgroup label="([^"]+)"', html)
    assert [g for g in groups if g in CITY_WARDS] == CITY_WARDS
    assert groups.index("総務局") < groups.index("市民局") < groups.index("青葉区")


def test_people_by_reading(client) -> None:
    unit = db.session.query(Unit).filter_by(name="青葉区 戸籍住民課").one()
    for login_id, name in (("t.watanabe", "渡辺 健"), ("t.ito", "伊藤 花子"), ("t.sato", "佐藤 一郎")):
        org.create_user(db.session, user("admin"), login=login_id, name=name, unit=unit, position="担当",
                        password="long-enough-1")
    db.session.commit()
    login(client, "admin")
    resp = client.get(f"/admin/users?sort=name&unit={unit.id}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    order = [n for n in re.findall(r"(渡辺 健|伊藤 花子|佐藤 一郎)", html)]
    assert list(dict.fromkeys(order)) == ["伊藤 花子", "佐藤 一郎", "渡辺 健"]
