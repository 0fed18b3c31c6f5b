"""Publish → a ward user sees the unread badge and opens the 新旧対照表 → the ward 課長 confirms
周知済 → the 本庁 matrix shows that ward confirmed and the others not."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot, ui_login, ui_logout
from tests.helpers import approve_all, make_manual, revise

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_users")]


def test_notice_read_confirmed_and_seen_by_hq(page) -> None:
    manual = make_manual("kokuho-test", "国民健康保険 テスト手引き")
    revision = revise(manual, "hq.tanto", "14日以内", "30日以内", reason="審査期間を改める。")
    approve_all(revision)

    ui_login(page, "aoba.tanto")
    badge = page.get_by_test_id("unread-badge")
    expect(badge).to_have_text("1")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="通知").click()
    row = page.get_by_test_id("notice-row").first
    expect(row).to_contain_text("国民健康保険 テスト手引き")
    expect(row).to_contain_text("未確認")
    row.get_by_role("link").click()
    page.get_by_role("link", name="新旧対照表を開く").click()
    expect(page.get_by_text("（傍線部分は改正部分）")).to_be_visible()
    expect(page.get_by_text("既読として記録しました。")).to_be_visible()  # posted by the page once shown
    page.reload()
    expect(page.get_by_test_id("unread-badge")).to_have_count(0)
    expect(page.get_by_test_id("my-state")).to_have_text("既読")
    ui_logout(page)

    ui_login(page, "aoba.kacho")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="通知").click()
    page.get_by_test_id("notice-row").first.get_by_role("link").click()
    box = page.get_by_test_id("confirm-box")
    # Opening the notice page is no reading: the 課長 and the 係長 have not opened the 新旧対照表.
    expect(box.locator("tr.not-read")).to_have_count(2)
    expect(box.get_by_text("田中 陽子")).to_be_visible()
    page.get_by_label("コメント").fill("課内会議で説明済み")
    page.get_by_role("button", name="周知済として確認する").click()
    expect(page.get_by_text("周知済として確認しました。")).to_be_visible()
    shot(page, "notice-confirmed")
    ui_logout(page)

    ui_login(page, "hq.tanto")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="通知").click()
    page.get_by_role("link", name="所管マニュアルの周知状況").click()
    page.get_by_role("link", name="区ごとの状況").first.click()
    matrix = page.get_by_test_id("matrix")
    expect(matrix.locator('td[data-office="青葉区"]')).to_contain_text("周知済")
    expect(matrix.locator('td[data-office="青葉区"]')).to_contain_text("伊藤 大輔")
    for office in ("宮城野区", "若林区", "太白区", "泉区", "宮城総合支所", "秋保総合支所"):
        expect(matrix.locator(f'td[data-office="{office}"]')).to_contain_text("未読")
    shot(page, "notice-matrix")
