"""A 本庁 manager's handover (opened by the 人事異動 import) lists their manuals with an overdue review
flagged → they name a successor and write 懸案事項 → the 所属長 confirms → the successor is the
manual's 管理担当者 and the check no longer reports the manual as without a valid manager."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.wareki import now_utc, today_jst
from tests.e2e.conftest import ARTIFACTS, shot, ui_login, ui_logout
from tests.helpers import make_manual, user

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_users")]


def test_handover_from_import_to_confirmation(page) -> None:
    manual = make_manual("kokuho-test", "国民健康保険 テスト手引き")
    manual.manager = user("hq.tanto")
    manual.last_reviewed_at = manual.last_published_at = now_utc() - timedelta(days=400)
    db.session.commit()

    # The admin uploads the 人事異動 file, checks the preview and applies it (発令日 today).
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "jinji-idou.csv"
    path.write_text("職員番号,氏名,異動前所属,異動後所属,職,発令日\n"
                    f"100001,佐藤 健一,健康福祉局 保険年金課,青葉区 保険年金課,担当,{today_jst().isoformat()}\n",
                    encoding="utf-8")
    ui_login(page, "admin")
    page.goto("/admin/staff-import")
    page.get_by_label("人事異動ファイル（.csv または .xlsx）").set_input_files(str(path))
    page.get_by_role("button", name="内容を確認する").click()
    expect(page.get_by_test_id("preview")).to_contain_text("管理担当者が不在になるマニュアル（1件）")
    expect(page.get_by_test_id("preview")).to_contain_text("国民健康保険 テスト手引き")
    page.get_by_role("button", name="この内容で反映する").click()
    expect(page.get_by_text("人事異動を反映しました（1人）")).to_be_visible()
    page.goto("/checks?kind=manager_invalid")
    expect(page.get_by_test_id("findings")).to_contain_text("国民健康保険 テスト手引き")
    ui_logout(page)

    # The person leaving fills in the handover the system opened.
    ui_login(page, "hq.tanto")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="事務引継書").click()
    page.get_by_role("link", name="佐藤 健一").first.click()
    items = page.get_by_test_id("manual-items")
    expect(items).to_contain_text("国民健康保険 テスト手引き")
    expect(items).to_contain_text("見直し期限超過")
    page.get_by_label("担当事務").fill("国民健康保険の資格取得・喪失に関する事務")
    page.get_by_label("後任者（全マニュアル共通）").select_option(label="鈴木 美香（係長）")
    page.get_by_label("国民健康保険 テスト手引きの引継事項").fill("見直し期限を過ぎています。様式改正と合わせて改正予定。")
    page.get_by_label("懸案事項").fill("資格確認書への移行に伴う手引きの改正が未了。")
    page.get_by_role("button", name="所属長に提出する").click()
    expect(page.get_by_test_id("handover-state")).to_have_text("確認待ち")
    ui_logout(page)

    # The 所属長 confirms.
    ui_login(page, "hq.kacho")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="事務引継書").click()
    page.get_by_role("link", name="所属の引継書（確認）").click()
    page.get_by_role("link", name="佐藤 健一").first.click()
    expect(page.get_by_text("資格確認書への移行に伴う手引きの改正が未了。")).to_be_visible()
    page.get_by_role("button", name="確認する").click()
    expect(page.get_by_test_id("confirmed")).to_contain_text("高橋 誠")
    shot(page, "handover-confirmed")
    page.goto("/manuals/kokuho-test/manage")
    expect(page.get_by_test_id("manager")).to_have_text("鈴木 美香")
    page.goto("/checks?kind=manager_invalid")
    expect(page.get_by_text("点検で見つかった事項はありません。")).to_be_visible()
    page.goto(page.url.replace("/checks?kind=manager_invalid", "/handovers/1/print"))
    expect(page.get_by_role("heading", name="事 務 引 継 書")).to_be_visible()
    shot(page, "handover-print")
