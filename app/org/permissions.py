"""The one place that answers "may this user do X (to this object)?".

Each domain registers its own rules in its `permissions` module with `@rule("name")` (the
organisation's are below); services call `require()`
(raises PermissionDenied with a Japanese reason) and templates call `can()` to decide what
to show. A rule returns True, or a string saying in Japanese why not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.errors import NotFound, PermissionDenied
from app.org.models import User

Rule = Callable[[User, Any], "bool | str"]
_RULES: dict[str, Rule] = {}


def rule(name: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        if name in _RULES:
            raise RuntimeError(f"permission rule {name!r} registered twice")
        _RULES[name] = fn
        return fn

    return register


def _check(user: User | None, action: str, obj: Any) -> bool | str:
    # Rules read many attributes of the user: through Flask-Login's proxy each costs a lookup.
    user = getattr(user, "_get_current_object", lambda: user)()
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return "ログインが必要です。"
    try:
        fn = _RULES[action]
    except KeyError:  # a typo must never grant access
        raise RuntimeError(f"unknown permission {action!r}") from None
    return fn(user, obj)


def can(user: User | None, action: str, obj: Any = None) -> bool:
    return _check(user, action, obj) is True


def require(user: User | None, action: str, obj: Any = None) -> None:
    result = _check(user, action, obj)
    if result is not True:
        raise PermissionDenied(result if isinstance(result, str) else "この操作を行う権限がありません。")


# --- organisation and administration ---------------------------------------------------


@rule("admin.access")
def _admin_access(user: User, _obj: Any) -> bool | str:
    return user.is_admin or "システム管理者のみが利用できます。"


@rule("admin.users")
def _admin_users(user: User, _obj: Any) -> bool | str:
    return user.is_admin or "職員の管理はシステム管理者のみが行えます。"


@rule("admin.units")
def _admin_units(user: User, _obj: Any) -> bool | str:
    return user.is_admin or "組織の管理はシステム管理者のみが行えます。"


@rule("admin.audit")
def _admin_audit(user: User, _obj: Any) -> bool | str:
    return user.is_admin or "監査ログはシステム管理者のみが閲覧できます。"


@rule("user.deactivate")
def _user_deactivate(user: User, target: User) -> bool | str:
    if not user.is_admin:
        return "職員の無効化はシステム管理者のみが行えます。"
    if target is not None and target.id == user.id:
        return "自分自身のアカウントは無効にできません。"
    return True


def require_visible(user: User | None, action: str, obj: Any = None, *, what: str = "指定されたページ") -> None:
    """For a rule that decides whether an object can be seen at all: someone who may not see it gets
    the same 404 as for an id that does not exist (a 403 would tell them it exists), and learns
    nothing about its state."""
    if _check(user, action, obj) is not True:
        raise NotFound(f"{what}は見つかりません。")
