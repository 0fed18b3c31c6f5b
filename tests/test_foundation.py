from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flask import Flask

from app.extensions import db
from app.org import structure
from app.org.models import Unit, User


def test_migrations_match_models(app: Flask) -> None:
    """Autogenerate against the migrated database finds nothing: models and migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.search.pg_backend import ALL_TABLES as SEARCH_TABLES

    def models_only(name, type_, _parent_names):  # type: ignore[no-untyped-def]
        # The PostgreSQL search index (migration 0016) is plain SQL, not a model.
        return not (type_ == "table" and name in SEARCH_TABLES)

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_name": models_only}), db.metadata)
    assert diff == []


def test_seed_org_creates_every_unit_once(app: Flask) -> None:
    from app.org.services import seed_org

    expected = len(list(structure.all_units()))
    assert db.session.query(Unit).count() == expected
    assert seed_org(db.session) == 0  # idempotent
    names = {u.name for u in db.session.query(Unit)}
    assert "健康福祉局 保険年金課" in names
    assert "青葉区 保険年金課" in names
    assert "総務局 コンプライアンス推進担当" in names
    assert "秋保総合支所 納税課" not in names  # a 総合支所 lacks some sections
    assert sum(1 for u in db.session.query(Unit) if u.kind == "ward" and u.group_name == "青葉区") == 10


def test_healthz_ok_and_names_failing_part(app: Flask, client) -> None:
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json["status"] == "ok"
    assert resp.json["checks"] == {"database": "ok", "manuals_repo": "ok", "search_index": "ok"}

    app.config["MANUALS_REPO"] = str(Path(app.config["INSTANCE_DIR"]) / "missing-repo")
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.json["checks"]["manuals_repo"] == "ng"
    assert "manuals_repo" in resp.json["problems"]
    assert resp.json["checks"]["database"] == "ok"

    app.config["SEARCH_INDEX_DIR"] = "/nonexistent/index"
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.json["checks"]["search_index"] == "ng"


def test_config_reads_environment(monkeypatch, tmp_path: Path) -> None:
    from app.config import load_config

    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("MANUALS_REPO", "/srv/repo")
    monkeypatch.setenv("SEARCH_INDEX_DIR", "/srv/index")
    monkeypatch.setenv("MAIL_SERVER", "smtp.example")
    monkeypatch.setenv("MAIL_PORT", "2525")
    monkeypatch.setenv("MAIL_FROM", "x@example")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    cfg = load_config({"INSTANCE_DIR": tmp_path})
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert cfg["MANUALS_REPO"] == "/srv/repo"
    assert cfg["SEARCH_INDEX_DIR"] == "/srv/index"
    assert (cfg["MAIL_SERVER"], cfg["MAIL_PORT"], cfg["MAIL_FROM"]) == ("smtp.example", 2525, "x@example")
    # Generated once into instance/secret_key and stable afterwards.
    assert cfg["SECRET_KEY"] == (tmp_path / "secret_key").read_text().strip()
    assert load_config({"INSTANCE_DIR": tmp_path})["SECRET_KEY"] == cfg["SECRET_KEY"]
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"
    monkeypatch.setenv("SECRET_KEY", "from-env")
    assert load_config({"INSTANCE_DIR": tmp_path})["SECRET_KEY"] == "from-env"


def _flask(app: Flask, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real `flask` command against the test database."""
    import os

    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "TEBIKI_INSTANCE": app.config["INSTANCE_DIR"],
        "MANUALS_REPO": app.config["MANUALS_REPO"],
        "SEARCH_INDEX_DIR": app.config["SEARCH_INDEX_DIR"],
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    flask = Path(sys.executable).parent / "flask"
    return subprocess.run([str(flask), "--app", "app", *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_seed_and_users_create(app: Flask) -> None:
    db.session.commit()
    res = _flask(app, "seed", "org")
    assert res.returncode == 0, res.stderr
    assert "所属は登録済みです" in res.stdout

    res = _flask(app, "seed", "demo")
    assert res.returncode == 0, res.stderr
    for login_id in ("hq.tanto", "hq.kakaricho", "hq.kacho", "aoba.tanto", "aoba.kacho", "admin"):
        assert login_id in res.stdout
    res2 = _flask(app, "seed", "demo", "--quiet")
    assert res2.returncode == 0
    assert "users 0件追加" in res2.stdout  # idempotent

    res = _flask(app, "users", "create", "--login", "yamada", "--name", "山田 太郎",
                 "--unit", "健康福祉局 保険年金課", "--position", "課長", "--password", "secret-pass", "--admin")
    assert res.returncode == 0, res.stderr
    db.session.expire_all()
    user = db.session.query(User).filter_by(login="yamada").one()
    assert (user.unit.name, user.position, user.is_admin) == ("健康福祉局 保険年金課", "課長", True)

    res = _flask(app, "users", "create", "--login", "ward1", "--name", "区 職員",
                 "--unit", "青葉区 保険年金課", "--position", "担当", "--password", "secret-pass")
    assert res.returncode == 0, res.stderr

    res = _flask(app, "users", "create", "--login", "nobody", "--name", "誰か",
                 "--unit", "健康福祉局 存在しない課", "--position", "担当", "--password", "secret-pass")
    assert res.returncode == 1
    assert "所属「健康福祉局 存在しない課」は登録されていません" in res.stderr

    res = _flask(app, "users", "create", "--login", "yamada", "--name", "重複",
                 "--unit", "青葉区 保険年金課", "--position", "担当", "--password", "secret-pass")
    assert res.returncode == 1
    assert "既に使われています" in res.stderr
