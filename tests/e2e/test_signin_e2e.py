"""Browser: a session copied before logout is dead in another browser; the signed-in devices list."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot, ui_login, ui_logout

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_users")]


def test_cookie_copied_before_logout_does_not_work_in_another_browser(page, browser, live_server) -> None:
    ui_login(page, "aoba.tanto")
    expect(page.get_by_role("heading", name="ダッシュボード")).to_be_visible()
    stolen = [c for c in page.context.cookies() if c["name"] == "tebiki_session"]
    other = browser.new_context(base_url=live_server, locale="ja-JP", user_agent="Thief/1.0")
    try:
        other.add_cookies(stolen)
        thief = other.new_page()
        thief.goto("/dashboard")
        expect(thief.get_by_role("heading", name="ダッシュボード")).to_be_visible()  # a live copy works …
        # A second device of the user, and the list of signed-in browsers on the password page.
        page.goto("/account/password")
        expect(page.get_by_role("heading", name="ログイン中の端末")).to_be_visible()
        expect(page.get_by_text("この端末", exact=True)).to_be_visible()
        shot(page, "signin-devices")
        ui_logout(page)
        expect(page.get_by_text("ログアウトしました。")).to_be_visible()
        thief.goto("/dashboard")  # … and is dead after the logout
        expect(thief).to_have_url(f"{live_server}/login?next=%2Fdashboard")
        expect(thief.get_by_role("heading", name="ログイン")).to_be_visible()
    finally:
        other.close()
