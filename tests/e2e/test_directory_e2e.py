"""Browser: signing in with a directory account (real slapd, LDAPS); the admin's mapping and roster pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.directory import services as directory_services
from app.extensions import db
from tests.e2e.conftest import shot, ui_login, ui_logout
from tests.slapd import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("directory")]


def test_sign_in_with_a_directory_account(page) -> None:
    ui_login(page, "sato.dir", "wrong-password")
    expect(page.get_by_test_id("login-error")).to_contain_text("ログインできませんでした")
    ui_login(page, "sato.dir", PASSWORD)
    expect(page.get_by_role("heading", name="ダッシュボード")).to_be_visible()
    header = page.locator("header")
    expect(header).to_contain_text("佐藤 直樹")
    expect(header).to_contain_text("健康福祉局 保険年金課")
    shot(page, "directory-signed-in")
    page.get_by_role("link", name="パスワード変更").click()
    expect(page.get_by_text("市の職員ディレクトリ（統合認証）でログインします")).to_be_visible()
    ui_logout(page)
    expect(page.get_by_text("ログアウトしました。")).to_be_visible()


def test_admin_maps_a_department_and_imports_a_roster(page, tmp_path: Path) -> None:
    directory_services.sync(db.session, None)
    db.session.commit()
    ui_login(page, "admin")
    page.goto("/admin/directory?unmapped=1")
    row = page.get_by_role("row", name="青葉区 区民生活課")
    expect(row).to_contain_text("対応付けなし")
    shot(page, "directory-mapping")
    row.get_by_label("「青葉区 区民生活課」の対応先").select_option(label="青葉区 総務課")
    row.get_by_role("button", name="保存").click()
    expect(page.get_by_text("「青葉区 区民生活課」を「青葉区 総務課」に対応付けました")).to_be_visible()
    csv_path = tmp_path / "meibo.csv"
    csv_path.write_bytes("職員番号,氏名,所属,職,mail,ログインID,担当業務\r\n"
                         "800001,名簿 太郎,青葉区 区民生活課,主事,,meibo.taro,窓口\r\n".encode("cp932"))
    page.goto("/admin/roster")
    page.get_by_label("職員名簿ファイル（.csv または .xlsx）").set_input_files(str(csv_path))
    page.get_by_role("button", name="内容を確認する").click()
    expect(page.get_by_test_id("preview")).to_contain_text("名簿 太郎")
    shot(page, "roster-preview")
    page.get_by_role("button", name="この内容で反映する").click()
    expect(page.get_by_text("職員名簿を反映しました（新規 1人")).to_be_visible()
