"""Search a clerk trusts (issue 18), in the browser: 「もしかして」 with one click, a kana reading,
and the admin adding a synonym from the zero-result list that the next search then uses."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.search import analysis, synonyms
from app.search import services as search
from tests.e2e.conftest import shot, ui_login, ui_logout
from tests.helpers import make_manual

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_users")]

BODY = """# 国民健康保険・障害者手帳 窓口の手引き

## 1 資格喪失届の受付

国民健康保険の資格喪失届を受け付けるときは、社会保険の加入日を確認する。代理人の場合は委任状を確認する。

## 2 身体障害者手帳の交付

身体障害者手帳を交付するときは、本人確認書類を確認する。
"""


@pytest.fixture
def indexed():
    manual = make_manual("madoguchi", "国民健康保険・障害者手帳 窓口の手引き", body=BODY)
    search.index_manual(db.session, manual)
    db.session.commit()  # the index is in the database on PostgreSQL: the server must see it (and its lock freed)
    yield manual
    analysis.set_synonyms(analysis.SYNONYMS)
    synonyms._loaded[0] = None


def search_for(page, text: str) -> None:
    page.goto("/search")
    main = page.locator("#main")
    main.get_by_label("検索語").fill(text)
    main.get_by_role("button", name="検索", exact=True).click()


def test_did_you_mean_and_readings(page, indexed) -> None:
    ui_login(page, "aoba.tanto")
    search_for(page, "国民健康保健 喪失")
    suggestion = page.get_by_test_id("suggestion")
    expect(suggestion).to_contain_text("もしかして: 国民健康保険 喪失")
    shot(page, "search_did_you_mean")
    suggestion.get_by_role("link").click()
    expect(page.locator("#main").get_by_label("検索語")).to_have_value("国民健康保険 喪失")
    expect(page.get_by_test_id("hit").first).to_contain_text("資格喪失届の受付")
    expect(page.get_by_test_id("suggestion")).to_have_count(0)

    search_for(page, "いにんじょう")
    expect(page.get_by_test_id("rewritten")).to_contain_text("「委任状」として検索しました")
    expect(page.get_by_test_id("hit").first.locator("mark").first).to_have_text("委任")  # marked term by term
    shot(page, "search_reading")

    search_for(page, "ほげほげ存在しない語")
    expect(page.get_by_test_id("no-results")).to_be_visible()


def test_admin_adds_a_synonym_a_search_then_uses(page, indexed) -> None:
    ui_login(page, "aoba.tanto")
    search_for(page, "身障手帳")
    expect(page.get_by_test_id("no-results")).to_be_visible()
    ui_logout(page)

    ui_login(page, "admin")
    page.goto("/admin/")
    page.get_by_role("navigation", name="管理メニュー").get_by_role("link", name="検索の同義語").click()
    expect(page.get_by_role("heading", name="検索の同義語・表記ゆれ")).to_be_visible()
    expect(page.get_by_test_id("synonym-table")).to_contain_text("国民健康保険")  # the former table
    page.get_by_test_id("zero-results").get_by_role("link", name="＋ 身障手帳").click()
    expect(page.get_by_label("同じ意味として扱う語")).to_have_value("身障手帳")
    page.get_by_label("正規形（検索で使う語）").fill("身体障害者手帳")
    shot(page, "search_synonyms_form")
    page.get_by_role("button", name="保存する").click()
    expect(page.get_by_text("「身体障害者手帳」の組を保存しました。")).to_be_visible()
    expect(page.get_by_test_id("synonym-table")).to_contain_text("身障手帳")
    shot(page, "search_synonyms_saved")
    ui_logout(page)

    ui_login(page, "aoba.tanto")
    search_for(page, "身障手帳")
    expect(page.get_by_test_id("hit").first).to_contain_text("身体障害者手帳の交付")
    expect(page.get_by_test_id("hit").first.locator("mark").first).to_have_text("身体")
    shot(page, "search_synonym_used")
    db.session.rollback()
    from app.audit import AuditEntry

    assert db.session.query(AuditEntry).filter_by(action="search.synonyms").count() == 1
