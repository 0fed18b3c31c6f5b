"""Production settings and upkeep (issue 14): an explicit SECRET_KEY, migrations as their own step and
safe when hosts run them together, one run of a timer job across hosts, git packing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from app import doctor, jobs
from app.errors import Conflict
from app.extensions import db
from app.gitstore import store
from app.wareki import now_utc
from tests.conftest import login
from tests.helpers import FLASK, approve_all, make_manual, revise
from tests.realproc import app_env, together

pytestmark = pytest.mark.usefixtures("demo_users")
PG_ADMIN = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def test_the_server_refuses_to_start_without_a_shared_secret_key(app: Flask) -> None:
    env = {k: v for k, v in app_env(app).items() if k not in ("SECRET_KEY", "TEBIKI_SINGLE_HOST")}
    res = subprocess.run([sys.executable, "-c", "import app.wsgi"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 4 and "SECRET_KEY が設定されていません" in res.stderr
    res = subprocess.run([sys.executable, "-c", "import app.wsgi"], env={**env, "TEBIKI_SINGLE_HOST": "1"},
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    res = subprocess.run([sys.executable, "-c", "import app.wsgi"], env={**env, "SECRET_KEY": "shared"},
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr


def test_hosts_migrating_together_on_postgresql_leave_one_schema(tmp_path: Path) -> None:
    """Two `flask db upgrade` on a new PostgreSQL database at the same instant: the advisory lock makes
    one wait; both succeed and the schema is there once."""
    name = f"tebiki_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        env = {**os.environ, "DATABASE_URL": url, "TEBIKI_INSTANCE": str(tmp_path / "i"), "SECRET_KEY": "x",
               "MANUALS_REPO": str(tmp_path / "repo")}

        def upgrade() -> subprocess.CompletedProcess[str]:
            return subprocess.run([FLASK, "--app", "app", "db", "upgrade"], env=env, capture_output=True, text=True,
                                  timeout=300)

        results = together(upgrade, upgrade)
        assert [r.returncode for r in results] == [0, 0], [r.stderr[-2000:] for r in results]
        engine = create_engine(url)
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        engine.dispose()
        assert len(versions) == 1
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_timer_job_runs_once_across_hosts(app: Flask) -> None:
    # Another host (its own app context, session and connection) finds the job taken.
    with jobs.single_run(db.session, "directory.sync"), app.app_context(), pytest.raises(Conflict, match="実行中"), \
            jobs.single_run(db.session, "directory.sync"):
        pass
    db.session.commit()
    with jobs.single_run(db.session, "directory.sync"):  # given back: runs again
        pass
    db.session.commit()
    # A lease left by a host that died is taken over once it has run out.
    db.session.execute(db.update(jobs.JobLease).values(holder="dead:1", until=now_utc() - timedelta(seconds=1)))
    db.session.commit()
    with jobs.single_run(db.session, "directory.sync"):
        pass
    db.session.commit()
    # A job that fails gives the lease back at once.
    with pytest.raises(RuntimeError), jobs.single_run(db.session, "directory.sync"):
        raise RuntimeError("boom")
    assert db.session.get(jobs.JobLease, "directory.sync").until is None


def test_maintenance_packs_the_repository_and_doctor_watches_it(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    manual = make_manual()
    for i in range(3):
        approve_all(revise(manual, "hq.tanto", f"{14 + i}日以内", f"{15 + i}日以内"))
    loose = store().object_counts()["count"]
    assert loose > 10
    monkeypatch.setattr(doctor, "LOOSE_OBJECTS_LIMIT", 10)
    found = [f.kind for f in doctor.check(db.session)]
    assert "repository_unpacked" in found
    res = subprocess.run([FLASK, "--app", "app", "maintenance"], env=app_env(app), capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0 and "整理しました" in res.stdout, res.stderr
    assert store().object_counts()["count"] < 10
    assert "repository_unpacked" not in [f.kind for f in doctor.check(db.session)]
    assert subprocess.run(["git", "--git-dir", app.config["MANUALS_REPO"], "fsck", "--no-progress"],
                          capture_output=True).returncode == 0


def test_maintenance_makes_the_page_files_an_upgrade_has_not_made(app: Flask, client) -> None:
    """A new renderer names new page files: the daily maintenance makes those of every manual's
    newest version, so the first reader after an upgrade does not wait for Markdown."""
    manual = make_manual()
    approve_all(revise(manual, "hq.tanto", "14日以内", "21日以内"))
    db.session.commit()
    rendered = Path(app.config["INSTANCE_DIR"]) / "rendered"
    shutil.rmtree(rendered, ignore_errors=True)  # as if made by another renderer
    res = subprocess.run([FLASK, "--app", "app", "maintenance"], env=app_env(app), capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0 and "新しく作成 1件" in res.stdout, res.stdout + res.stderr
    assert len(list(rendered.rglob("page-*.json"))) == 1
    res = subprocess.run([FLASK, "--app", "app", "maintenance"], env=app_env(app), capture_output=True, text=True,
                         timeout=120)
    assert "新しく作成 0件" in res.stdout, res.stdout + res.stderr
    login(client, "aoba.tanto")
    page = client.get(f"/manuals/{manual.slug}")
    assert page.status_code == 200 and "21日以内" in page.get_data(as_text=True)
