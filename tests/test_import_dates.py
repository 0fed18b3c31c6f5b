"""Issue 12: command-line imports list every bad date by file and field (or row and column), no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from app.extensions import db
from app.manuals.models import Manual

MANUAL = "---\ntitle: {title}\nowner: 健康福祉局 保険年金課\ntargets: [保険年金課]\n{dates}\n---\n# {title}\n\n本文。\n"


def test_manuals_import_lists_every_bad_date(app: Flask, tmp_path: Path) -> None:
    (tmp_path / "a-one.md").write_text(MANUAL.format(title="甲", dates="effective: 0000-00-00"), encoding="utf-8")
    (tmp_path / "b-two.md").write_text(MANUAL.format(title="乙", dates="effective: 2027-02-30\nobsolete: 2027-13-01"),
                                       encoding="utf-8")
    (tmp_path / "c-three.md").write_text(MANUAL.format(title="丙", dates="effective: 令和9年4月"), encoding="utf-8")
    (tmp_path / "d-four.md").write_text(MANUAL.format(title="丁", dates="effective: 2027-04-01"), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["manuals", "import", str(tmp_path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    for line in ("a-one.md: effective（施行日）「0000-00-00」は存在しない日付です。",
                 "b-two.md: effective（施行日）「2027-02-30」は存在しない日付です。",
                 "b-two.md: obsolete（廃止日）「2027-13-01」は存在しない日付です。",
                 "c-three.md: effective（施行日）「令和9年4月」は YYYY-MM-DD の形式で書いてください。"):
        assert line in result.output, result.output
    assert "d-four.md" not in result.output
    assert db.session.query(Manual).count() == 0  # all or nothing


def test_valid_dates_still_import_as_dates(app: Flask, tmp_path: Path) -> None:
    (tmp_path / "d-four.md").write_text(MANUAL.format(title="丁", dates="effective: 2027-04-01"), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["manuals", "import", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert str(db.session.query(Manual).one().effective_date) == "2027-04-01"


@pytest.mark.usefixtures("demo_users")
def test_rulings_import_lists_every_bad_date_by_row(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("番号,件名,照会内容,回答,根拠,照会元,照会日,回答日,関連マニュアル,タグ\n"
                    "R2025-001,件名,内容,回答,,青葉区,0000-00-00,2025-01-10,,\n"
                    "R2025-002,件名,内容,回答,,青葉区,2025-01-01,2025-02-30,,\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["rulings", "import", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "2行目: 照会日「0000-00-00」" in result.output and "3行目: 回答日「2025-02-30」" in result.output
