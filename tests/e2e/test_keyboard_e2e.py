"""Each main task done by keyboard alone (issue 19, JIS X 8341-3 2.1.1): only page.keyboard — Tab,
Shift+Tab, Enter, Space and typing — after opening the start page by its address. Every control
reached shows a visible focus indicator (2.4.7). Dialogs (確認) are answered as a keyboard user would."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.handover import handovers
from app.revisions.models import Revision
from tests.helpers import approve_all, make_manual, revise, user

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_users")]

FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  let name = e.getAttribute("aria-label") || "";
  if (!name && e.labels && e.labels.length) name = Array.from(e.labels).map((l) => l.textContent).join(" ");
  if (!name) name = e.textContent || e.value || "";
  const s = getComputedStyle(e);
  const visible = (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none";
  return {tag: e.tagName.toLowerCase(), name: name.replace(/\\s+/g, " ").trim(), visible: visible};
}"""


def tab_to(page, name: str, *, tag: str | None = None, back: bool = False, limit: int = 120) -> None:
    """Press Tab (or Shift+Tab) until the focused control's name matches; its focus must be visible."""
    pattern = re.compile(name)
    seen = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        f = page.evaluate(FOCUSED)
        if f is None:
            continue
        seen.append(f"{f['tag']}:{f['name'][:20]}")
        if pattern.search(f["name"]) and (tag is None or f["tag"] == tag):
            assert f["visible"], f"フォーカスが見えない: {f}"
            return
    raise AssertionError(f"Tab で「{name}」に届かない。たどった順: {seen}")


def press(page, key: str = "Enter") -> None:
    """Activate the focused link or submit button and wait for the page it opens."""
    with page.expect_navigation():
        page.keyboard.press(key)


def type_date(page, day: date) -> None:
    """Type a date into the focused <input type=date>. Its segments follow the browser's own locale
    (not the page's), so try the orders a person would see; Shift+Tab returns to the first segment."""
    parts = {"y": f"{day.year:04d}", "m": f"{day.month:02d}", "d": f"{day.day:02d}"}
    for order in ("ymd", "mdy", "dmy"):
        page.keyboard.type("".join(parts[p] for p in order))
        if page.evaluate("() => document.activeElement.value") == day.isoformat():
            return
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Shift+Tab")
    raise AssertionError("日付を入力できない")


def from_top(page, url: str) -> None:
    page.goto(url)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")


def kb_login(page, login: str) -> None:
    page.context.clear_cookies()
    from_top(page, "/login")
    tab_to(page, "ログインID", tag="input")
    page.keyboard.type(login)
    page.keyboard.press("Tab")
    page.keyboard.type("tebiki-demo")
    press(page)
    expect(page.get_by_role("heading", name="ダッシュボード")).to_be_visible()


def test_skip_link_is_first_and_moves_focus_to_main(page) -> None:
    kb_login(page, "aoba.tanto")
    from_top(page, "/manuals/")
    page.keyboard.press("Tab")
    f = page.evaluate(FOCUSED)
    assert f["name"] == "本文へ移動" and f["visible"], f
    expect(page.get_by_role("link", name="本文へ移動")).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


def test_revise_and_approve_a_manual_by_keyboard(page) -> None:
    make_manual("kokuho-test", "国民健康保険 テスト手引き")
    page.on("dialog", lambda d: d.accept())  # Enter on the browser's 確認 dialog

    kb_login(page, "hq.tanto")
    from_top(page, "/manuals/kokuho-test")
    tab_to(page, "^改正案を作成$", tag="button")
    press(page)
    expect(page.get_by_role("heading", name=re.compile("改正案の編集"))).to_be_visible()
    tab_to(page, "本文（Markdown）", tag="textarea")
    page.keyboard.press("Control+End")
    page.keyboard.type("\n\n窓口では申請書の写しを交付しない。\n")
    tab_to(page, "改正理由", tag="textarea")
    page.keyboard.type("写しの扱いを明記する。")
    tab_to(page, "施行日", tag="input")
    type_date(page, date.today() + timedelta(days=40))
    tab_to(page, "^保存して改正案の画面へ$", tag="button")
    press(page)
    expect(page.get_by_text("保存しました。")).to_be_visible()
    tab_to(page, "^決裁に回付する$", tag="button")
    press(page, "Space")
    expect(page.get_by_test_id("state")).to_have_text("決裁中")
    url = page.url

    kb_login(page, "hq.kakaricho")
    from_top(page, url)
    tab_to(page, "審査（承認）する", tag="button")
    press(page)
    expect(page.get_by_text("承認しました。次の段階に回付されました。")).to_be_visible()

    kb_login(page, "hq.kacho")
    from_top(page, url)
    tab_to(page, "決裁（承認）する", tag="button")
    press(page)
    expect(page.get_by_test_id("state")).to_have_text("公布済")
    db.session.rollback()
    assert db.session.query(Revision).filter_by(state="published").count() == 1


def test_file_an_inquiry_by_keyboard(page) -> None:
    make_manual("kokuho-test", "国民健康保険 テスト手引き")
    kb_login(page, "aoba.tanto")
    from_top(page, "/manuals/kokuho-test")
    tab_to(page, "このマニュアルについて照会する", tag="a")
    press(page)
    tab_to(page, "対象の節", tag="select")
    page.keyboard.press("ArrowDown")  # a closed select changes with the arrow keys
    tab_to(page, "件名", tag="input")
    page.keyboard.type("世帯主変更の届出と同時の資格取得")
    tab_to(page, "照会内容", tag="textarea")
    page.keyboard.type("世帯主変更と資格取得の届出が同時にあった場合、どちらを先に処理しますか。")
    tab_to(page, "^送信する$", tag="button")
    press(page)
    expect(page.get_by_text(re.compile("疑義照会を.*に送信しました。"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("世帯主変更の届出と同時の資格取得"))).to_be_visible()


def test_confirm_a_notice_by_keyboard(page) -> None:
    manual = make_manual("kokuho-test", "国民健康保険 テスト手引き")
    approve_all(revise(manual, "hq.tanto", "14日以内", "30日以内", reason="審査期間を改める。"))
    kb_login(page, "aoba.kacho")
    tab_to(page, "^通知", tag="a")
    press(page)
    tab_to(page, "国民健康保険 テスト手引き", tag="a")
    press(page)
    tab_to(page, "コメント", tag="input")
    page.keyboard.type("課内会議で説明済み")
    tab_to(page, "周知済として確認する", tag="button")
    press(page)
    expect(page.get_by_text("周知済として確認しました。")).to_be_visible()


def test_confirm_a_handover_by_keyboard(page) -> None:
    make_manual("kokuho-test", "国民健康保険 テスト手引き")
    handover = handovers.start(db.session, user("hq.tanto"), user("hq.tanto"))
    handovers.save(db.session, user("hq.tanto"), handover, duties="国民健康保険の資格事務", concerns="様式改正が未了",
                   default_successor_id=user("hq.kakaricho").id, notes={}, successors={}, submit=True)
    db.session.commit()
    kb_login(page, "hq.kacho")
    tab_to(page, "^事務引継書$", tag="a")
    press(page)
    tab_to(page, "所属の引継書（確認）", tag="a")
    press(page)
    tab_to(page, "佐藤 健一", tag="a")
    press(page)
    expect(page.get_by_text("様式改正が未了")).to_be_visible()
    tab_to(page, "^確認する$", tag="button")
    press(page)
    expect(page.get_by_test_id("confirmed")).to_contain_text("高橋 誠")
