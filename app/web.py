"""Wiring of the web application: extensions, blueprints, template helpers, error pages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from app.config import BASE_DIR
from app.errors import TebikiError
from app.extensions import csrf, db, login_manager, migrate
from app.org import permissions
from app.wareki import today_jst, wareki, wareki_datetime


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    permission: str | None = None  # None = every logged-in user
    pages: tuple[str, ...] = ()  # other endpoints under this item (the current page is highlighted)

    def is_current(self, endpoint: str | None) -> bool:
        if not endpoint:
            return False
        if self.pages:
            return endpoint == self.endpoint or endpoint in self.pages
        return endpoint.split(".")[0] == self.endpoint.split(".")[0]


# The navigation: an item shows when its page exists and the user may use it. Later
# capabilities register their blueprints and these items appear by themselves.
NAV: list[NavItem] = [
    NavItem("ダッシュボード", "main.dashboard"),
    NavItem("マニュアル", "manuals.index"),
    NavItem("判断事例集", "rulings.index", pages=("rulings.show",)),
    NavItem("起案・決裁", "revisions.index", "manual.create"),
    NavItem("意見照会", "revisions.index", "revision.consulted"),
    NavItem("照会", "rulings.inquiries", "inquiry.inbox", pages=("rulings.detail", "rulings.new")),
    NavItem("通知", "notices.inbox", pages=("notices.show", "notices.sent", "notices.matrix", "notices.usage")),
    NavItem("事務引継書", "handover.index", pages=("handover.show", "handover.print_view")),
    NavItem("点検", "handover.checks", "checks.view", pages=("handover.checks",)),
    NavItem("管理", "admin.index", "admin.access"),
]


def nav_items() -> list[NavItem]:
    from flask import current_app

    if not current_user.is_authenticated:
        return []
    items = []
    for item in NAV:
        if item.endpoint not in current_app.view_functions:
            continue
        if item.permission and not permissions.can(current_user, item.permission):
            continue
        items.append(item)
    return items


def init_app(app: Flask) -> None:
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    # render_as_batch: SQLite cannot ALTER most things; batch mode recreates the table.
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)

    from app import audit  # noqa: F401  (registers the models)
    from app.handover import models as _handover_models  # noqa: F401
    from app.manuals import models as _manual_models  # noqa: F401
    from app.notices import models as _notice_models  # noqa: F401
    from app.notices import services as _notice_services  # noqa: F401  (delivers on publish signals)
    from app.org.models import User
    from app.revisions import models as _revision_models  # noqa: F401
    from app.rulings import models as _ruling_models  # noqa: F401
    from app.rulings import services as _ruling_services  # noqa: F401  (flags rulings on revisions)
    from app.search import models as _search_models  # noqa: F401
    from app.search import services as _search_services  # noqa: F401  (subscribes to publish signals)

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        try:
            user_id, version = (int(x) for x in session_id.split(":"))
        except ValueError:
            return None
        user = db.session.get(User, user_id)
        if user is None or user.session_version != version or not user.active:
            return None
        return user

    from app.dashboard import bp as main_bp
    from app.documents.views import bp as documents_bp
    from app.handover.views import bp as handover_bp
    from app.manuals.views import bp as manuals_bp
    from app.notices.views import bp as notices_bp
    from app.org.views import admin_bp, auth_bp
    from app.revisions.views import bp as revisions_bp
    from app.rulings.views import bp as rulings_bp
    from app.search.views import bp as search_bp

    for blueprint in (main_bp, auth_bp, admin_bp, manuals_bp, revisions_bp, rulings_bp, search_bp, notices_bp,
                      handover_bp, documents_bp):
        app.register_blueprint(blueprint)

    from app.cli import register as register_cli

    register_cli(app)

    app.jinja_env.filters["wareki"] = wareki
    app.jinja_env.filters["wareki_datetime"] = wareki_datetime
    app.jinja_env.globals.update(can=lambda action, obj=None: permissions.can(current_user, action, obj),
                                 nav_items=nav_items, page_url=page_url, unread_notices=unread_notices)

    _register_error_pages(app)

    @app.context_processor
    def today() -> dict[str, object]:
        return {"today": today_jst()}

    @app.after_request
    def security_headers(resp: Response) -> Response:
        # Everything is served from this host (closed network): nothing else may load.
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        )
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if current_user.is_authenticated and "Cache-Control" not in resp.headers:
            resp.headers["Cache-Control"] = "no-store"  # shared counter PCs: no pages in the cache
        return resp


def flash_error(err: TebikiError) -> None:
    """A service's refusal as flash messages: the message, then every detail (row, field …)."""
    flash(err.message, "error")
    for detail in err.details:
        flash(detail, "error")


def login_required_for(blueprint: Any) -> None:
    """Every page of the blueprint needs a logged-in user."""
    from flask_login import login_required

    @blueprint.before_request
    @login_required
    def _require_login() -> None:
        return None


def unread_notices() -> int:
    """The badge on 通知 in the navigation."""
    from app.notices.services import unread_count

    if not current_user.is_authenticated:
        return 0
    return unread_count(db.session, current_user)


def page_url(**changes: Any) -> str:
    """The current URL with some query arguments replaced (pagination, sorting, filters)."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint or "main.dashboard", **(request.view_args or {}), **args)


STATUS_TITLES = {
    400: "入力内容に誤りがあります",
    403: "権限がありません",
    404: "ページが見つかりません",
    405: "この操作はできません",
    409: "他の操作と競合しました",
    413: "ファイルが大きすぎます",
    500: "システムエラーが発生しました",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def error_response(status: int, message: str, details: list[str] | None = None) -> tuple[Any, int]:
    if _wants_json():
        return {"error": message, "details": details or []}, status
    title = STATUS_TITLES.get(status, "エラー")
    return render_template("error.html", status=status, title=title, message=message, details=details or []), status


def _register_error_pages(app: Flask) -> None:
    @app.errorhandler(TebikiError)
    def tebiki_error(err: TebikiError):  # type: ignore[no-untyped-def]
        return error_response(err.status, err.message, err.details)

    @app.errorhandler(CSRFError)
    def csrf_error(err: CSRFError):  # type: ignore[no-untyped-def]
        if request.endpoint == "auth.login":
            flash("画面の有効期限が切れました。もう一度ログインしてください。", "error")
            return redirect(url_for("auth.login"))
        return error_response(
            400,
            "フォームの有効期限が切れたか、不正な送信です（CSRFトークンがありません）。"
            "画面を再読み込みしてから、もう一度操作してください。",
        )

    @app.errorhandler(413)
    def too_large(_err: HTTPException):  # type: ignore[no-untyped-def]
        limit = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        return error_response(413, f"送信されたデータが大きすぎます（上限 {limit}MB）。ファイルを分けて送信してください。")

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):  # type: ignore[no-untyped-def]
        status = err.code or 500
        messages = {
            404: "指定されたページは見つかりません。URLをご確認ください。",
            405: "この画面ではその操作はできません。",
            403: "この操作を行う権限がありません。",
            400: "リクエストの内容が正しくありません。",
        }
        return error_response(status, messages.get(status, err.description or "エラーが発生しました。"))

    @app.errorhandler(Exception)
    def unexpected(err: Exception):  # type: ignore[no-untyped-def]
        app.logger.exception("unhandled error")
        db.session.rollback()
        return error_response(500, "システムエラーが発生しました。入力内容は保存されていません。時間をおいて再度お試しください。")
