"""Helpers every blueprint uses: the login guard, refusals shown as messages, error pages, safe
redirects and URLs with changed query arguments. `web.py` only assembles the application."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Request, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.datastructures import ImmutableMultiDictMixin, MultiDict
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers import Response

from app.errors import TebikiError, ValidationError
from app.extensions import db
from app.wareki import parse_date

F = TypeVar("F", bound=Callable[..., Any])

STATUS_TITLES = {
    400: "入力内容に誤りがあります",
    403: "権限がありません",
    404: "ページが見つかりません",
    405: "この操作はできません",
    409: "他の操作と競合しました",
    401: "ログインが必要です",
    410: "ページがありません",
    413: "ファイルが大きすぎます",
    415: "受け付けない形式です",
    429: "操作が集中しています",
    503: "ただいま利用できません",
    500: "システムエラーが発生しました",
}


def login_required_for(blueprint: Blueprint) -> None:
    """Every page of the blueprint needs a logged-in user."""

    @blueprint.before_request
    @login_required
    def _require_login() -> None:
        return None


def flash_error(err: TebikiError) -> None:
    """A service's refusal as flash messages: the message, then every detail (row, field …)."""
    flash(err.message, "error")
    for detail in err.details:
        flash(detail, "error")


def back_to(endpoint: str, **args: str) -> Callable[[F], F]:
    """Where a refused POST of this view goes back to (with the refusal as a message): `endpoint`,
    its arguments taken from the view's own arguments by name (`revision_id="revision_id"`)."""

    def mark(fn: F) -> F:
        fn.tebiki_back = (endpoint, args)  # type: ignore[attr-defined]
        return fn

    return mark


def refusal_url(view: Any) -> str:
    target = getattr(view, "tebiki_back", None)
    if target is not None:
        endpoint, args = target
        values = request.view_args or {}
        return url_for(endpoint, **{k: values[v] for k, v in args.items() if v in values})
    return safe_next(request.referrer, url_for("main.dashboard"))


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site (no scheme, no host, no `//` or `/\\`, no control characters): never an
    open redirect (`next` after login, `back` of a form, the Referer of a refused POST)."""
    if not target:
        return default
    target = target.strip()
    if any(c in target for c in "\r\n\t\x00"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if parts.netloc != request.host:
            return default
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


# url_for's own keywords: a query argument of that name must not reach it (`?endpoint=x` was a 500).
_URL_FOR_KEYWORDS = {"endpoint", "_method", "_anchor", "_external", "_scheme", "values"}


def page_url(**changes: Any) -> str:
    """The current URL with some query arguments replaced (pagination, sorting, filters)."""
    args = {k: v for k, v in request.args.to_dict().items() if k not in _URL_FOR_KEYWORDS}
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    values: dict[str, Any] = {**(request.view_args or {}), **args}
    return url_for(request.endpoint or "main.dashboard", **values)


# The largest id or page number anything here stores (PostgreSQL integer; SQLite would overflow at 2**63).
MAX_INT = 2**31 - 1
FIRST_DAY, LAST_DAY = date(1873, 1, 1), date(2199, 12, 31)  # 明治6年 (the Gregorian calendar) … far enough


class BoundedArgs(MultiDict):  # type: ignore[type-arg]
    """Query and form values: an integer out of range reads as missing (the default), so a crafted
    `?page=99999999999999999999` or `?owner=-1` never reaches the database."""

    def get(self, key: Any, default: Any = None, type: Any = None) -> Any:  # type: ignore[override]  # noqa: A002
        value = super().get(key, default, type)
        if type is int and isinstance(value, int) and not (0 <= value <= MAX_INT):
            return default
        return value


class ImmutableBoundedArgs(ImmutableMultiDictMixin, BoundedArgs):  # type: ignore[misc]
    """Read-only, as request.args and request.form are."""


class TebikiRequest(Request):
    parameter_storage_class = ImmutableBoundedArgs


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` in a route: beyond MAX_INT is a 404, like any id that does not exist."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("max", MAX_INT)
        super().__init__(map, *args, **kwargs)


MAX_PAGE = 10_000


def paginate(stmt: Any, per_page: int = 25) -> Any:
    """One page of a list. The page number comes bounded from the query string; the page size is the
    view's (a client never chooses it: `?per_page=1000000` is ignored)."""
    page = min(request.args.get("page", 1, type=int) or 1, MAX_PAGE)
    return db.paginate(stmt, page=page, per_page=per_page, max_per_page=per_page, error_out=False)


def day_arg(name: str) -> date | None:
    """A date from the query string (YYYY-MM-DD or 和暦), or None when absent; a malformed or
    out-of-range one is a clear 400 (not a 500 further down)."""
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    day = parse_date(raw)
    if day is None or not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(f"日付「{raw[:40]}」は正しくありません（例: 2024-10-01 または 令和6年10月1日）。")
    return day


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def error_response(status: int, message: str, details: list[str] | None = None) -> tuple[Any, int]:
    if wants_json():
        return {"error": message, "details": details or []}, status
    title = STATUS_TITLES.get(status, "エラー")
    return render_template("error.html", status=status, title=title, message=message, details=details or []), status


def refused(err: TebikiError, view: Any) -> Response | tuple[Any, int]:
    """A refusal: on a POST (a form or a button) back to the page with the message; otherwise an
    error page with the status."""
    if request.method not in ("GET", "HEAD") and err.status in (400, 409) and not wants_json():
        flash_error(err)
        return redirect(refusal_url(view))
    return error_response(err.status, err.message, err.details)
