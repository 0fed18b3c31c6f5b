"""Assembly of the web application: extensions, the unit of work, each domain's blueprint and
commands (each registers itself with `init_app`), template helpers and error pages."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app, flash, g, redirect, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from app import audit, cli, dashboard, jobs, pages, uow
from app.config import PACKAGE_DIR
from app.directory import commands as directory_commands
from app.directory import views as directory_views
from app.documents import views as document_views
from app.errors import TebikiError
from app.events import commands as event_commands
from app.extensions import csrf, db, login_manager
from app.handover import commands as handover_commands
from app.handover import panels as handover_panels
from app.handover import permissions as handover_rules
from app.handover import round_views
from app.handover import views as handover_views
from app.handover.models import HandoverState
from app.help import views as help_views
from app.manuals import commands as manual_commands
from app.manuals import diff
from app.manuals import permissions as manual_rules
from app.manuals import views as manual_views
from app.notices import commands as notice_commands
from app.notices import panels as notice_panels
from app.notices import permissions as notice_rules
from app.notices import views as notice_views
from app.notices.inbox import unread_count
from app.notices.models import NoticeStatus
from app.notices.reading import UNREAD_COLUMN
from app.org import commands as org_commands
from app.org import panels as org_panels
from app.org import permissions
from app.org import views as org_views
from app.org.models import User
from app.org.sessions import load_user as load_session_user
from app.org.sessions import user_statement
from app.revisions import panels as revision_panels
from app.revisions import permissions as revision_rules
from app.revisions import views as revision_views
from app.revisions.models import RevisionState
from app.rulings import commands as ruling_commands
from app.rulings import panels as ruling_panels
from app.rulings import permissions as ruling_rules
from app.rulings import views as ruling_views
from app.rulings.models import InquiryStatus
from app.search import analysis
from app.search import commands as search_commands
from app.search import views as search_views
from app.usage import services as usage
from app.wareki import today_jst, wareki, wareki_datetime
from app.webutil import BoundedIntConverter, TebikiRequest, error_response, page_url, refused

MODELS = (jobs,)  # shared tables outside the domains (registered with the metadata)
# Every domain's permission rules go into the one registry (app.org.permissions).
RULES = (manual_rules, revision_rules, ruling_rules, notice_rules, handover_rules)
# Every domain's dashboard boxes go into the one list the dashboard asks (app.panels).
PANELS = (revision_panels, notice_panels, ruling_panels, handover_panels, org_panels)
# Every domain: its pages and its `flask` commands register themselves.
DOMAINS = (dashboard, org_views, org_commands, manual_views, manual_commands, revision_views, ruling_views,
           ruling_commands, search_views, search_commands, notice_views, notice_commands, handover_views,
           handover_commands, round_views, directory_views, directory_commands, document_views, event_commands, help_views,
           pages, cli)


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


# The navigation: an item shows when its page exists and the user may use it.
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
    NavItem("ヘルプ", "help.index", pages=("help.index", "help.role")),
]


def nav_items() -> list[NavItem]:
    user = current_user._get_current_object()
    if not user.is_authenticated:
        return []
    views = current_app.view_functions
    return [item for item in NAV if item.endpoint in views
            and (not item.permission or permissions.can(user, item.permission))]


def nav_menu(unread: int, testids: bool = False) -> Markup:
    """The main menu as HTML. The same user on the same page gets the same menu, so it is made
    once per (items, page, badge) in each worker rather than by a template loop on every view
    (the page shows it twice: the items are found once per request)."""
    if "tebiki_nav" not in g:
        g.tebiki_nav = tuple(nav_items())
    return _menu(g.tebiki_nav, request.endpoint, unread, testids, request.script_root)


@functools.lru_cache(maxsize=64)
def _static(name: str, _root: str) -> str:
    return url_for("static", filename=name)


def static_url(name: str) -> str:
    """url_for('static', …) made once per file in each worker (every page links the same four)."""
    return _static(name, request.script_root)


@functools.lru_cache(maxsize=1024)
def _menu(items: tuple[NavItem, ...], endpoint: str | None, unread: int, testids: bool, _root: str) -> Markup:
    out = ["<ul>"]
    for item in items:
        current = ' aria-current="page"' if item.is_current(endpoint) else ""
        badge = ""
        if item.endpoint == "notices.inbox" and unread:
            testid = ' data-testid="unread-badge"' if testids else ""
            badge = f'<span class="nav-badge"{testid} aria-label="未読{unread}件">{unread}</span>'
        out.append(f'<li><a href="{escape(url_for(item.endpoint))}"{current}>{escape(item.label)}{badge}</a></li>')
    return Markup("".join(out) + "</ul>")


# The sign-in query that runs on every request reads the unread badge too (one round trip less a page).
_USER_WITH_BADGE = user_statement(UNREAD_COLUMN)


def unread_notices() -> int:
    """The badge on 通知 in the navigation."""
    user = current_user._get_current_object()
    if not user.is_authenticated:
        return 0
    extras = getattr(user, "request_extras", ())
    return int(extras[0]) if extras else unread_count(db.session, user)


def warm_up(app: Flask) -> None:
    """Make now what every worker would otherwise make for itself on its first requests: the
    compiled templates and the search analyser's dictionary (app/gunicorn_conf.py)."""
    for name in app.jinja_env.list_templates(extensions=("html", "txt")):
        app.jinja_env.get_template(name)
    analysis.load_dictionary()


def init_app(app: Flask) -> None:
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    # Every route parameter is bounded before a view sees it (crafted URLs: 404 / 400, never 500).
    app.request_class = TebikiRequest
    app.url_map.converters["int"] = BoundedIntConverter
    db.init_app(app)
    if app.config["DB_COMMANDS"]:
        # Alembic (~11 MB) is for `flask db …`; a web worker (app/wsgi.py) never migrates.
        from flask_migrate import Migrate

        # render_as_batch: SQLite cannot ALTER most things; batch mode recreates the table.
        Migrate(app, db, directory=str(PACKAGE_DIR / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    usage.init_app(app)  # after_request runs in reverse: the counts are written after the commit
    uow.init_app(app)

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        return load_session_user(db.session, session_id, _USER_WITH_BADGE)  # the server-side session row, on every request

    for domain in DOMAINS:
        domain.init_app(app)

    app.jinja_env.filters["shinkyu_blocks"] = diff.blocks
    app.jinja_env.filters["wareki"] = wareki
    app.jinja_env.filters["wareki_datetime"] = wareki_datetime
    # Jinja's own groupby sorts by the key (code point order: 宮城総合支所 before 宮城野区); this one
    # keeps the list's order, which is the city's (app.ordering).
    app.jinja_env.filters["groups_in_order"] = lambda items, attr: [
        (key, list(group)) for key, group in itertools.groupby(items, key=lambda i: getattr(i, attr, None)
                                                                if not isinstance(i, dict) else i.get(attr))]
    app.jinja_env.globals.update(can=lambda action, obj=None: permissions.can(current_user._get_current_object(),
                                                                              action, obj),
                                 nav_menu=nav_menu, static_url=static_url, page_url=page_url, unread_notices=unread_notices,
                                 audit_labels=audit.ACTION_LABELS,
                                 # The state vocabularies, so templates compare with names, not raw strings.
                                 RevisionState=RevisionState, InquiryStatus=InquiryStatus,
                                 NoticeStatus=NoticeStatus, HandoverState=HandoverState)

    _register_error_pages(app)

    @app.context_processor
    def today() -> dict[str, object]:
        # `me`: the signed-in user as such (templates read many of its attributes; the proxy costs each time).
        return {"today": today_jst(), "me": current_user._get_current_object()}

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
        if app.config.get("HTTPS"):
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint == "static":
            return resp  # a stylesheet never loads the session or the user
        if current_user.is_authenticated and "Cache-Control" not in resp.headers:
            resp.headers["Cache-Control"] = "no-store"  # shared counter PCs: no pages in the cache
        return resp


def _register_error_pages(app: Flask) -> None:
    @app.errorhandler(TebikiError)
    def tebiki_error(err: TebikiError):  # type: ignore[no-untyped-def]
        db.session.rollback()  # a refusal changes nothing
        return refused(err, app.view_functions.get(request.endpoint or ""))

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
            401: "ログインしてください。",
            410: "このページは削除されました。",
            415: "この形式のデータは受け付けません。",
            429: "短時間に操作が集中しました。しばらく待ってから、もう一度お試しください。",
            503: "ただいま利用できません。しばらく待ってから、もう一度お試しください。",
        }
        # Never Werkzeug's own (English) description: every error page reads in Japanese.
        return error_response(status, messages.get(status, "リクエストを処理できませんでした。"))

    @app.errorhandler(Exception)
    def unexpected(err: Exception):  # type: ignore[no-untyped-def]
        app.logger.exception("unhandled error")
        db.session.rollback()
        return error_response(500, "システムエラーが発生しました。入力内容は保存されていません。時間をおいて再度お試しください。")
