"""Fixtures: a real database (SQLite file, or PostgreSQL when TEST_DATABASE_URL is set),
migrated once per run with the real Alembic migrations and emptied after every test."""

from __future__ import annotations

import contextvars
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from app import create_app
from app.extensions import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {'PostgreSQL ' + TEST_DATABASE_URL if TEST_DATABASE_URL else 'SQLite (file)'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if not TEST_DATABASE_URL:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'tebiki-test.db'}"
    engine = create_engine(TEST_DATABASE_URL)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:  # pragma: no cover - the message is the point
        pytest.exit(f"TEST_DATABASE_URL={TEST_DATABASE_URL} に接続できません: {exc}", returncode=3)
    finally:
        engine.dispose()
    return TEST_DATABASE_URL


def make_config(database_url: str, root: Path, **extra: object) -> dict[str, object]:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_DIR": str(root / "instance"),
        "MANUALS_REPO": str(root / "manuals_repo"),
        "SEARCH_INDEX_DIR": str(root / "instance" / "search_index"),
        "SECRET_KEY": "test-secret-key",
        # Fast hashes in tests; production uses scrypt.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "USAGE_FLUSH_SECONDS": 0,  # page views are counted at once (production gathers them a minute)
        **extra,
    }


@pytest.fixture(scope="session")
def migrated(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Run the real migrations once per test run."""
    from flask_migrate import upgrade

    app = create_app(make_config(database_url, tmp_path_factory.mktemp("migrate")))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_url


def _empty_all_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        # the search index in the database (migration 0016)
        from app.search.pg_backend import ALL_TABLES as SEARCH_TABLES

        names = ", ".join([f'"{t.name}"' for t in tables] + list(SEARCH_TABLES))
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


class IsolatedClient(FlaskClient):
    """Each request gets its own app context (its own `g` and DB session), as in production,
    even though the test itself holds an app context open."""

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        def run():  # type: ignore[no-untyped-def]
            _cv_app.set(None)  # type: ignore[arg-type]
            return FlaskClient.open(self, *args, **kwargs)

        # The request sees what the test set up, and the test's next read sees what the request wrote
        # (a test holding an old SQLite snapshot could not write after it).
        db.session.commit()
        response = contextvars.copy_context().run(run)
        db.session.expire_all()
        return response


@pytest.fixture
def app(migrated: str, tmp_path: Path) -> Iterator[Flask]:
    from app.commandline import init_storage
    from app.org.services import seed_org

    app = create_app(make_config(migrated, tmp_path))
    app.test_client_class = IsolatedClient
    with app.app_context():
        init_storage()
        seed_org(db.session)
        db.session.commit()
        yield app
        db.session.rollback()
        _empty_all_tables()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def demo_users(app: Flask) -> None:
    from app.seed import seed_demo_users

    seed_demo_users(db.session)
    db.session.commit()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(client: FlaskClient, url: str = "/login") -> str:
    html = client.get(url).get_data(as_text=True)
    m = CSRF_RE.search(html)
    assert m, f"no CSRF token on {url}"
    return m.group(1) or m.group(2)


def login(client: FlaskClient, login_id: str, password: str = "tebiki-demo"):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"login": login_id, "password": password, "csrf_token": token})


def post(client: FlaskClient, url: str, data: dict | None = None, **kw):
    """POST as a logged-in browser would: with the session's CSRF token."""
    token = csrf_token(client, "/dashboard")
    return client.post(url, data={**(data or {}), "csrf_token": token}, **kw)


# --- a real directory (OpenLDAP slapd) for the directory tests ---------------------------------------

DIRECTORY_SPECIAL = [
    # uid, name, department, title, employee_no
    ("sato.dir", "佐藤 直樹", "健康福祉局 保険年金課", "係長", "600001"),
    ("unmapped.one", "村上 春香", "青葉区 区民生活課", "主事", "600002"),
    ("alias.one", "森 健", "健康福祉局保険年金課（本庁）", "主事", "600003"),
]


@pytest.fixture(scope="session")
def slapd_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Debian's slapd on free loopback ports (LDAPS + StartTLS with a test CA), a few hundred people."""
    from tests.slapd import Person, city_people, start_slapd

    people = list(city_people(300)) + [Person(uid=u, name=n, department=d, title=t, employee_no=e)
                                       for u, n, d, t, e in DIRECTORY_SPECIAL]
    server = start_slapd(tmp_path_factory.mktemp("slapd"), people)
    yield server
    server.stop()


@pytest.fixture
def directory(app: Flask, slapd_server):  # type: ignore[no-untyped-def]
    """The app signing in against the directory (LDAPS), with `admin` as the local break-glass account."""
    from app.org.services import create_user, find_unit

    create_user(db.session, None, login="admin", name="渡辺 直子", unit=find_unit(db.session, "総務局 コンプライアンス推進担当"),
                position="課長", password="tebiki-demo", is_admin=True, local_login=True)
    db.session.commit()
    app.config.update(slapd_server.settings())
    return slapd_server


@pytest.fixture
def two_servers(app: Flask, tmp_path: Path) -> Iterator[list[str]]:
    """Two real app processes (gunicorn) on the test's database and repository, for barrier pair
    tests; their logs must hold no traceback."""
    from tests.realproc import servers

    with servers(app, 2, log_dir=tmp_path / "logs") as running:
        yield [s.url for s in running]
    for log in (tmp_path / "logs").glob("*.log"):
        text = log.read_text()
        assert "Traceback" not in text, text[-4000:]
