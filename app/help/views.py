"""ヘルプ: the current user's role first, every role reachable (a 係長 covering for a 課長 reads theirs)."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, render_template, url_for
from flask_login import current_user

from app.help.content import BY_KEY, ROLES, role_of
from app.webutil import login_required_for

bp = Blueprint("help", __name__, url_prefix="/help")
login_required_for(bp)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _page(key: str | None):  # type: ignore[no-untyped-def]
    mine = role_of(current_user)
    role = BY_KEY.get(key) if key else mine
    if role is None:
        abort(404)
    # A link only to a page this user can open (a ward's clerk reads the 課長's help without its links).
    links = {t.endpoint: url_for(t.endpoint) for t in role.tasks if t.endpoint and role is mine}
    return render_template("help/index.html", role=role, mine=mine, roles=ROLES, links=links)


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    return _page(None)


@bp.get("/<key>")
def role(key: str):  # type: ignore[no-untyped-def]
    return _page(key)
