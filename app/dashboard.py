"""Home: a dashboard per role (its boxes come from the domains, see app/panels.py), and the health check."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Blueprint, Flask, current_app, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from app.extensions import db
from app.gitstore import check_repo
from app.panels import panels_for

bp = Blueprint("main", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    return redirect(url_for("auth.login"))


@bp.get("/dashboard")
@login_required
def dashboard():  # type: ignore[no-untyped-def]
    return render_template("main/dashboard.html", panels=panels_for(current_user))


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """200 when the database, the manuals repository and the search index directory are usable."""
    problems: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not usable"
        db.session.rollback()
        problems["database"] = f"データベースに接続できません: {type(exc).__name__}"
    repo_problem = check_repo(current_app.config["MANUALS_REPO"])
    if repo_problem:
        problems["manuals_repo"] = repo_problem
    index_dir = Path(current_app.config["SEARCH_INDEX_DIR"])
    if not index_dir.is_dir():
        problems["search_index"] = f"検索インデックスのディレクトリがありません: {index_dir}"
    elif not os.access(index_dir, os.W_OK):
        problems["search_index"] = f"検索インデックスのディレクトリに書き込めません: {index_dir}"
    parts = {name: ("ng" if name in problems else "ok") for name in ("database", "manuals_repo", "search_index")}
    body = {"status": "ng" if problems else "ok", "checks": parts, "problems": problems}
    return body, (503 if problems else 200)
