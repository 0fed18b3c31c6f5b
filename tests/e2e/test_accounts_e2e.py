from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot, ui_login, ui_logout

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_users")]

# login → (name shown in the header, navigation that must be present, navigation that must not)
ROLES = [
    ("hq.tanto", "佐藤 健一", ["ダッシュボード"], ["管理"], "作成中の改正案"),
    ("hq.kakaricho", "鈴木 美香", ["ダッシュボード"], ["管理"], "決裁待ち"),
    ("hq.kacho", "高橋 誠", ["ダッシュボード"], ["管理"], "事務引継書の確認"),
    ("aoba.tanto", "田中 陽子", ["ダッシュボード"], ["管理"], "未読の改正通知"),
    ("aoba.kacho", "伊藤 大輔", ["ダッシュボード"], ["管理"], "周知確認待ち"),
    ("admin", "渡辺 直子", ["ダッシュボード", "管理"], [], "組織・職員"),
]


@pytest.mark.parametrize(("login_id", "name", "nav_yes", "nav_no", "panel"), ROLES, ids=[r[0] for r in ROLES])
def test_each_role_logs_in_to_its_dashboard(page, login_id, name, nav_yes, nav_no, panel) -> None:
    ui_login(page, login_id)
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", name="ダッシュボード", level=1)).to_be_visible()
    expect(page.get_by_test_id("who")).to_contain_text(name)
    nav = page.get_by_role("navigation", name="メインメニュー")
    for label in nav_yes:
        expect(nav.get_by_role("link", name=label, exact=True)).to_be_visible()
    for label in nav_no:
        expect(nav.get_by_role("link", name=label, exact=True)).to_have_count(0)
    expect(page.get_by_role("heading", name=panel)).to_be_visible()
    shot(page, f"dashboard-{login_id}")
    ui_logout(page)
    expect(page.get_by_text("ログアウトしました。")).to_be_visible()


def test_wrong_password_shows_japanese_error(page) -> None:
    ui_login(page, "aoba.tanto", "wrong-password")
    expect(page.get_by_test_id("login-error")).to_contain_text("ログインできませんでした。ログインIDとパスワードをご確認ください。")
    # The login ID typed stays in the field.
    expect(page.get_by_label("ログインID")).to_have_value("aoba.tanto")


def test_post_without_csrf_token_is_refused(page) -> None:
    ui_login(page, "admin")
    page.goto("/admin/users/new")
    page.get_by_label("氏名").fill("偽装 送信")
    page.get_by_label("ログインID").fill("forged.user")
    page.get_by_label("初期パスワード").fill("password-1")
    # Remove the token as a forged cross-site form would lack it.
    page.locator("form.narrow input[name=csrf_token]").evaluate("el => el.remove()")
    page.get_by_role("button", name="登録する").click()
    expect(page.get_by_test_id("error-message")).to_contain_text("CSRFトークンがありません")
    page.goto("/admin/users?q=forged.user")
    expect(page.get_by_text("条件に合う職員はいません")).to_be_visible()


def test_admin_creates_user_who_can_log_in(page) -> None:
    ui_login(page, "admin")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="管理").click()
    page.get_by_role("link", name="職員を登録").click()
    page.get_by_label("氏名").fill("若林 花子")
    page.get_by_label("ログインID").fill("wakabayashi.new")
    page.get_by_label("所属").select_option(label="若林区 保険年金課")
    page.get_by_label("職", exact=True).select_option("担当")
    page.get_by_label("初期パスワード").fill("short")
    page.get_by_role("button", name="登録する").click()
    expect(page.get_by_text("パスワードは8文字以上にしてください。")).to_be_visible()
    expect(page.get_by_label("氏名")).to_have_value("若林 花子")  # nothing typed is lost
    page.get_by_label("初期パスワード").fill("first-pass-1")
    page.get_by_role("button", name="登録する").click()
    expect(page.get_by_text("職員「若林 花子」を登録しました。")).to_be_visible()
    expect(page.get_by_role("cell", name="若林区 保険年金課")).to_be_visible()
    shot(page, "admin-users")
    ui_logout(page)
    ui_login(page, "wakabayashi.new", "first-pass-1")
    expect(page.get_by_test_id("who")).to_contain_text("若林 花子")
