"""Japanese in the browser too: the validation bubbles, and a counter where a field has a limit
(pasted text beyond it is kept and marked, not cut)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.wareki import today_jst
from tests.e2e.conftest import shot, ui_login
from tests.helpers import make_manual

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_users")]
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def test_counter_keeps_pasted_text_and_server_answers_in_japanese(page) -> None:
    make_manual("counter-test", "カウンターの手引き")
    db.session.commit()
    ui_login(page, "aoba.tanto")
    page.goto("/inquiries/new?manual=counter-test")
    subject = page.get_by_label("件名")
    expect(page.locator("#subject-count")).to_have_text("0 / 200 文字")
    subject.click()
    page.keyboard.insert_text("長" * 210)  # as a paste does
    assert len(subject.input_value()) == 210  # nothing cut
    expect(page.locator("#subject-count")).to_have_text("210 / 200 文字（10 文字多すぎます）")
    assert subject.get_attribute("aria-invalid") == "true"
    assert "subject-count" in (subject.get_attribute("aria-describedby") or "")
    page.get_by_label("照会内容").fill("本文")
    shot(page, "finish_counter_over")
    page.get_by_role("button", name="送信する").click()
    expect(page.locator("#subject-err")).to_contain_text("200文字以内で入力してください（現在 210 文字）")
    assert len(page.get_by_label("件名").input_value()) == 210  # what was typed comes back
    subject = page.get_by_label("件名")
    subject.fill("長" * 20)
    expect(page.locator("#subject-count")).to_have_text("20 / 200 文字")


def test_browser_validation_bubbles_are_japanese(page) -> None:
    make_manual("bubble-test", "吹き出しの手引き")
    db.session.commit()
    ui_login(page, "aoba.tanto")
    page.goto("/manuals/bubble-test/history")
    day = page.locator("input[type=date][name=date]")
    page.get_by_role("button", name="表示").click()
    message = day.evaluate("el => el.validationMessage")
    assert message == "この項目を入力してください。", message
    assert page.url.endswith("/history")  # not sent
    day.fill(today_jst().isoformat())
    assert day.evaluate("el => el.validationMessage") == ""
    page.get_by_role("button", name="表示").click()
    expect(page).to_have_url(re.compile(r"/v/1\?asof="))  # sent once the field is filled


def test_help_and_audit_log_pages(page) -> None:
    from tests.helpers import approve_all, revise

    approve_all(revise(make_manual("audit-look", "監査ログの手引き"), "hq.tanto", "14日以内", "10日以内"))
    ui_login(page, "admin")
    page.get_by_role("link", name="ヘルプ").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("システム管理者")
    shot(page, "finish_help_admin")
    page.goto("/admin/audit")
    page.locator("select[name=action]").select_option(label="公布")
    page.get_by_role("button", name="絞り込む").click()
    expect(page.locator("table.list tbody tr")).to_have_count(1)
    expect(page.locator("table.list tbody")).to_contain_text("「監査ログの手引き」の改正案")
    page.goto("/admin/audit")
    shot(page, "finish_audit_log")
