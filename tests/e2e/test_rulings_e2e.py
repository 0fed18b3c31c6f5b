"""Ward asks → 本庁 answers → 課長 approves with 全区共有 → a user of another ward finds the ruling
by searching a variant spelling and sees who decided it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.search import services as search
from tests.e2e.conftest import shot, ui_login, ui_logout
from tests.helpers import make_manual

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_users")]


def test_inquiry_becomes_a_ruling_another_ward_finds(page) -> None:
    manual = make_manual("juminhyo-test", "住民票の写し等の交付の手引き")
    search.index_manual(db.session, manual)
    db.session.commit()  # on PostgreSQL the index is in the database: commit it (and free its lock) for the server

    # A ward clerk asks from the manual page, about one section.
    ui_login(page, "aoba.tanto")
    page.goto("/manuals/juminhyo-test")
    page.get_by_role("link", name="このマニュアルについて照会する").click()
    page.get_by_label("対象の節").select_option(label="2 受付")
    page.get_by_label("件名").fill("代理人の申込みで委任状の引継ぎ事項が不明な場合")
    page.get_by_label("照会内容").fill("代理人が持参した委任状に、申込みの内容と引継ぎ先の記載がありません。受け付けてよいでしょうか。")
    page.get_by_role("button", name="送信する").click()
    expect(page.get_by_text("疑義照会を健康福祉局 保険年金課に送信しました。")).to_be_visible()
    inquiry_url = page.url
    ui_logout(page)

    # 本庁 担当 answers from the inbox and sends it to the 課長 with 全区共有.
    ui_login(page, "hq.tanto")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="照会").click()
    expect(page.get_by_role("heading", name="照会受付")).to_be_visible()
    page.get_by_role("link", name="代理人の申込みで委任状の引継ぎ事項が不明な場合").click()
    page.get_by_label("回答", exact=True).fill("委任事項が特定できない委任状では交付できません。本人に委任事項を補記してもらってください。")
    page.get_by_label("根拠（法令の条項・マニュアルの該当箇所）").fill("住民基本台帳法第12条第3項、本手引き 2 受付")
    page.get_by_label("タグ（「、」区切り）").fill("委任状、代理人")
    page.get_by_label("全区共有（判断事例として全区に公表する）").check()
    page.get_by_role("button", name="課長の決裁に回す").click()
    expect(page.get_by_text("回答案を課長の決裁に回しました。")).to_be_visible()
    ui_logout(page)

    # 課長 approves: the organisational decision, published to every ward.
    ui_login(page, "hq.kacho")
    page.goto(inquiry_url)
    page.get_by_role("button", name="決裁する（全区共有で公表）").click()
    expect(page.get_by_text(re.compile(r"判断事例 R\d{4}-\d{3} として全区に公表しました"))).to_be_visible()
    number = page.locator(".ruling-no").inner_text()
    ui_logout(page)

    # A clerk of another ward searches with different spellings (引き継ぎ, 申し込み).
    ui_login(page, "izumi.hoken.tanto")
    page.get_by_placeholder("マニュアル・判断事例を検索").fill("申し込み 引き継ぎ 委任状")
    page.get_by_placeholder("マニュアル・判断事例を検索").press("Enter")
    first = page.get_by_test_id("hit").first
    expect(first).to_contain_text(number)
    expect(first.locator("mark").first).to_be_visible()
    shot(page, "search-results")
    first.get_by_role("link").click()
    expect(page.get_by_test_id("answer")).to_contain_text("委任事項が特定できない委任状では交付できません。")
    expect(page.get_by_test_id("decision")).to_contain_text("高橋 誠")
    expect(page.get_by_test_id("decision")).to_contain_text("課長")
    shot(page, "ruling-page")
    # It is listed on the manual's page too.
    page.goto("/manuals/juminhyo-test")
    expect(page.get_by_role("link", name=number)).to_be_visible()
