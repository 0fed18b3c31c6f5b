"""Helpers every blueprint uses: the login guard, refusals shown as messages, error pages, safe
redirects and URLs with changed query arguments. `web.py` only assembles the application."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.wrappers import Response

from app.errors import TebikiError

F = TypeVar("F", bound=Callable[..., Any])

STATUS_TITLES = {
    400: "入力内容に誤りがあります",
    403: "権限がありません",
    404: "ページが見つかりません",
    405: "この操作はできません",
    409: "他の操作と競合しました",
    413: "ファイルが大きすぎます",
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
    """Only a path on this site (no scheme, no host, no `//`): never an open redirect."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if parts.netloc != request.host:
            return default
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def page_url(**changes: Any) -> str:
    """The current URL with some query arguments replaced (pagination, sorting, filters)."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint or "main.dashboard", **(request.view_args or {}), **args)


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
