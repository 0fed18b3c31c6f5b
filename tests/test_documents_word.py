"""Word in: .docx → Markdown + images + a report (pure function), in bulk (`flask manuals import DIR`)
and from the editor (「Wordから取り込む」: shown for review, nothing saved)."""

from __future__ import annotations

import io
import random
import re
import subprocess
import zipfile
from datetime import date
from pathlib import Path

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from flask import Flask
from sqlalchemy import func, select

from app.documents.word_in import docx_to_markdown
from app.errors import ValidationError
from app.extensions import db
from app.manuals.models import Manual
from app.markdown import render
from app.revisions import base, drafting, route
from tests import docx_samples
from tests.conftest import csrf_token, login, post
from tests.helpers import git, make_manual, manual_text, revise, user
from tests.test_documents_files import EXE
from tests.test_foundation import _flask

EXPECTED = """# 国民健康保険 資格取得の手引き

## 1 目的

この手引きは、「**資格取得届**」の受付から決定までの事務を定める。

## 2 受付

1. 窓口で届出書を受け付ける。
2. 本人確認書類を確認する。
   1. マイナンバーカードは表面の写真で確認する。
3. 受付印を押す。

- 持参するもの
- 本人確認書類

| 書類 | 確認事項 |
| --- | --- |
| 届出書 | 記載漏れがないこと |
| 本人確認書類 | 有効期限内であること |

### 3 画面の操作

資格取得の画面は次のとおり。

![図](files/image-01.png)
"""


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").strip()


def test_word_manual_becomes_the_expected_markdown_and_image() -> None:
    image = docx_samples.png(64, 32, (10, 120, 60))
    result = docx_to_markdown(docx_samples.manual_docx(image), filename="資格取得.docx")
    assert result.markdown == EXPECTED
    assert [(f.name, f.kind.code, f.data) for f in result.files] == [("image-01.png", "png", image)]
    assert result.warnings == []
    html = render(result.markdown).html
    assert "<strong>資格取得届</strong>" in html
    assert re.search(r"<li>本人確認書類を確認する。\s*<ol>\s*<li>マイナンバーカード", html)  # the sub-step nests
    assert "<th>書類</th>" in html and "<td>有効期限内であること</td>" in html
    assert '<img src="files/image-01.png" alt="図">' in html
    assert [h.text for h in render(result.markdown).headings] == ["国民健康保険 資格取得の手引き", "1 目的", "2 受付", "3 画面の操作"]


def test_report_lists_what_could_not_be_carried_over() -> None:
    result = docx_to_markdown(docx_samples.messy_docx())
    md = result.markdown
    assert "申請は30日以内に行う。" in md and "14日" not in md  # tracked changes accepted
    assert "担当は徴収係である。" in md and "ちょうしゅう" not in md  # ruby: the base text stays
    assert "枠の中の注意書き" in md  # the text box's text follows its paragraph
    assert "施行日を確認すること" not in md  # comments are not body text
    report = "\n".join(result.warnings)
    for expected in ("変更履歴（挿入1件・削除1件）", "コメント1件は取り込みません（「施行日を確認すること」）",
                     "テキストボックス1個", "図形（矢印・四角・線など）1個は取り込めません", "ルビ（ふりがな）1か所",
                     "画像1点は PNG に変換して取り込みました"):
        assert expected in report, (expected, report)
    assert [f.kind.code for f in result.files] == ["png"]  # the GIF became a PNG
    assert result.files[0].data.startswith(b"\x89PNG")


def _docx_with_paragraphs(*texts: str, bold: tuple[str, str, str] | None = None) -> bytes:
    d = docx.Document()
    d.add_heading("見出し", 2)
    for t in texts:
        d.add_paragraph(t)
    if bold:
        p = d.add_paragraph(bold[0])
        p.add_run(bold[1]).bold = True
        p.add_run(bold[2])
    return docx_samples.save(d)


def test_markdown_characters_in_the_text_stay_text() -> None:
    texts = ["1. で始まる行は番号付きリストではない", "*強調ではない* と _下線_", "# 見出しではない", "- 箇条書きではない",
             "金額 | 備考", "<script>alert(1)</script>", "&amp; と &copy;", "[リンクではない](http://example.com)",
             "`コードではない`", "===", "C:\\Users\\様式"]
    md = docx_to_markdown(_docx_with_paragraphs(*texts)).markdown
    html = render(md).html
    assert "<ol" not in html and "<em" not in html and "<a " not in html and "<code" not in html
    assert html.count("<h") == 1 and "<ul" not in html and "<table" not in html and "<script" not in html
    paragraphs = [text_of(p) for p in re.findall(r"<p>(.*?)</p>", html, re.S)]
    assert paragraphs == texts


@pytest.mark.parametrize(("before", "bold", "after"), [
    ("この手引きは", "「申請書」", "の取扱いを定める。"),
    ("次の", "（注意）", "を読むこと。"),
    ("", "重要：", "期限は厳守する。"),
    ("期限は", "3月31日", "である。"),
    ("書類は", " 原本 ", "を確認する。"),
])
def test_bold_next_to_japanese_punctuation_still_renders_bold(before: str, bold: str, after: str) -> None:
    md = docx_to_markdown(_docx_with_paragraphs(bold=(before, bold, after))).markdown
    html = render(md).html
    last = re.findall(r"<p>(.*?)</p>", html, re.S)[-1]
    core = re.sub(r"^[\s「（]+|[\s」）：]+$", "", bold)
    assert f"<strong>{core}</strong>" in last, (md, last)
    assert text_of(last).replace(" ", "") == (before + bold + after).replace(" ", "")


def test_merged_cells_keep_the_columns_and_are_reported() -> None:
    d = docx.Document()
    t = d.add_table(rows=3, cols=3)
    for r in range(3):
        for c in range(3):
            t.cell(r, c).text = f"{r}{c}"
    t.cell(0, 0).merge(t.cell(0, 1)).text = "区分"
    t.cell(1, 2).merge(t.cell(2, 2)).text = "共通"
    t.cell(1, 0).paragraphs[0].add_run("").add_break()
    t.cell(1, 0).add_paragraph("二行目")
    result = docx_to_markdown(docx_samples.save(d))
    rows = [line for line in result.markdown.splitlines() if line.startswith("|")]
    assert all(line.count(" | ") == 2 for line in rows), rows
    assert rows[0] == "| 区分 |   | 02 |"
    assert rows[2].startswith("| 10 二行目 | 11 | 共通 |")
    assert rows[3] == "| 20 | 21 |   |"
    report = "\n".join(result.warnings)
    assert "結合されたセル2か所" in report and "セルの中の改行・段落" in report


def test_links_and_missing_headings() -> None:
    d = docx.Document()
    p = d.add_paragraph("詳しくは")
    r_id = d.part.relate_to("https://www.city.example.lg.jp/kokuho", docx.opc.constants.RELATIONSHIP_TYPE.HYPERLINK,
                            is_external=True)
    p._p.append(parse_xml(f'<w:hyperlink {nsdecls("w", "r")} r:id="{r_id}"><w:r><w:t>市のページ</w:t></w:r></w:hyperlink>'))
    p.add_run("を見る。")
    for i in range(5):
        d.add_paragraph(f"段落{i}")
    result = docx_to_markdown(docx_samples.save(d))
    assert "詳しくは[市のページ](https://www.city.example.lg.jp/kokuho)を見る。" in result.markdown
    assert any("見出しが見つかりませんでした" in w for w in result.warnings)


def test_footnotes_are_gathered_at_the_end() -> None:
    result = docx_to_markdown(docx_samples.footnote_docx())
    assert result.markdown == ("## 脚注のある手引き\n\n所得の基準は政令で定める（注1）額とする。\n\n"
                               "（注1）国民健康保険法施行令第29条の7\n")
    assert result.warnings == ["脚注1件は、本文の最後に「（注1）…」の形でまとめました。"]


def test_not_a_word_file_is_refused() -> None:
    with pytest.raises(ValidationError, match="Word 文書（.docx）ではありません"):
        docx_to_markdown(EXE, filename="手引き.docx")
    with pytest.raises(ValidationError, match="壊れているため開けません"):
        docx_to_markdown(b"PK\x03\x04" + b"\x00" * 200, filename="手引き.docx")


def _rezip(data: bytes, name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, content if info.filename == name else src.read(info.filename))
    return out.getvalue()


def test_damaged_documents_give_a_clear_refusal_never_a_crash() -> None:
    """Truncated, garbled and rewired parts: each either converts or is refused with a message."""
    good = docx_samples.manual_docx()
    xml = zipfile.ZipFile(io.BytesIO(good)).read("word/document.xml")
    rels = zipfile.ZipFile(io.BytesIO(good)).read("word/_rels/document.xml.rels")
    rng = random.Random(15)
    damaged = [_rezip(good, "word/document.xml", xml[: len(xml) * k // 10]) for k in range(1, 10)]
    damaged += [_rezip(good, "word/_rels/document.xml.rels", rels.replace(b"media/", b"../../../etc/")),
                _rezip(good, "word/_rels/document.xml.rels", b"<Relationships/>"),
                _rezip(good, "word/document.xml", xml.replace(b"w:val=", b"w:vax=")),
                _rezip(good, "word/numbering.xml", b"<w:numbering xmlns:w='x'/>"),
                good[: len(good) // 2]]
    for _ in range(25):
        chars = bytearray(xml)
        for _ in range(20):
            chars[rng.randrange(len(chars))] = rng.choice(b"<>/=\"' x\x00")
        damaged.append(_rezip(good, "word/document.xml", bytes(chars)))
    refused = 0
    for data in damaged:
        try:
            docx_to_markdown(data)
        except ValidationError as err:
            refused += 1
            assert err.message.startswith("Word 文書「document.docx」") or "ファイル「document.docx」" in err.message
    assert refused >= 30


# --- bulk: flask manuals import DIR ---------------------------------------------------------------

META = """title: 国民健康保険 資格取得の手引き
owner: 健康福祉局 保険年金課
targets: [保険年金課]
effective: 2025-04-01
tags: [国保, 資格]
"""


@pytest.mark.usefixtures("demo_users")
def test_bulk_import_takes_docx_with_yml_beside_md(app: Flask, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    image = docx_samples.png(50, 30, (0, 0, 200))
    (folder / "kokuho-shutoku.docx").write_bytes(docx_samples.manual_docx(image))
    (folder / "kokuho-shutoku.yml").write_text(META, encoding="utf-8")
    (folder / "henkou-rireki.docx").write_bytes(docx_samples.messy_docx())
    (folder / "henkou-rireki.yml").write_text(META.replace("資格取得の手引き", "変更履歴の手引き"), encoding="utf-8")
    (folder / "plain-text.md").write_text(manual_text("Markdownの手引き"), encoding="utf-8")
    db.session.commit()
    res = _flask(app, "manuals", "import", str(folder), "--as", "hq.kacho")
    assert res.returncode == 0, res.stderr
    assert "3件のマニュアルを第1版として登録しました。" in res.stdout
    assert "henkou-rireki.docx: 変更履歴（挿入1件・削除1件）" in res.stdout
    assert "henkou-rireki.docx: コメント1件は取り込みません" in res.stdout
    assert "kokuho-shutoku: 画像1点を" in res.stdout
    db.session.expire_all()
    assert set(db.session.scalars(select(Manual.slug))) == {"kokuho-shutoku", "henkou-rireki", "plain-text"}
    stored = git("show", "main:manuals/kokuho-shutoku.md")
    assert stored == ("---\ntitle: 国民健康保険 資格取得の手引き\nowner: 健康福祉局 保険年金課\ntargets: [保険年金課]\n"
                      "effective: 2025-04-01\nreview_months: 12\ntags: [国保, 資格]\n---\n" + EXPECTED)
    # The image is in git with the text, in the same (first) version's commit; nothing left staged.
    shown = subprocess.run(["git", "--git-dir", app.config["MANUALS_REPO"], "show",
                            "main:manuals/kokuho-shutoku/files/image-01.png"], capture_output=True, check=True).stdout
    assert shown == image
    md_commit = git("log", "-n1", "--format=%H", "main", "--", "manuals/kokuho-shutoku.md").strip()
    assert git("log", "-n1", "--format=%H", "main", "--", "manuals/kokuho-shutoku/files/").strip() == md_commit
    staged = Path(app.config["INSTANCE_DIR"]) / "imported_files"
    assert not staged.exists() or list(staged.iterdir()) == []
    assert "一括取込: kokuho-shutoku.docx" in git("log", "--format=%s", "main")


@pytest.mark.usefixtures("demo_users")
def test_bulk_import_with_one_broken_docx_imports_nothing_and_names_every_problem(app: Flask, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.docx").write_bytes(docx_samples.manual_docx())
    (folder / "good.yml").write_text(META, encoding="utf-8")
    (folder / "broken.docx").write_bytes(b"PK\x03\x04 this is not really a zip")
    (folder / "broken.yml").write_text(META, encoding="utf-8")
    (folder / "no-meta.docx").write_bytes(docx_samples.manual_docx())
    (folder / "bad-meta.docx").write_bytes(docx_samples.manual_docx())
    (folder / "bad-meta.yml").write_text("title: 所管課のない手引き\ntargets: [保険年金課]\n", encoding="utf-8")
    (folder / "fine.md").write_text(manual_text("Markdownの手引き"), encoding="utf-8")
    db.session.commit()
    before = git("for-each-ref", "refs/heads/main")
    res = _flask(app, "manuals", "import", str(folder))
    assert res.returncode == 1
    assert "何も登録していません" in res.stderr
    assert "broken.docx: ファイル「broken.docx」は壊れているため開けません" in res.stderr
    assert "no-meta.docx: メタデータのファイル no-meta.yml がありません" in res.stderr
    assert "bad-meta.docx: owner（所管課）がありません。" in res.stderr
    assert "good.docx" not in res.stderr
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Manual)) == 0
    assert git("for-each-ref", "refs/heads/main") == before
    staged = Path(app.config["INSTANCE_DIR"]) / "imported_files"
    assert not staged.exists() or list(staged.iterdir()) == []  # good.docx's image was not left behind


# --- from the editor: 「Wordから取り込む」 ----------------------------------------------------------

def _upload(client, revision_id: int | None, data: bytes, name: str = "手引き.docx", token: str | None = ""):  # type: ignore[no-untyped-def]
    form = {"file": (io.BytesIO(data), name)}
    if revision_id is not None:
        form["revision_id"] = str(revision_id)
    if token is not None:
        form["csrf_token"] = token or csrf_token(client, "/dashboard")
    return client.post("/api/documents/word-import", data=form, content_type="multipart/form-data")


@pytest.mark.usefixtures("demo_users")
def test_editor_word_import_is_shown_for_review_and_saves_nothing(client) -> None:
    manual = make_manual()
    revision = drafting.open_revision(db.session, user("hq.tanto"), manual)
    db.session.commit()
    head, ref = revision.head_commit, git("rev-parse", revision.ref).strip()
    login(client, "hq.tanto")
    page = client.get(f"/revisions/{revision.id}/edit").get_data(as_text=True)
    assert "data-editor-toolbar" in page and "Wordから取り込む" in page and "/static/editor.js" in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page) and " style=" not in page  # within the CSP
    image = docx_samples.png(20, 20)
    resp = _upload(client, revision.id, docx_samples.manual_docx(image))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["markdown"] == EXPECTED
    assert body["files"] == [{"name": "image-01.png", "label": "PNG 画像", "size": f"{len(image)}バイト"}]
    assert 'src="data:image/png;base64,' in body["html"] and "<strong>資格取得届</strong>" in body["html"]
    messy = _upload(client, revision.id, docx_samples.messy_docx()).get_json()
    assert any("変更履歴" in w for w in messy["warnings"])
    db.session.expire_all()
    assert base.get_revision(db.session, revision.id).head_commit == head
    assert git("rev-parse", revision.ref).strip() == ref  # nothing went to git
    assert _upload(client, None, docx_samples.manual_docx()).status_code == 200  # the new-manual page too


@pytest.mark.usefixtures("demo_users")
def test_editor_word_import_refusals(client, app: Flask) -> None:
    revision = revise(make_manual(), "hq.tanto", "14日以内", "30日以内")
    login(client, "hq.tanto")
    resp = _upload(client, revision.id, EXE)
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "ファイル「手引き.docx」はWord 文書（.docx）ではありません（中身はWindows の実行ファイル（.exe など）です）。登録できません。"
    assert _upload(client, revision.id, b"", name="").get_json()["error"] == "取り込む Word 文書（.docx）を選んでください。"
    assert _upload(client, revision.id, docx_samples.manual_docx(), token=None).status_code == 400  # no CSRF token
    assert _upload(client, 999999, docx_samples.manual_docx()).status_code == 404
    app.config["MAX_CONTENT_LENGTH"] = 200_000
    big = _upload(client, revision.id, b"PK" + b"\x00" * 300_000)
    assert big.status_code == 413 and "大きすぎます" in big.get_json()["error"]
    app.config["MAX_CONTENT_LENGTH"] = 10 * 1024 * 1024
    revision = base.get_revision(db.session, revision.id)
    revision.effective_date = date(2030, 4, 1)
    route.submit(db.session, user("hq.tanto"), revision)
    db.session.commit()
    assert _upload(client, revision.id, docx_samples.manual_docx()).status_code == 409  # 決裁中: not editable
    post(client, "/logout")
    login(client, "aoba.tanto")
    assert _upload(client, revision.id, docx_samples.manual_docx()).status_code == 403
    assert _upload(client, None, docx_samples.manual_docx()).status_code == 403
