"""Issue 17: a 重要 revision with two 理解度確認 questions is drafted and published; two ward staff
read the 新旧対照表 and confirm, one answers wrongly, sees the explanation and passes on retry; the
ward 課長 sees who has not confirmed; 本庁 sees the per-question rates and the 改善 candidate."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.org.models import User
from app.revisions.models import Revision
from tests.e2e.conftest import shot, ui_login, ui_logout
from tests.helpers import approve_all, make_manual, revise, user

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_users")]


def read_and_confirm(page, answers: dict[str, str]) -> None:
    """From the dashboard: the notice, its 新旧対照表, 「内容を確認しました」, then one attempt."""
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="通知").click()
    page.get_by_test_id("notice-row").first.get_by_role("link").click()
    expect(page.get_by_test_id("significance")).to_contain_text("重要")
    page.get_by_role("link", name="新旧対照表を開く").click()
    expect(page.get_by_text("（傍線部分は改正部分）")).to_be_visible()
    expect(page.get_by_text("既読として記録しました。")).to_be_visible()
    page.get_by_role("button", name="内容を確認しました").click()
    expect(page.get_by_text("「内容を確認しました」を記録しました（第2版）")).to_be_visible()
    answer(page, answers)


def answer(page, answers: dict[str, str]) -> None:
    quiz = page.get_by_test_id("quiz")
    for prompt, choice in answers.items():
        quiz.get_by_role("group", name=prompt).get_by_label(choice).check()
    quiz.get_by_role("button", name="回答する").or_(quiz.get_by_role("button", name="もう一度回答する")).click()


def test_understanding_from_drafting_to_the_improvement_list(page) -> None:
    manual = make_manual("kokuho-test", "国民健康保険 テスト手引き")
    revision = revise(manual, "hq.tanto", "決定通知書を郵送する。", "決定通知書を郵送又は交付する。",
                      reason="決定通知書を窓口でも交付できるようにする。")
    aoba = user("aoba.tanto")
    db.session.add(User(login="aoba.hoken.yamamoto", name="山本 花子", unit_id=aoba.unit_id, position="担当",
                        password_hash=aoba.password_hash, email="yamamoto@city.example.lg.jp"))
    db.session.commit()

    # The drafter chooses 重要 and writes two questions in the editor.
    ui_login(page, "hq.tanto")
    page.goto(f"/revisions/{revision.id}/edit")
    page.get_by_label("重要", exact=True).check()
    page.get_by_text("理解度確認の設問（重要・緊急のみ").click()
    for n, (prompt, choices, correct, explanation, section) in enumerate([
        ("決定通知書の渡し方として正しいものは？", "郵送のみ\n郵送又は窓口での交付", "2",
         "改正後は、郵送のほか窓口で交付することもできます。", "4 通知"),
        ("申請の審査は、いつまでに決定しますか？", "7日以内\n14日以内", "2", "審査は14日以内に決定します。", "3 審査"),
    ], start=1):
        page.locator(f"#q{n}_prompt").fill(prompt)
        page.locator(f"#q{n}_choices").fill(choices)
        page.locator(f"#q{n}_correct").fill(correct)
        page.locator(f"#q{n}_explanation").fill(explanation)
        page.locator(f"#q{n}_anchor").select_option(label=section)
    page.get_by_role("button", name="保存して改正案の画面へ").click()
    expect(page.get_by_test_id("significance")).to_have_text("重要")
    expect(page.get_by_test_id("questions")).to_contain_text("理解度確認の設問（2問）")
    shot(page, "understanding-revision")
    ui_logout(page)
    db.session.rollback()
    approve_all(db.session.get(Revision, revision.id))

    # 田中: misses question 2 at first, reads the explanation, passes on the retry.
    ui_login(page, "aoba.tanto")
    read_and_confirm(page, {"問1 決定通知書の渡し方として正しいものは？": "郵送又は窓口での交付",
                            "問2 申請の審査は、いつまでに決定しますか？": "7日以内"})
    expect(page.get_by_text("不正解の設問があります（問2）")).to_be_visible()
    explanation = page.get_by_test_id("explanation")
    expect(explanation).to_have_count(1)
    expect(explanation).to_contain_text("審査は14日以内に決定します。")
    expect(explanation.get_by_role("link", name="3 審査")).to_have_attribute("href", "/manuals/kokuho-test/v/2#3-審査")
    shot(page, "understanding-wrong-answer")
    answer(page, {"問1 決定通知書の渡し方として正しいものは？": "郵送又は窓口での交付",
                  "問2 申請の審査は、いつまでに決定しますか？": "14日以内"})
    expect(page.get_by_text("全問正解です。理解度確認が完了しました。")).to_be_visible()
    expect(page.get_by_test_id("my-state")).to_have_text("理解度確認済")
    ui_logout(page)

    # The 係長: right the first time.
    ui_login(page, "aoba.hoken.kakaricho")
    read_and_confirm(page, {"問1 決定通知書の渡し方として正しいものは？": "郵送又は窓口での交付",
                            "問2 申請の審査は、いつまでに決定しますか？": "14日以内"})
    expect(page.get_by_text("全問正解です。")).to_be_visible()
    ui_logout(page)

    # The ward 課長 sees who has not confirmed (山本, and themself) and cannot just tick 周知済 past them.
    ui_login(page, "aoba.kacho")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="通知").click()
    page.get_by_test_id("notice-row").first.get_by_role("link").click()
    box = page.get_by_test_id("confirm-box")
    expect(box.get_by_test_id("person-counts")).to_contain_text("未読 2人")
    expect(box.get_by_test_id("person-counts")).to_contain_text("理解度確認済 2人")
    expect(box.locator("tr.not-done")).to_have_count(2)
    expect(box.locator("tr.not-done").first).to_contain_text("伊藤 大輔")
    expect(box.locator("tr.not-done").last).to_contain_text("山本 花子")
    expect(box.locator("tr.person-passed").filter(has_text="田中 陽子")).to_contain_text("合格（2回目）")
    page.get_by_role("button", name="周知済として確認する").click()
    expect(page.get_by_text("まだ確認していない職員が2人います")).to_be_visible()
    shot(page, "understanding-ward-head")
    ui_logout(page)

    # 本庁: the matrix, the per-question rates, and the 改善 candidate on the usage page.
    ui_login(page, "hq.tanto")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="通知").click()
    page.get_by_role("link", name="所管マニュアルの周知状況").click()
    page.get_by_role("link", name="区ごとの状況").first.click()
    cell = page.get_by_test_id("matrix").locator('td[data-office="青葉区"]')
    expect(cell).to_contain_text("未読 2・既読 0・確認済 0・理解度確認済 2（対象 4人）")
    results = page.get_by_test_id("question-result")
    expect(results.nth(0)).to_contain_text("100%")
    expect(results.nth(0).get_by_test_id("candidate")).to_have_count(0)
    expect(results.nth(1)).to_contain_text("50%")
    expect(results.nth(1).get_by_test_id("candidate")).to_have_text("改善候補")
    shot(page, "understanding-matrix")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="通知").click()
    page.get_by_role("link", name="活用状況").click()
    candidates = page.get_by_test_id("improvement-candidates")
    expect(candidates).to_contain_text("申請の審査は、いつまでに決定しますか？")
    expect(candidates).to_contain_text("1 / 1区")
    shot(page, "understanding-improvement")


def test_urgent_banner_and_annual_campaign(page) -> None:
    from tests.test_notices_understanding import publish

    manual = make_manual("kojin-joho", "個人情報の取扱い テスト手引き")
    publish(manual, "urgent")
    ui_login(page, "aoba.tanto")
    banner = page.get_by_test_id("urgent-banner")
    expect(banner).to_contain_text("緊急の改正通知があります")
    shot(page, "urgent-banner")
    banner.get_by_role("link").first.click()
    page.get_by_role("button", name="内容を確認しました").click()
    page.get_by_role("link", name="ダッシュボード").click()
    expect(page.get_by_test_id("urgent-banner")).to_have_count(0)  # gone once confirmed
    ui_logout(page)

    ui_login(page, "hq.kacho")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="通知").click()
    page.get_by_role("link", name="年次の再確認").click()
    page.get_by_label("マニュアル", exact=True).select_option(label="個人情報の取扱い テスト手引き（第2版）")
    page.get_by_label("期限", exact=True).fill("2027-03-31")
    page.get_by_label("会計年度任用職員").select_option("include")
    page.get_by_role("button", name="再確認を始める").click()
    expect(page.get_by_text("年度の再確認）」を開始しました")).to_be_visible()
    expect(page.get_by_test_id("matrix").locator('td[data-office="青葉区"]')).to_contain_text("未読 3")
    shot(page, "campaign-matrix")
    page.goto("/notices/campaigns/")
    expect(page.get_by_role("button", name="翌年度も実施（期限 令和10年3月31日）")).to_be_visible()
    shot(page, "campaigns")
    ui_logout(page)

    ui_login(page, "aoba.tanto")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="通知").click()
    row = page.get_by_test_id("notice-row").filter(has_text="年度の再確認")
    row.get_by_role("link").click()
    page.get_by_role("link", name="マニュアルを開く").click()
    expect(page.get_by_text("既読として記録しました。")).to_be_visible()
    page.get_by_role("button", name="内容を確認しました").click()
    expect(page.get_by_test_id("my-state")).to_have_text("確認済")
    shot(page, "campaign-read")
