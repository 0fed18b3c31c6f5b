"""Attachments in the browser: a 本庁 担当 registers a 様式 and pastes a screenshot into a revision,
it is decided and published, a ward user sees the image, downloads the version's 様式 and finds
the file in the 新旧対照表; bad files are refused with a plain Japanese message."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.revisions.models import Revision
from app.wareki import today_jst
from tests import docx_samples
from tests.e2e.conftest import shot, ui_login
from tests.helpers import approve_all, git, make_manual
from tests.test_documents_files import CT, EXE, pdf_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_users")]

SCREENSHOT = docx_samples.png(120, 60, (20, 120, 200))


def zip_bomb(path: Path) -> Path:
    """A .docx whose word/document.xml inflates to 64 MiB from well under 1 MB."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", CT)
        with z.open("word/document.xml", "w") as f:
            chunk = b"<w:t>" + b"A" * (1024 * 1024 - 5)
            for _ in range(64):
                f.write(chunk)
    return path


def paste_image(page, png: bytes) -> None:  # type: ignore[no-untyped-def]
    """A screenshot on the real clipboard, pasted with Ctrl+V at the end of the body."""
    page.evaluate("""async (bytes) => {
        const blob = new Blob([new Uint8Array(bytes)], { type: "image/png" });
        await navigator.clipboard.write([new ClipboardItem({ "image/png": blob })]);
        const b = document.getElementById('body'); b.focus(); b.setSelectionRange(b.value.length, b.value.length);
    }""", list(png))
    page.keyboard.press("Control+V")


def test_form_and_pasted_image_are_published_with_the_revision(page, tmp_path: Path, app) -> None:  # type: ignore[no-untyped-def]
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    problems: list[str] = []
    page.on("pageerror", lambda err: problems.append(str(err)))
    manual = make_manual("kokuho-test", "国民健康保険 テスト手引き")
    ui_login(page, "hq.tanto")
    page.goto(f"/manuals/{manual.slug}")
    page.get_by_role("button", name="改正案を作成").click()
    toolbar = page.get_by_role("toolbar", name="本文の書式")
    body = page.locator("#body")
    preview = page.locator("#preview")
    box = page.get_by_role("region", name="添付ファイル（様式・画像）")
    expect(box).to_contain_text("まだ添付ファイルはありません。")

    # Bad files first: refused in Japanese, nothing registered.
    toolbar.get_by_role("button", name="画像・様式の挿入").click()
    panel = page.locator("#tb-file")
    picker = panel.get_by_label(re.compile("^ファイル"))
    error = panel.locator("[data-panel-error]")
    picker.set_input_files({"name": "申請書.pdf", "mimeType": "application/pdf", "buffer": EXE})
    panel.get_by_role("button", name="登録して挿入").click()
    expect(error).to_contain_text("「申請書.pdf」はPDFではありません（中身はWindows の実行ファイル（.exe など）です）")
    shot(page, "attachments-refused-exe")
    bomb = zip_bomb(tmp_path / "手引き様式.docx")
    picker.set_input_files(str(bomb))
    panel.get_by_role("button", name="登録して挿入").click()
    expect(error).to_contain_text("圧縮爆弾の疑いがあるため受け付けません")
    app.config["ATTACHMENT_MAX_BYTES"] = 2000
    try:
        picker.set_input_files({"name": "大きな様式.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()})
        panel.get_by_role("button", name="登録して挿入").click()
        expect(error).to_contain_text("上限（2KB）を超えています")
    finally:
        app.config.pop("ATTACHMENT_MAX_BYTES")
    expect(box).to_contain_text("まだ添付ファイルはありません。")

    # The 様式: registered from the panel, its link inserted where the caret was.
    page.evaluate("() => { const b = document.getElementById('body'); const i = b.value.indexOf('3. 受付印を押す。') + 10;"
                  " b.focus(); b.setSelectionRange(i, i); }")
    toolbar.get_by_role("button", name="画像・様式の挿入").click()
    panel.get_by_label(re.compile("^説明")).fill("国保 資格取得届（様式第1号）")
    picker.set_input_files({"name": "国保 資格取得届.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()})
    panel.get_by_role("button", name="登録して挿入").click()
    expect(panel).to_be_hidden()
    expect(toolbar.get_by_role("status")).to_contain_text("「国保_資格取得届.pdf」（PDF、")
    # A screenshot pasted from the clipboard becomes image-01.png and is shown inline.
    paste_image(page, SCREENSHOT)
    expect(box.locator("tr[data-name='image-01.png']")).to_be_visible()
    text = body.input_value()
    assert "[国保 資格取得届（様式第1号）](files/国保_資格取得届.pdf)" in text
    assert text.rstrip().endswith("![image-01](files/image-01.png)")
    expect(preview.locator("a.file-link")).to_have_text("国保 資格取得届（様式第1号）")
    expect(preview.locator(".file-meta").first).to_contain_text("（PDF・")
    page.wait_for_function("() => { const i = document.querySelector('#preview img'); return i && i.naturalWidth == 120; }")
    shot(page, "attachments-editor")
    page.get_by_label("改正理由").fill("資格取得届の様式と窓口画面を載せる。")
    page.get_by_label("施行日").fill(today_jst().isoformat())
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.get_by_text("保存しました。")).to_be_visible()
    assert problems == [], problems

    # Decided (審査・決裁 through the helpers): one commit on main holds the text and both files.
    db.session.rollback()
    revision = db.session.scalar(select(Revision).where(Revision.manual_id == manual.id))
    outcome = approve_all(revision)
    assert outcome.published is not None and outcome.published.number == 2
    sha = outcome.published.commit_sha
    assert git("rev-parse", "main").strip() == sha
    tree = set(git("ls-tree", "-r", "-z", "--name-only", sha).split("\0"))
    assert {"manuals/kokuho-test.md", "manuals/kokuho-test/files/国保_資格取得届.pdf",
            "manuals/kokuho-test/files/image-01.png"} <= tree
    changed = set(git("show", "-z", "--format=", "--name-only", sha).split("\0")) - {""}
    assert changed == {"manuals/kokuho-test.md", "manuals/kokuho-test/files/国保_資格取得届.pdf",
                       "manuals/kokuho-test/files/image-01.png"}

    # A ward user: the image inline, the 様式 listed and downloaded from version 2's permalink.
    page.context.clear_cookies()
    ui_login(page, "aoba.tanto")
    page.goto("/manuals/kokuho-test")
    article = page.get_by_test_id("manual-body")
    expect(article.locator("img[alt='image-01']")).to_have_attribute("src", "/manuals/kokuho-test/v/2/files/image-01.png")
    page.wait_for_function("() => { const i = document.querySelector('.manual-body img'); return i && i.naturalWidth == 120; }")
    forms = page.get_by_test_id("forms")
    expect(forms).to_contain_text("様式（第2版）")
    expect(forms).to_contain_text("国保_資格取得届.pdf")
    shot(page, "attachments-ward-manual")
    with page.expect_download() as info:
        forms.get_by_role("link", name="国保_資格取得届.pdf").click()
    download = info.value
    assert download.suggested_filename == "国保_資格取得届.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF-")
    assert download.url.endswith("/manuals/kokuho-test/v/2/files/%E5%9B%BD%E4%BF%9D_%E8%B3%87%E6%A0%BC%E5%8F%96%E5%BE%97%E5%B1%8A.pdf")
    # The 新旧対照表 lists the files the version added.
    page.get_by_role("link", name=re.compile("新旧対照表（第1版→第2版）")).click()
    changes = page.get_by_test_id("file-changes")
    expect(changes).to_contain_text("添付ファイル（様式・画像）の改正")
    expect(changes.locator("tr", has_text="国保_資格取得届.pdf")).to_contain_text("追加")
    expect(changes.locator("tr", has_text="image-01.png")).to_contain_text("PNG 画像")
    shot(page, "attachments-compare")
    # The 改正通知 lists them too.
    page.goto("/notices/")
    page.get_by_role("link", name=re.compile("国民健康保険 テスト手引き")).first.click()
    expect(page.get_by_test_id("file-changes")).to_contain_text("国保_資格取得届.pdf")
    shot(page, "attachments-notice")
    # A draft's files are not for a ward user who may not see the draft.
    assert page.request.get(f"/revisions/{revision.id}/files/image-01.png").status == 404
    assert problems == [], problems
