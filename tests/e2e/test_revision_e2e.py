"""The whole path in the browser: 担当 drafts → 意見照会 → ward comments → 係長 → 課長 →
a ward user sees the new version, its history and the 新旧対照表 with the change underlined."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.wareki import today_jst
from tests.e2e.conftest import shot, ui_login, ui_logout
from tests.helpers import make_manual

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_users")]


def test_draft_consult_approve_publish_and_read(page, monkeypatch) -> None:
    make_manual("kokuho-test", "国民健康保険 テスト手引き")

    # 担当 opens a revision from the manual page and edits it with live preview.
    ui_login(page, "hq.tanto")
    page.goto("/manuals/kokuho-test")
    page.get_by_role("button", name="改正案を作成").click()
    expect(page.get_by_role("heading", name=re.compile("改正案の編集"))).to_be_visible()
    body = page.locator("#body")
    text = body.input_value()
    body.fill(text.replace("14日以内に決定する。", "30日以内に決定する。"))
    expect(page.locator("#preview")).to_contain_text("30日以内に決定する。")
    page.get_by_label("改正理由").fill("審査期間を実態に合わせて改める。")
    effective = today_jst() + timedelta(days=30)
    page.get_by_label("施行日").fill(effective.isoformat())
    shot(page, "revision-editor")
    page.get_by_role("button", name="保存して改正案の画面へ").click()
    expect(page.get_by_text("保存しました。")).to_be_visible()

    # 意見照会 to the wards.
    page.get_by_role("button", name=re.compile("に意見照会する")).click()
    expect(page.get_by_test_id("state")).to_have_text("意見照会中")
    revision_url = page.url
    ui_logout(page)

    # A ward user reads the draft and comments on a heading.
    ui_login(page, "aoba.tanto")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="意見照会").click()
    page.get_by_role("link", name="国民健康保険 テスト手引き").first.click()
    page.get_by_label("対象の見出し").select_option(label="3 審査")
    page.get_by_label("意見", exact=True).fill("30日とする根拠（規則の条項）も記載してください。")
    page.get_by_role("button", name="意見を提出する").click()
    expect(page.get_by_text("意見を提出しました。")).to_be_visible()
    expect(page.get_by_test_id("comment")).to_contain_text("青葉区 保険年金課")
    ui_logout(page)

    # The drafter records the disposition and submits for approval.
    ui_login(page, "hq.tanto")
    page.goto(revision_url)
    page.get_by_label("理由・対応内容").fill("規則の条項を追記しました")
    page.get_by_role("button", name="記録").click()
    expect(page.get_by_test_id("comment")).to_contain_text("反映した")
    page.get_by_role("button", name="決裁に回付する").click()
    # The wards still have time to comment: cutting 意見照会 short needs a confirmation.
    expect(page.get_by_text("意見照会の期限", exact=False).first).to_be_visible()
    page.get_by_label(re.compile("前に回付することを確認しました")).check()
    page.get_by_role("button", name="決裁に回付する").click()
    expect(page.get_by_test_id("state")).to_have_text("決裁中")
    expect(page.get_by_text("起案者は承認できません")).to_be_visible()
    ui_logout(page)

    # 係長 (審査) then 課長 (決裁).
    ui_login(page, "hq.kakaricho")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="起案・決裁").click()
    page.get_by_role("link", name="国民健康保険 テスト手引き").first.click()
    page.get_by_role("button", name="審査（承認）する").click()
    expect(page.get_by_text("承認しました。次の段階に回付されました。")).to_be_visible()
    ui_logout(page)
    ui_login(page, "hq.kacho")
    page.goto(revision_url)
    shot(page, "revision-approval")
    page.get_by_role("button", name="決裁（承認）する").click()
    expect(page.get_by_text("決裁しました。マニュアルを公布しました", exact=False)).to_be_visible()
    expect(page.get_by_test_id("state")).to_have_text("公布済")
    ui_logout(page)

    # Before its 施行日 the ward user reads the version in force, told of the one to come.
    ui_login(page, "aoba.tanto")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="マニュアル").click()
    page.get_by_role("link", name="国民健康保険 テスト手引き").click()
    expect(page.get_by_test_id("banner")).to_contain_text("これは現在施行中の版（第1版")
    expect(page.get_by_test_id("manual-body")).to_contain_text("14日以内に決定する。")
    expect(page.get_by_test_id("scheduled-banner")).to_contain_text("第2版")
    shot(page, "manual-page-scheduled")
    page.get_by_test_id("scheduled-banner").get_by_role("link", name=re.compile("第2版")).click()
    expect(page.get_by_test_id("banner")).to_contain_text("施行予定（第2版")
    expect(page.get_by_test_id("manual-body")).to_contain_text("30日以内に決定する。")
    # On the 施行日 (the clock moves; nothing is run) the new version is in force.
    monkeypatch.setenv("TEBIKI_TODAY", effective.isoformat())
    page.goto("/manuals/kokuho-test")
    expect(page.get_by_test_id("banner")).to_contain_text("これは現在施行中の版（第2版")
    expect(page.get_by_test_id("manual-body")).to_contain_text("30日以内に決定する。")
    expect(page.get_by_test_id("scheduled-banner")).to_have_count(0)
    shot(page, "manual-page")
    page.get_by_role("link", name="改正履歴").click()
    expect(page.get_by_role("cell", name=re.compile("審査期間を実態に合わせて改める。"))).to_be_visible()
    expect(page.get_by_text("決裁: 高橋 誠（課長）")).to_be_visible()
    page.get_by_role("link", name="新旧対照表").first.click()
    expect(page.get_by_text("（傍線部分は改正部分）")).to_be_visible()
    underlined = page.locator("table.shinkyu u.chg")
    expect(underlined.first).to_be_visible()
    assert set(underlined.all_inner_texts()) == {"30", "14"}
    shot(page, "shinkyu")
    # Print layout: A4 landscape (the page rule is in print.css)
    page.emulate_media(media="print")
    expect(page.locator(".site-nav")).to_be_hidden()


def test_wrong_role_sees_clear_errors(page) -> None:
    make_manual("kokuho-test", "国民健康保険 テスト手引き")
    ui_login(page, "kaigo.hq.tanto")
    page.goto("/manuals/kokuho-test")
    expect(page.get_by_role("button", name="改正案を作成")).to_have_count(0)
    ui_logout(page)
    ui_login(page, "hq.tanto")
    page.goto("/manuals/kokuho-test")
    page.get_by_role("button", name="改正案を作成").click()
    page.get_by_role("button", name="保存して改正案の画面へ").click()
    page.get_by_role("button", name="決裁に回付する").click()
    expect(page.get_by_text("この改正案はまだ回付できません。")).to_be_visible()
    expect(page.get_by_text("改正理由を入力して保存してください。")).to_be_visible()
    expect(page.get_by_text("本文が現行版から変更されていません。")).to_be_visible()
