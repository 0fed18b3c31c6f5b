"""Two drafts of one manual in the browser: both publish in turn when they change different
sections; when they change the same sentence the second goes to the resolution page; a revision
changing the title, a tag and a target is published and seen."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.wareki import today_jst
from tests.e2e.conftest import shot, ui_login, ui_logout
from tests.helpers import make_manual

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_users")]


def draft(page, old: str, new: str, reason: str, days: int) -> str:
    """As 担当: open a revision of the test manual, change one sentence and the 施行日, submit it."""
    page.goto("/manuals/kokuho-test")
    page.get_by_role("button", name="改正案を作成").click()
    body = page.locator("#body")
    body.fill(body.input_value().replace(old, new))
    page.get_by_label("改正理由").fill(reason)
    page.get_by_label("施行日").fill((today_jst() + timedelta(days=days)).isoformat())
    page.get_by_role("button", name="保存して改正案の画面へ").click()
    expect(page.get_by_text("保存しました。")).to_be_visible()
    url = page.url
    page.get_by_role("button", name="決裁に回付する").click()
    expect(page.get_by_test_id("state")).to_have_text("決裁中")
    return url


def approve(page, url: str, login: str, button: str) -> None:
    ui_login(page, login)
    page.goto(url)
    page.get_by_role("button", name=button).click()
    ui_logout(page)


def test_two_drafts_of_different_sections_publish_in_turn(page) -> None:
    make_manual("kokuho-test", "国民健康保険 テスト手引き")
    ui_login(page, "hq.tanto")
    first = draft(page, "14日以内に決定する。", "21日以内に決定する。", "審査期間を改める。", 10)
    page.goto("/manuals/kokuho-test")
    page.get_by_role("button", name="改正案を作成").click()
    # Opening a second draft says so, and both drafts show each other.
    expect(page.get_by_text("このマニュアルには進行中の改正案があります", exact=False)).to_be_visible()
    page.get_by_role("link", name=re.compile("改正案 #")).first.click()
    expect(page.get_by_test_id("other-drafts")).to_contain_text("#1")
    second = page.url.removesuffix("/")
    page.goto(second + "/edit")
    body = page.locator("#body")
    body.fill(body.input_value().replace("決定通知書を郵送する。", "決定通知書を郵送又は交付する。"))
    page.get_by_label("改正理由").fill("交付による通知を加える。")
    page.get_by_label("施行日").fill((today_jst() + timedelta(days=20)).isoformat())
    page.get_by_role("button", name="保存して改正案の画面へ").click()
    page.get_by_role("button", name="決裁に回付する").click()
    expect(page.get_by_test_id("state")).to_have_text("決裁中")
    ui_logout(page)
    for url in (first, second):
        approve(page, url, "hq.kakaricho", "審査（承認）する")
        approve(page, url, "hq.kacho", "決裁（承認）する")
    ui_login(page, "hq.tanto")
    page.goto(second)
    expect(page.get_by_test_id("state")).to_have_text("公布済")
    # The second's 新旧対照表 (第2版 → 第3版) shows its own change only.
    page.goto("/manuals/kokuho-test/compare?old=2&new=3")
    changed = page.locator("table.shinkyu tbody.changed-section")
    expect(changed).to_have_count(1)
    expect(changed).to_contain_text("郵送又は交付する")
    assert set(page.locator("table.shinkyu u.chg").all_inner_texts()) == {"又は交付"}
    shot(page, "parallel-compare")


def test_same_sentence_goes_to_the_resolution_page(page) -> None:
    make_manual("kokuho-test", "国民健康保険 テスト手引き")
    ui_login(page, "hq.tanto")
    first = draft(page, "14日以内に決定する。", "21日以内に決定する。", "審査期間を21日に。", 5)
    second = draft(page, "14日以内に決定する。", "30日以内に決定する。", "審査期間を30日に。", 6)
    ui_logout(page)
    for url in (first, second):
        approve(page, url, "hq.kakaricho", "審査（承認）する")
    approve(page, first, "hq.kacho", "決裁（承認）する")
    ui_login(page, "hq.kacho")
    page.goto(second)
    page.get_by_role("button", name="決裁（承認）する").click()
    expect(page.get_by_text("公布せずに起案者に戻しました", exact=False)).to_be_visible()
    ui_logout(page)

    ui_login(page, "hq.tanto")
    page.goto(second)
    expect(page.get_by_test_id("conflict-banner")).to_be_visible()
    page.get_by_role("link", name="競合を解消する").click()
    conflict = page.get_by_test_id("body-conflict")
    expect(conflict).to_contain_text("21日以内")
    expect(conflict).to_contain_text("30日以内")
    shot(page, "resolve-page")
    conflict.get_by_label("編集する", exact=True).check()
    conflict.get_by_label("編集する場合の内容").fill("申請内容を審査し、25日以内に決定する。")
    page.get_by_role("button", name="解消して保存").click()
    expect(page.get_by_text("競合を解消して保存しました", exact=False)).to_be_visible()
    expect(page.get_by_test_id("conflict-banner")).to_have_count(0)
    page.get_by_role("button", name="決裁に回付する").click()
    ui_logout(page)
    approve(page, second, "hq.kakaricho", "審査（承認）する")
    approve(page, second, "hq.kacho", "決裁（承認）する")
    ui_login(page, "aoba.tanto")
    page.goto("/manuals/kokuho-test/v/3")
    expect(page.get_by_test_id("manual-body")).to_contain_text("25日以内に決定する。")


def test_title_tag_and_target_change_is_published_and_seen(page) -> None:
    make_manual("kokuho-test", "国民健康保険 テスト手引き")
    ui_login(page, "hq.tanto")
    page.goto("/manuals/kokuho-test")
    page.get_by_role("button", name="改正案を作成").click()
    page.get_by_label("マニュアル名").fill("国民健康保険 資格取得届の手引き")
    page.get_by_label("タグ", exact=True).fill("テスト、資格取得")
    page.get_by_label("戸籍住民課").check()
    page.get_by_label("改正理由").fill("名称と対象を改める。")
    page.get_by_label("施行日").fill(today_jst().isoformat())
    page.get_by_role("button", name="保存して改正案の画面へ").click()
    url = page.url
    page.get_by_role("button", name="決裁に回付する").click()
    ui_logout(page)
    approve(page, url, "hq.kakaricho", "審査（承認）する")
    approve(page, url, "hq.kacho", "決裁（承認）する")
    # A ward 戸籍住民課 user (a new target) finds it by its new title and sees the new tag.
    ui_login(page, "aoba.koseki.tanto")
    page.get_by_role("searchbox", name="マニュアル・判断事例を検索").fill("資格取得届")
    page.get_by_role("button", name="検索").click()
    page.get_by_role("link", name=re.compile("国民健康保険 資格取得届の手引き")).first.click()
    expect(page.locator(".manual-head h1")).to_have_text("国民健康保険 資格取得届の手引き")
    expect(page.locator("dl.meta")).to_contain_text("資格取得")
    expect(page.locator("dl.meta")).to_contain_text("戸籍住民課")
    shot(page, "retitled-manual")
