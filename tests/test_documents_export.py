"""Word and PDF out: a manual version, a 新旧対照表 and a 事務引継書, read back with python-docx and
poppler (pdftotext, pdffonts, pdfinfo, pdftoppm): the text is there, changed characters are
underlined, fonts are embedded, nothing is fetched from outside."""

from __future__ import annotations

import http.server
import io
import re
import subprocess
import threading
from pathlib import Path
from urllib.parse import quote

import docx
import pytest
from docx.shared import Mm
from PIL import Image

from app.documents.pdf import ORIGIN, LocalOnlyFetcher
from app.extensions import db
from app.handover import handovers
from tests.conftest import login, post
from tests.helpers import approve_all, make_manual, revise, user

pytestmark = pytest.mark.usefixtures("demo_users")


def published(body_change: tuple[str, str] = ("14日以内に決定する", "30日以内に決定する")):  # type: ignore[no-untyped-def]
    manual = make_manual()
    approve_all(revise(manual, "hq.tanto", *body_change))
    db.session.commit()
    return manual


def read_docx(data: bytes):  # type: ignore[no-untyped-def]
    return docx.Document(io.BytesIO(data))


def all_text(document) -> str:  # type: ignore[no-untyped-def]
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts += [c.text for c in row.cells]
    return "\n".join(parts)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_tool(tool: str, data: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    return subprocess.run([tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])], check=True,
                          capture_output=True, text=True).stdout


def assert_fonts_embedded(data: bytes, tmp_path: Path) -> list[str]:
    lines = pdf_tool("pdffonts", data, tmp_path).splitlines()[2:]
    assert lines, "no fonts in the PDF"
    for line in lines:
        cols = line.split()
        assert cols[-5] == "yes", f"font not embedded: {line}"  # columns: … emb sub uni object ID
    names = [line.split()[0] for line in lines]
    assert any("IPA" in n for n in names), names
    return names


def test_manual_version_as_docx(client) -> None:
    published()
    login(client, "aoba.tanto")  # any reader may export
    resp = client.get("/manuals/test-manual/v/2.docx")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert resp.headers["Content-Disposition"] == (
        f"attachment; filename=\"test-manual-v2.docx\"; filename*=UTF-8''{quote('テスト事務の手引き_第2版.docx')}")
    d = read_docx(resp.data)
    section = d.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(1) and abs(section.page_height - Mm(297)) < Mm(1)  # A4
    paragraphs = [(p.style.name, p.text) for p in d.paragraphs]
    assert ("Normal", "テスト事務の手引き") in paragraphs and ("Normal", "第2版") in paragraphs
    assert ("Heading 2", "1 目的") in paragraphs and ("Heading 2", "3 審査") in paragraphs
    assert ("Normal", "1. 窓口で申請書を受け付ける。") in paragraphs and ("Normal", "3. 受付印を押す。") in paragraphs
    assert ("Normal", "申請内容を審査し、30日以内に決定する。") in paragraphs
    text = all_text(d)
    for expected in ("健康福祉局 保険年金課", "改正理由", "記載を改める。", "決裁", "高橋 誠", "記載漏れがないこと"):
        assert expected in text, expected
    body_table = d.tables[-1]
    assert [c.text for c in body_table.rows[0].cells] == ["書類", "確認事項"]
    assert all(r.bold for r in body_table.rows[0].cells[0].paragraphs[0].runs)
    old = read_docx(client.get("/manuals/test-manual/v/1.docx").data)
    assert "申請内容を審査し、14日以内に決定する。" in [p.text for p in old.paragraphs]
    assert "旧版。現行は第2版" in all_text(old)


def test_manual_version_as_pdf(client, app, tmp_path: Path) -> None:
    published()
    login(client, "aoba.tanto")
    resp = client.get("/manuals/test-manual/v/2.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf" and resp.data.startswith(b"%PDF-")
    text = pdf_tool("pdftotext", resp.data, tmp_path)
    for expected in ("テスト事務の手引き", "第2版", "1 目的", "申請内容を審査し、30日以内に決定する。", "記載漏れがないこと",
                     "健康福祉局 保険年金課", "高橋 誠"):
        assert expected in text, expected
    assert_fonts_embedded(resp.data, tmp_path)
    info = pdf_tool("pdfinfo", resp.data, tmp_path)
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info), info
    assert "Title:           テスト事務の手引き（第2版）" in info
    # Laid out once: the second download is read from the cache (marked here to tell it apart).
    cached = list((Path(app.config["INSTANCE_DIR"]) / "pdf_cache").glob("*/*.pdf"))
    assert len(cached) == 1 and cached[0].read_bytes() == resp.data
    cached[0].write_bytes(resp.data + b"%cache-hit\n")
    assert client.get("/manuals/test-manual/v/2.pdf").data.endswith(b"%cache-hit\n")
    assert not client.get("/manuals/test-manual/v/1.pdf").data.endswith(b"%cache-hit\n")  # another version
    handover = handovers.start(db.session, user("hq.tanto"), user("hq.tanto"))
    db.session.commit()
    post(client, "/logout")
    login(client, "hq.tanto")
    assert client.get(f"/handovers/{handover.id}.pdf").status_code == 200
    assert len(list((Path(app.config["INSTANCE_DIR"]) / "pdf_cache").glob("*/*.pdf"))) == 2  # a handover: never cached


def test_compare_docx_underlines_exactly_the_changed_characters(client) -> None:
    published()
    login(client, "aoba.tanto")
    resp = client.get("/manuals/test-manual/compare.docx?new=2&old=1")
    assert resp.status_code == 200
    d = read_docx(resp.data)
    section = d.sections[0]
    assert section.page_width > section.page_height and abs(section.page_width - Mm(297)) < Mm(1)  # A4 landscape
    texts = [p.text for p in d.paragraphs]
    assert "新旧対照表" in texts and "テスト事務の手引き（第1版 → 第2版）" in texts and "（傍線部分は改正部分）" in texts
    table = d.tables[0]
    assert [c.text for c in table.rows[0].cells] == ["改正後", "改正前"]
    assert table.rows[0]._tr.trPr.xpath("./w:tblHeader")  # repeated on every page
    changed = [row for row in table.rows if "申請内容を審査し" in row.cells[0].text]
    assert len(changed) == 1
    new_cell, old_cell = changed[0].cells
    assert new_cell.text == "申請内容を審査し、30日以内に決定する。"
    assert old_cell.text == "申請内容を審査し、14日以内に決定する。"
    assert [r.text for r in new_cell.paragraphs[0].runs if r.underline] == ["30"]
    assert [r.text for r in old_cell.paragraphs[0].runs if r.underline] == ["14"]
    folded = [row.cells[0].text for row in table.rows if "変更なし（略）" in row.cells[0].text]
    assert folded == ["テスト事務の手引き … 変更なし（略）", "1 目的 … 変更なし（略）", "2 受付 … 変更なし（略）",
                      "4 通知 … 変更なし（略）"]
    every_underlined = [r.text for row in table.rows for c in row.cells for p in c.paragraphs for r in p.runs if r.underline]
    assert every_underlined == ["30", "14"]


def _underline_rows(png: Path, box: tuple[float, float, float, float], scale: float) -> bool:
    """Is there a dark line under the word (a row dark over ≥90% of its width) just below it?"""
    img = Image.open(png).convert("L")
    x0, y0, x1, y1 = (int(v * scale) for v in box)
    for y in range(y1 - 2, y1 + int(4 * scale)):
        dark = sum(1 for x in range(x0 + 1, x1 - 1) if img.getpixel((x, y)) < 128)
        if dark >= 0.9 * (x1 - x0 - 2):
            return True
    return False


def test_compare_pdf_text_fonts_layout_and_underline(client, tmp_path: Path) -> None:
    manual = make_manual(body="## 1 期限\n\n期限 14 日とする\n\n## 2 その他\n\n変わらない 文\n")
    approve_all(revise(manual, "hq.tanto", "期限 14 日とする", "期限 30 日とする"))
    db.session.commit()
    login(client, "hq.tanto")
    resp = client.get("/manuals/test-manual/compare.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = pdf_tool("pdftotext", resp.data, tmp_path, "-layout")
    for expected in ("（傍線部分は改正部分）", "改正後", "改正前", "期限 30 日とする", "期限 14 日とする",
                     "（略）"):
        assert expected in text, expected
    assert "新旧対照表" in squash(text)  # letter-spaced title
    assert_fonts_embedded(resp.data, tmp_path)
    info = pdf_tool("pdfinfo", resp.data, tmp_path)
    assert re.search(r"Page size:\s+841\.\d+ x 595\.\d+ pts \(A4\)", info), info  # landscape
    # The 傍線 is drawn: a line under "30" and "14", none under "期限".
    bbox = pdf_tool("pdftotext", resp.data, tmp_path, "-bbox")
    words = {m.group(5): tuple(float(m.group(i)) for i in range(1, 5))
             for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]+)</word>',
                                  bbox)}
    subprocess.run(["pdftoppm", "-r", "144", "-png", "-f", "1", "-l", "1", str(tmp_path / "out.pdf"),
                    str(tmp_path / "page")], check=True)
    page = next(tmp_path.glob("page*.png"))
    assert _underline_rows(page, words["30"], 2) and _underline_rows(page, words["14"], 2)
    assert not _underline_rows(page, words["期限"], 2)


def test_draft_compare_for_the_approval_file(client) -> None:
    revision = revise(make_manual(), "hq.tanto", "決定通知書を郵送する", "決定通知書を窓口で交付し、又は郵送する")
    login(client, "hq.kakaricho")
    resp = client.get(f"/revisions/{revision.id}/compare.docx")
    assert resp.status_code == 200
    d = read_docx(resp.data)
    assert f"テスト事務の手引き（改正案 #{revision.id}「起案中」と現行第1版）" in [p.text for p in d.paragraphs]
    underlined = [r.text for row in d.tables[0].rows for c in row.cells for p in c.paragraphs for r in p.runs if r.underline]
    assert underlined == ["窓口で交付し、又は"]
    assert client.get(f"/revisions/{revision.id}/compare.pdf").status_code == 200
    page = client.get(f"/revisions/{revision.id}/compare").get_data(as_text=True)
    assert f"/revisions/{revision.id}/compare.docx" in page and f"/revisions/{revision.id}/compare.pdf" in page
    post(client, "/logout")
    login(client, "aoba.tanto")  # a ward sees a draft only under 意見照会
    assert client.get(f"/revisions/{revision.id}/compare.docx").status_code == 404


def test_handover_as_docx_and_pdf(client, tmp_path: Path) -> None:
    manual = make_manual()
    manual.manager = user("hq.tanto")
    db.session.commit()
    handover = handovers.start(db.session, user("hq.tanto"), user("hq.tanto"))
    handover.duties = "国民健康保険の資格管理"
    handover.concerns = "令和7年度の様式改正"
    db.session.commit()
    login(client, "hq.tanto")
    page = client.get(f"/handovers/{handover.id}").get_data(as_text=True)
    assert f"/handovers/{handover.id}.docx" in page and f"/handovers/{handover.id}.pdf" in page
    d = read_docx(client.get(f"/handovers/{handover.id}.docx").data)
    text = all_text(d)
    for expected in ("事 務 引 継 書", "健康福祉局 保険年金課", "佐藤 健一", "1 担当事務", "国民健康保険の資格管理",
                     "2 マニュアル管理状況", "テスト事務の手引き", "懸案事項", "令和7年度の様式改正", "所属長確認"):
        assert expected in text, expected
    resp = client.get(f"/handovers/{handover.id}.pdf")
    assert resp.status_code == 200
    pdf_text = pdf_tool("pdftotext", resp.data, tmp_path)
    for expected in ("事務引継書", "国民健康保険の資格管理", "テスト事務の手引き", "所属長確認"):
        assert expected in squash(pdf_text), expected
    assert "印刷する" not in pdf_text  # the screen-only links are not printed
    names = assert_fonts_embedded(resp.data, tmp_path)
    assert any("Mincho" in n for n in names)  # the handover sheet's own font (handover-print.css)
    post(client, "/logout")
    login(client, "aoba.tanto")
    assert client.get(f"/handovers/{handover.id}.pdf").status_code == 404


def test_download_links_and_crafted_parameters(client) -> None:
    published()
    assert client.get("/manuals/test-manual/v/2.pdf").status_code == 302  # sign in first
    login(client, "aoba.tanto")
    page = client.get("/manuals/test-manual").get_data(as_text=True)
    assert "/manuals/test-manual/v/2.docx" in page and "/manuals/test-manual/v/2.pdf" in page
    old_page = client.get("/manuals/test-manual/v/1").get_data(as_text=True)
    assert "/manuals/test-manual/v/1.pdf" in old_page
    compare = client.get("/manuals/test-manual/compare?new=2&old=1").get_data(as_text=True)
    assert "/manuals/test-manual/compare.docx?new=2&amp;old=1" in compare
    assert "/manuals/test-manual/compare.pdf?new=2&amp;old=1" in compare
    for url, status in [("/manuals/nope/v/1.pdf", 404), ("/manuals/test-manual/v/9.docx", 404),
                        ("/manuals/test-manual/v/1.exe", 404), ("/manuals/test-manual/v/-1.pdf", 404),
                        ("/manuals/test-manual/compare.docx?new=9", 404), ("/manuals/test-manual/compare.pdf?new=x", 200),
                        ("/manuals/test-manual/compare.docx?new=1&old=2", 200), ("/handovers/999.docx", 404),
                        ("/revisions/999/compare.pdf", 404), ("/manuals/%2e%2e/v/1.pdf", 404)]:
        assert client.get(url).status_code == status, url


class _Probe(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        _Probe.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
        pass


def test_pdf_fetches_nothing_from_outside(client, tmp_path: Path) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Probe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_port
        body = (f"## 1 画像\n\n![外部](http://127.0.0.1:{port}/probe.png)\n\n![相対](files/x.png)\n\n"
                f"[リンク](http://127.0.0.1:{port}/link)\n")
        make_manual(body=body)
        login(client, "aoba.tanto")
        resp = client.get("/manuals/test-manual/v/1.pdf")
        assert resp.status_code == 200 and resp.data.startswith(b"%PDF-")
        assert _Probe.hits == []
        text = pdf_tool("pdftotext", resp.data, tmp_path)
        assert "［図: 相対（files/x.png）］" in text  # shown as a note, not fetched
        assert "［図: 相対（files/x.png）］" in all_text(read_docx(client.get("/manuals/test-manual/v/1.docx").data))
    finally:
        server.shutdown()
        thread.join(timeout=5)
    fetcher = LocalOnlyFetcher()
    for url in ("file:///etc/passwd", f"{ORIGIN}/static/../../../etc/passwd", f"{ORIGIN}/static/%2e%2e/%2e%2e/app/config.py",
                f"{ORIGIN}/static/tebiki.js", "http://example.com/x.css"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert fetcher.fetch(f"{ORIGIN}/static/documents-pdf.css").read().startswith(b"/* PDF exports")


def test_pdf_cache_keeps_the_most_recently_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from app.documents import pdf

    monkeypatch.setattr(pdf, "CACHE_FILES", 2)
    for i, name in enumerate(("old", "mid", "new")):
        path = tmp_path / "ab" / f"{name}.pdf"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"%PDF-")
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    pdf._prune(tmp_path)
    assert sorted(p.stem for p in tmp_path.glob("*/*.pdf")) == ["mid", "new"]
