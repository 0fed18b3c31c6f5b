"""Browser: a 内示 in Excel's CSV (cp932) with 和暦 dates is imported; the admin withdraws one person on the
round page; the person leaving picks the colleague moving in by the same round as 後任者."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.wareki import today_jst, wareki
from tests.e2e.conftest import ARTIFACTS, shot, ui_login, ui_logout
from tests.helpers import make_manual, user

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_users")]


def test_wareki_cp932_import_cancel_one_and_incoming_successor(page) -> None:
    manual = make_manual("kokuho-round", "国民健康保険 異動テスト")
    manual.manager = user("hq.tanto")
    db.session.commit()
    day = today_jst() + timedelta(days=20)
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "naiji-sjis.csv"
    path.write_bytes(("職員番号,氏名,異動前所属,異動後所属,職,発令日\r\n"
                      f"100001,佐藤 健一,健康福祉局 保険年金課,青葉区 保険年金課,担当,{wareki(day, with_seireki=False)}\r\n"
                      f"100004,田中 陽子,青葉区 保険年金課,健康福祉局 保険年金課,担当,R{day.year - 2018}.{day.month}.{day.day}\r\n"
                      f"{user('izumi.hoken.tanto').employee_no},{user('izumi.hoken.tanto').name},泉区 保険年金課,泉区 総務課,担当,"
                      f"{day.isoformat()}\r\n").encode("cp932"))
    page.on("dialog", lambda dialog: dialog.accept())
    ui_login(page, "admin")
    page.goto("/admin/staff-import")
    page.get_by_label("人事異動ファイル（.csv または .xlsx）").set_input_files(str(path))
    page.get_by_role("button", name="内容を確認する").click()
    expect(page.get_by_test_id("preview")).to_contain_text("田中 陽子")
    page.get_by_role("button", name="この内容で反映する").click()
    expect(page.get_by_text("人事異動を反映しました（3人）")).to_be_visible()
    page.get_by_role("link", name="この人事異動の異動者一覧・訂正・取消").click()
    rows = page.get_by_test_id("transfers")
    expect(rows).to_contain_text("発令待ち")
    rows.get_by_role("row", name=user("izumi.hoken.tanto").name).get_by_role("button", name="取り消す").click()
    expect(page.get_by_text(f"{user('izumi.hoken.tanto').name}さんの異動を取り消しました")).to_be_visible()
    expect(rows.get_by_role("row", name=user("izumi.hoken.tanto").name)).to_contain_text("取消")
    shot(page, "round-page")
    ui_logout(page)

    ui_login(page, "hq.tanto")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="事務引継書").click()
    page.get_by_role("link", name="佐藤 健一").first.click()
    option = page.get_by_role("option", name="田中 陽子（担当・着任予定）")
    expect(option).to_have_count(1)
    shot(page, "handover-incoming-successor")
