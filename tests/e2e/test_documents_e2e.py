"""The clerk's editor in the browser: 「Wordから取り込む」 with its review, the toolbar, tables pasted
from Excel and Word through the real clipboard, the server preview, saving; and the downloads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.revisions import base
from app.revisions.models import Revision
from tests import docx_samples
from tests.e2e.conftest import shot, ui_login
from tests.helpers import approve_all, make_manual, revise
from tests.test_documents_files import pdf_bytes
from tests.test_documents_word import EXPECTED

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_users")]

EXCEL_TSV = "書類\t発行元\t手数料\n住民票の写し\t区役所\t300円\n課税証明書\t区役所\t\"300円\n（郵送は別途）\"\n"
WORD_HTML = ("<html><body><table><tr><td><p>区分</p></td><td><p>期限</p></td></tr>"
             "<tr><td><p>資格取得</p></td><td><p>14日以内</p></td></tr>"
             "<tr><td colspan='2'><p>資格喪失も同じ</p></td></tr></table></body></html>")


def select_lines(page, first: str, last: str) -> None:  # type: ignore[no-untyped-def]
    """Select from the start of the line holding `first` to the end of the line holding `last`."""
    page.evaluate("""([first, last]) => {
        const b = document.getElementById('body');
        const s = b.value.indexOf(first);
        const e = b.value.indexOf(last, s) + last.length;
        b.focus(); b.setSelectionRange(s, e);
    }""", [first, last])


def caret_to_end(page) -> None:  # type: ignore[no-untyped-def]
    page.evaluate("() => { const b = document.getElementById('body'); b.focus(); b.setSelectionRange(b.value.length, b.value.length); }")


def paste(page, data: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Put data on the real system clipboard and press Ctrl+V in the body, as a clerk does."""
    page.evaluate("""async (data) => {
        const items = {};
        for (const [type, text] of Object.entries(data)) items[type] = new Blob([text], { type });
        await navigator.clipboard.write([new ClipboardItem(items)]);
    }""", data)
    caret_to_end(page)
    page.keyboard.press("Control+V")


def test_clerk_imports_word_uses_the_toolbar_pastes_tables_and_saves(page, tmp_path: Path) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    problems: list[str] = []
    missing: set[str] = set()
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda err: problems.append(str(err)))
    page.on("response", lambda r: missing.add(r.url.split("/", 3)[3]) if r.status >= 400 else None)
    manual = make_manual("kokuho-test", "国民健康保険 テスト手引き")
    ui_login(page, "hq.tanto")
    page.goto(f"/manuals/{manual.slug}")
    page.get_by_role("button", name="改正案を作成").click()
    toolbar = page.get_by_role("toolbar", name="本文の書式")
    expect(toolbar).to_be_visible()
    body = page.locator("#body")
    preview = page.locator("#preview")

    # 「Wordから取り込む」: a document with tracked changes and comments is shown with its report.
    messy = tmp_path / "変更履歴のある手引き.docx"
    messy.write_bytes(docx_samples.messy_docx())
    toolbar.get_by_role("button", name="Wordから取り込む").click()
    importer = page.get_by_role("region", name="Wordから取り込む")
    expect(importer).to_be_visible()
    importer.get_by_label("Word 文書（.docx、10MBまで）").set_input_files(str(messy))
    importer.get_by_role("button", name="変換して確認する").click()
    report = importer.locator(".word-warnings")
    expect(report).to_contain_text("変更履歴（挿入1件・削除1件）")
    expect(report).to_contain_text("コメント1件は取り込みません")
    expect(report).to_contain_text("テキストボックス1個")
    expect(importer.locator("[data-word-preview]")).to_contain_text("申請は30日以内に行う。")
    shot(page, "documents-word-import-report")
    importer.get_by_role("button", name="取り込まない").first.click()
    expect(importer).to_be_hidden()
    assert "14日以内に決定する。" in body.input_value()  # the draft body was not touched

    # A well-made Word manual replaces the body after review.
    good = tmp_path / "資格取得の手引き.docx"
    good.write_bytes(docx_samples.manual_docx(docx_samples.png(120, 60, (30, 110, 200))))
    toolbar.get_by_role("button", name="Wordから取り込む").click()
    importer.get_by_label("Word 文書（.docx、10MBまで）").set_input_files(str(good))
    importer.get_by_role("button", name="変換して確認する").click()
    review = importer.locator("[data-word-preview]")
    expect(review.locator("strong")).to_have_text("資格取得届")
    expect(review.locator("ol ol li")).to_have_text("マイナンバーカードは表面の写真で確認する。")
    assert review.locator("img").evaluate("img => img.complete && img.naturalWidth") == 120  # the extracted image
    expect(importer.get_by_text("すべての内容を取り込みました。")).to_be_visible()
    expect(importer.locator(".word-files")).to_contain_text("files/image-01.png（PNG 画像")
    shot(page, "documents-word-import-review")
    importer.get_by_role("button", name="本文をこの内容で置き換える").click()
    expect(importer).to_be_hidden()
    expect(toolbar.get_by_role("status")).to_contain_text("Word の内容を本文に入れました")
    assert body.input_value() == EXPECTED
    expect(preview.locator("h1")).to_have_text("国民健康保険 資格取得の手引き")
    # Accepting the import stored the Word document's image in the draft: the preview shows it.
    image = preview.locator("img[alt='図']")
    expect(image).to_have_attribute("src", re.compile(r"/revisions/\d+/files/image-01\.png$"))
    page.wait_for_function("() => { const i = document.querySelector('#preview img'); return i && i.naturalWidth > 0; }")
    expect(page.locator("[data-attach-list] tr[data-name='image-01.png']")).to_be_visible()

    # The toolbar: a heading, a numbered list, bullets, a link and a 様式 reference.
    caret_to_end(page)
    page.keyboard.type("\n窓口での注意\n")
    page.keyboard.type("住所を確認する\n氏名を確認する\n")
    select_lines(page, "窓口での注意", "窓口での注意")
    toolbar.get_by_label("見出し").select_option(label="大見出し（## ）")
    select_lines(page, "住所を確認する", "氏名を確認する")
    toolbar.get_by_role("button", name="番号付きリスト").click()
    caret_to_end(page)
    page.keyboard.type("\n原本を返す\n写しを取る")
    select_lines(page, "原本を返す", "写しを取る")
    toolbar.get_by_role("button", name="箇条書き").click()
    caret_to_end(page)
    page.keyboard.type("\n\n詳しくは")
    toolbar.get_by_role("button", name="リンク").click()
    link_panel = page.locator("#tb-link")
    link_panel.get_by_label("表示する文字").fill("市のページ")
    link_panel.get_by_label(re.compile("リンク先")).fill("javascript:alert(1)")
    link_panel.get_by_role("button", name="挿入").click()
    expect(link_panel.get_by_text("https:// で始まる URL")).to_be_visible()
    link_panel.get_by_label(re.compile("リンク先")).fill("https://www.city.example.lg.jp/kokuho/")
    link_panel.get_by_role("button", name="挿入").click()
    page.keyboard.type("を見る。\n\n")
    toolbar.get_by_role("button", name="画像・様式の挿入").click()
    file_panel = page.locator("#tb-file")
    file_panel.get_by_label(re.compile("^ファイル")).set_input_files(
        {"name": "国保 資格取得届.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()})
    file_panel.get_by_role("button", name="登録して挿入").click()
    expect(file_panel).to_be_hidden()
    caret_to_end(page)
    page.keyboard.type("\n\n必ず原本を確認する。")
    page.evaluate("""() => { const b = document.getElementById('body'); const i = b.value.lastIndexOf('原本');
                             b.focus(); b.setSelectionRange(i, i + 2); }""")
    toolbar.get_by_role("button", name="太字").click()
    caret_to_end(page)
    toolbar.get_by_role("button", name="表", exact=True).click()
    expect(toolbar.get_by_role("status")).to_contain_text("表のひな形を入れました")
    page.keyboard.type("必要な書類")  # the first header cell is selected: typing replaces it
    text = body.input_value()
    assert "必ず**原本**を確認する。" in text
    assert "| 必要な書類 | 内容 | 備考 |\n| --- | --- | --- |\n|  |  |  |" in text
    assert "\n## 窓口での注意\n" in text
    assert "1. 住所を確認する\n2. 氏名を確認する" in text
    assert "- 原本を返す\n- 写しを取る" in text
    assert "詳しくは[市のページ](https://www.city.example.lg.jp/kokuho/)を見る。" in text
    assert "[国保 資格取得届](files/国保_資格取得届.pdf)" in text
    expect(preview.locator("h2", has_text="窓口での注意")).to_be_visible()
    expect(preview.locator("ol").last).to_contain_text("氏名を確認する")
    expect(preview.locator("a", has_text="市のページ")).to_have_attribute("href", "https://www.city.example.lg.jp/kokuho/")

    # Tables pasted from Excel (tab-separated, a quoted cell with a line break) and Word (HTML).
    paste(page, {"text/plain": EXCEL_TSV})
    expect(toolbar.get_by_role("status")).to_contain_text("表を貼り付けました（3行×3列")
    paste(page, {"text/html": WORD_HTML, "text/plain": "区分\t期限\n資格取得\t14日以内\n資格喪失も同じ\n"})
    text = body.input_value()
    assert ("| 書類 | 発行元 | 手数料 |\n| --- | --- | --- |\n| 住民票の写し | 区役所 | 300円 |\n"
            "| 課税証明書 | 区役所 | 300円 （郵送は別途） |") in text
    assert "| 区分 | 期限 |\n| --- | --- |\n| 資格取得 | 14日以内 |\n| 資格喪失も同じ |   |" in text
    expect(preview.locator("table")).to_have_count(4)  # the Word manual's, the toolbar's, Excel's and Word's
    expect(preview.locator("strong", has_text="原本")).to_be_visible()
    expect(preview.locator("table").nth(1).locator("th").first).to_have_text("必要な書類")
    expect(preview.locator("table").nth(2).locator("td").last).to_have_text("300円 （郵送は別途）")
    expect(preview.locator("table").nth(3).locator("th").first).to_have_text("区分")
    shot(page, "documents-editor-toolbar")
    preview.locator("table").nth(2).scroll_into_view_if_needed()
    shot(page, "documents-editor-preview-tables")

    # Saved as a normal draft: the text is the Markdown the clerk sees.
    page.get_by_label("改正理由").fill("Word の手引きを取り込む。")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.get_by_text("保存しました。")).to_be_visible()
    db.session.rollback()  # end this session's snapshot: the server process wrote since
    revision = db.session.scalar(select(Revision).where(Revision.manual_id == manual.id))
    saved = base.current_text(revision)
    assert "「**資格取得届**」" in saved and "| 課税証明書 | 区役所 | 300円 （郵送は別途） |" in saved
    assert problems == [], problems  # no script error, no CSP violation
    assert missing == set(), missing  # the image and the 様式 are the draft's files now


def test_downloads_from_the_pages(page) -> None:
    manual = make_manual("kokuho-test", "国民健康保険 テスト手引き")
    approve_all(revise(manual, "hq.tanto", "14日以内に決定する", "30日以内に決定する"))
    db.session.commit()
    ui_login(page, "aoba.tanto")
    page.goto("/manuals/kokuho-test")
    shot(page, "documents-manual-downloads")
    with page.expect_download() as info:
        page.get_by_role("link", name="PDF").click()
    download = info.value
    assert download.suggested_filename == "国民健康保険 テスト手引き_第2版.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF-")
    page.get_by_role("link", name=re.compile("新旧対照表（第1版→第2版）")).click()
    with page.expect_download() as info:
        page.get_by_role("link", name="Word").click()
    assert info.value.suggested_filename == "国民健康保険 テスト手引き_新旧対照表_第1版-第2版.docx"
    shot(page, "documents-compare-downloads")
