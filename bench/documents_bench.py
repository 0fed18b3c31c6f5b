"""Issue 15 benchmark: a 50-page Word manual in, its 新旧対照表 and version out.

Measures (server time through the whole Flask stack for the downloads):
- checking the upload and converting a 50-page .docx (headings, lists, tables, screenshots) to Markdown;
- the 新旧対照表 of that manual after a revision that changes every 4th sentence, as PDF and .docx;
- the manual version itself as PDF and .docx;
- refusing a 256 MiB zip bomb.

    .venv/bin/python bench/documents_bench.py [--pages 50] [--samples 5]
"""

from __future__ import annotations

import argparse
import io
import random
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ACTIONS, DOCUMENTS, SUBJECTS, make_app, sentence, summary, timed  # noqa: E402


def screenshot(rng: random.Random) -> bytes:
    """A system-screen-like PNG (flat areas, text-like noise): about 40 KB."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (900, 560), (240, 242, 245))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, 900, 40), fill=(31, 95, 139))
    for row in range(12):
        y = 60 + row * 38
        draw.rectangle((20, y, 880, y + 30), outline=(170, 180, 190), fill=(255, 255, 255))
        for _ in range(rng.randint(8, 20)):
            x = rng.randint(30, 850)
            draw.rectangle((x, y + 8, x + rng.randint(4, 30), y + 20), fill=(60, 60, 60))
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


def word_manual(pages: int, rng: random.Random) -> bytes:
    """About one A4 page per chapter: a heading, sections with text, a numbered list, a table; a
    screenshot every fifth page."""
    import docx

    from tests.docx_samples import list_item, numbering

    d = docx.Document()
    d.add_heading("国民健康保険 事務処理の手引き", 1)
    for page in range(1, pages + 1):
        d.add_heading(f"第{page}章 {rng.choice(SUBJECTS)}の{rng.choice(ACTIONS)}", 2)
        for sec in range(1, 3):
            d.add_heading(f"{sec} {rng.choice(ACTIONS)}の手順", 3)
            p = d.add_paragraph("".join(sentence(rng) for _ in range(2)))
            p.add_run("「" + rng.choice(DOCUMENTS) + "」").bold = True
            p.add_run("を必ず確認する。")
            steps = numbering(d)
            for _ in range(3):
                list_item(d, sentence(rng), steps)
            list_item(d, sentence(rng), steps, level=1)
        table = d.add_table(rows=5, cols=3)
        for r in range(5):
            cells = ("書類", "確認事項", "備考") if r == 0 else (rng.choice(DOCUMENTS), f"{rng.choice(ACTIONS)}の確認",
                                                                rng.choice(["原本", "写し可", "省略可"]))
            for c, text in enumerate(cells):
                table.cell(r, c).text = text
        if page % 5 == 0:
            d.add_picture(io.BytesIO(screenshot(rng)), width=docx.shared.Mm(150))
        d.add_page_break()
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def pdf_pages(data: bytes) -> int:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        info = subprocess.run(["pdfinfo", f.name], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def word_pages(data: bytes) -> str:
    """Pages as LibreOffice lays the .docx out, when it is installed (a check of "50 pages")."""
    if not shutil.which("soffice"):
        return "（LibreOffice がないため未計測）"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "manual.docx"
        src.write_bytes(data)
        subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", tmp, str(src)],
                       capture_output=True, timeout=300, check=False)
        out = Path(tmp) / "manual.pdf"
        return f"{pdf_pages(out.read_bytes())} ページ（LibreOffice）" if out.exists() else "（変換できず）"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=50)
    ap.add_argument("--samples", type=int, default=5)
    args = ap.parse_args()
    rng = random.Random(15)
    data = word_manual(args.pages, rng)
    print(f"Word 文書: {args.pages}章（1章≒A4 1ページ）、{len(data) / 1024:.0f} KB、{word_pages(data)}")

    app, root = make_app("documents")
    from app.documents import files
    from app.documents.word_in import docx_to_markdown
    from app.extensions import db
    from app.manuals.importer import import_documents
    from tests.helpers import approve_all, user

    print(summary("upload check (.docx)", timed(lambda: files.check_upload("手引き.docx", data), args.samples * 4)))
    result = docx_to_markdown(data)
    print(summary(f"docx → Markdown ({args.pages} pages)", timed(lambda: docx_to_markdown(data), args.samples)))
    print(f"  → Markdown {len(result.markdown):,} 文字、画像 {len(result.files)} 点、注意 {len(result.warnings)} 件")

    with app.app_context():
        meta = ("---\ntitle: 国民健康保険 事務処理の手引き\nowner: 健康福祉局 保険年金課\ntargets: [保険年金課]\n"
                "effective: 2025-04-01\n---\n")
        (manual,) = import_documents(db.session, [("kokuho-jimu.md", meta + result.markdown)], as_user=user("hq.kacho"))
        lines = result.markdown.split("\n")
        changed = 0
        new_lines = []
        for i, line in enumerate(lines):
            if i % 4 == 0 and len(line) > 30 and not line.startswith(("#", "|", "!")):
                line = line.replace("原則として", "原則として速やかに").replace("日以内", "営業日以内", 1)
                line = line[:20] + "（改正）" + line[20:]
                changed += 1
            new_lines.append(line)
        from app.manuals.document import parse
        from app.revisions import base, drafting

        revision = drafting.open_revision(db.session, user("hq.tanto"), manual)
        doc = parse(base.current_text(revision))
        drafting.save_draft(db.session, user("hq.tanto"), revision, drafting.DraftFields(
            title=doc.title, targets=doc.targets, tags=doc.tags, effective=doc.effective, review_months=12,
            body="\n".join(new_lines), reason="処理期間の表記を改める。"), expected_head=revision.head_commit)
        db.session.commit()
        approve_all(revision)
        db.session.commit()
        print(f"改正: {changed} 行を変更（第1版 → 第2版）")

    client = app.test_client()
    client.post("/login", data={"login": "aoba.tanto", "password": "tebiki-demo"})
    sizes: dict[str, bytes] = {}

    def get(url: str) -> None:
        resp = client.get(url)
        assert resp.status_code == 200, (url, resp.status_code)
        sizes[url] = resp.data

    cache = Path(app.config["INSTANCE_DIR"]) / "pdf_cache"

    def render(url: str) -> None:
        shutil.rmtree(cache, ignore_errors=True)  # a first download: laid out by WeasyPrint
        get(url)

    for label, url, n in [
        ("新旧対照表 PDF (first download)", "/manuals/kokuho-jimu/compare.pdf", args.samples),
        ("新旧対照表 PDF (cached)", "/manuals/kokuho-jimu/compare.pdf", args.samples * 4),
        ("新旧対照表 .docx", "/manuals/kokuho-jimu/compare.docx", args.samples),
        ("manual version PDF (first download)", "/manuals/kokuho-jimu/v/2.pdf", max(2, args.samples // 2)),
        ("manual version PDF (cached)", "/manuals/kokuho-jimu/v/2.pdf", args.samples * 4),
        ("manual version .docx", "/manuals/kokuho-jimu/v/2.docx", args.samples),
    ]:
        fn = render if "first" in label else get
        print(summary(label, timed(lambda url=url, fn=fn: fn(url), n)))
        if "cached" not in label:
            extra = f"、{pdf_pages(sizes[url])} ページ" if url.endswith(".pdf") else ""
            print(f"  → {len(sizes[url]) / 1024:.0f} KB{extra}")

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w") as f:
            for _ in range(256):
                f.write(b"A" * (1024 * 1024))
    bomb_bytes = bomb.getvalue()

    def refuse() -> None:
        try:
            docx_to_markdown(bomb_bytes)
        except Exception:  # noqa: BLE001 - the refusal is what is timed
            return
        raise AssertionError("the zip bomb was accepted")

    print(summary(f"zip bomb refused ({len(bomb_bytes) // 1024} KB → 256 MiB)", timed(refuse, 20)))
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
