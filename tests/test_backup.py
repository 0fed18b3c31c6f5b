"""Backup → restore round trip into an empty instance (SQLite, and PostgreSQL when the suite runs on it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.extensions import db
from app.seed import seed_demo
from tests.conftest import TEST_DATABASE_URL

FLASK = str(Path(sys.executable).parent / "flask")


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLASK, "--app", "app", *args], env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture
def empty_target(tmp_path: Path):
    """A second, empty instance: its own database, repository and index."""
    if TEST_DATABASE_URL:
        url = make_url(TEST_DATABASE_URL)
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS tebiki_restore_test"))
            conn.execute(text("CREATE DATABASE tebiki_restore_test"))
        target = url.set(database="tebiki_restore_test").render_as_string(hide_password=False)
    else:
        target = f"sqlite:///{tmp_path / 'restored.db'}"
    yield {
        "DATABASE_URL": target, "TEBIKI_INSTANCE": str(tmp_path / "restored"),
        "MANUALS_REPO": str(tmp_path / "restored" / "repo"), "SEARCH_INDEX_DIR": str(tmp_path / "restored" / "index"),
    }
    if TEST_DATABASE_URL:
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS tebiki_restore_test WITH (FORCE)"))
        admin.dispose()


def source_env(app: Flask) -> dict[str, str]:
    return {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "TEBIKI_INSTANCE": app.config["INSTANCE_DIR"],
            "MANUALS_REPO": app.config["MANUALS_REPO"], "SEARCH_INDEX_DIR": app.config["SEARCH_INDEX_DIR"],
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}


def test_backup_restore_round_trip(app: Flask, tmp_path: Path, empty_target: dict[str, str]) -> None:
    seed_demo(db.session)
    db.session.commit()
    src = source_env(app)
    assert run(src, "doctor").returncode == 0
    out = tmp_path / "backup"
    res = run(src, "backup", str(out))
    assert res.returncode == 0, res.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["manuals"] == 16 and manifest["counts"]["inquiries"] >= 50
    assert (out / "manuals.bundle").exists()
    assert run(src, "backup", str(out)).returncode == 1  # never overwrites

    assert run(empty_target, "db", "upgrade").returncode == 0
    res = run(empty_target, "restore", str(out))
    assert res.returncode == 0, res.stderr + res.stdout
    assert "検索インデックスを再構築しました" in res.stdout
    res = run(empty_target, "doctor")
    assert res.returncode == 0 and "問題 0件" in res.stdout, res.stdout

    # Same content: rows, git history, pages.
    restored = create_engine(empty_target["DATABASE_URL"])
    with restored.connect() as conn, db.engine.connect() as orig:
        for table in ("users", "manuals", "manual_versions", "revisions", "workflow_events", "inquiries", "notices",
                      "audit_log", "handovers"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == \
                orig.execute(text(f"SELECT count(*) FROM {table}")).scalar(), table
        assert conn.execute(text("SELECT title FROM manuals ORDER BY id")).all() == \
            orig.execute(text("SELECT title FROM manuals ORDER BY id")).all()
    restored.dispose()
    log = ["git", "--git-dir"]
    assert subprocess.run([*log, empty_target["MANUALS_REPO"], "log", "--format=%H", "main"], capture_output=True,
                          text=True).stdout == subprocess.run([*log, app.config["MANUALS_REPO"], "log", "--format=%H",
                                                               "main"], capture_output=True, text=True).stdout
    res = run(empty_target, "search", "委任状", "--json")
    assert res.returncode == 0 and json.loads(res.stdout)
    # Restoring twice is refused: the target is no longer empty.
    res = run(empty_target, "restore", str(out))
    assert res.returncode == 1 and "空ではありません" in res.stderr


def test_restore_refuses_a_damaged_backup(app: Flask, tmp_path: Path, empty_target: dict[str, str]) -> None:
    seed_demo(db.session)
    db.session.commit()
    out = tmp_path / "backup"
    assert run(source_env(app), "backup", str(out)).returncode == 0
    target = out / "db" / "manuals.jsonl"
    target.write_text(target.read_text().replace("手引", "手びき", 1))
    assert run(empty_target, "db", "upgrade").returncode == 0
    res = run(empty_target, "restore", str(out))
    assert res.returncode == 1 and "壊れている" in res.stderr and "db/manuals.jsonl" in res.stderr
