"""Settings from environment variables (see DESIGN.md, "Settings")."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent  # templates, static files and migrations ship inside it
# Where instance/ and manuals_repo/ default to: the checkout when run from one, else the working
# directory (an installed package must not write into site-packages).
BASE_DIR = PACKAGE_DIR.parent if (PACKAGE_DIR.parent / "pyproject.toml").exists() else Path.cwd()
INSTANCE_DIR = Path(os.environ.get("TEBIKI_INSTANCE", BASE_DIR / "instance"))


def _secret_key(instance_dir: Path) -> str:
    """SECRET_KEY from the environment, else one generated once into instance/secret_key."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance_dir / "secret_key"
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two workers starting together must not write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
    return path.read_text().strip()


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config dict. `overrides` (tests) win over the environment."""
    overrides = dict(overrides or {})
    instance_dir = Path(overrides.pop("INSTANCE_DIR", INSTANCE_DIR))
    mail_port = os.environ.get("MAIL_PORT")
    # One setting behind TLS (本番運用): Secure cookies and HSTS. SESSION_COOKIE_SECURE is the older name.
    https = _bool("HTTPS", False) or _bool("SESSION_COOKIE_SECURE", False)
    config: dict[str, Any] = {
        "INSTANCE_DIR": str(instance_dir),
        "DB_COMMANDS": True,  # `flask db …` (Alembic); the web server's app (app/wsgi.py) goes without
        "SQLALCHEMY_DATABASE_URI": os.environ.get(
            "DATABASE_URL", f"sqlite:///{instance_dir / 'tebiki.db'}"
        ),
        "MANUALS_REPO": os.environ.get("MANUALS_REPO", str(BASE_DIR / "manuals_repo")),
        "SEARCH_INDEX_DIR": os.environ.get("SEARCH_INDEX_DIR", str(instance_dir / "search_index")),
        "SEARCH_BACKEND": os.environ.get("SEARCH_BACKEND", ""),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(mail_port) if mail_port else 25,
        "MAIL_FROM": os.environ.get("MAIL_FROM", "tebiki@city.example.lg.jp"),
        "BASE_URL": os.environ.get("BASE_URL", "http://127.0.0.1:5000"),
        # Cookies: never readable from JS; Lax blocks cross-site POSTs; Secure behind TLS.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "HTTPS": https,
        "SESSION_COOKIE_SECURE": https,
        "SESSION_COOKIE_NAME": "tebiki_session",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": https,
        "PERMANENT_SESSION_LIFETIME": int(os.environ.get("SESSION_HOURS", "10")) * 3600,
        # The sign-in ends at a fixed time kept server-side (login_sessions): no cookie re-signed per request.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead: a long form must still submit
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_MB", "10")) * 1024 * 1024,
        "LOGIN_MAX_FAILURES": int(os.environ.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_LOCK_MINUTES": int(os.environ.get("LOGIN_LOCK_MINUTES", "15")),
        "LOGIN_ACCOUNT_FAILURES": int(os.environ.get("LOGIN_ACCOUNT_FAILURES", "20")),
        "LOGIN_ADDRESS_FAILURES": int(os.environ.get("LOGIN_ADDRESS_FAILURES", "100")),
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        "PASSWORD_HASH_METHOD": os.environ.get("PASSWORD_HASH_METHOD", "scrypt"),
        "PAGE_SIZE": 25,
        "USAGE_FLUSH_SECONDS": int(os.environ.get("USAGE_FLUSH_SECONDS", "60")),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    }
    config["SECRET_KEY"] = overrides.pop("SECRET_KEY", None) or _secret_key(instance_dir)
    config.update(overrides)
    config["SEARCH_BACKEND"] = search_backend(config["SEARCH_BACKEND"], str(config["SQLALCHEMY_DATABASE_URI"]))
    return config


def search_backend(name: str | None, database_url: str) -> str:
    """"fts" (SQLite FTS5 file, the single-host default), "whoosh", or "postgres" (the index in the
    database, the default on PostgreSQL: every host sees one index)."""
    name = (name or "").strip().lower()
    if not name:
        return "postgres" if database_url.startswith("postgresql") else "fts"
    return {"fts5": "fts", "pg": "postgres", "postgresql": "postgres"}.get(name, name)
