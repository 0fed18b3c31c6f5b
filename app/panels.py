"""The dashboard's boxes, contributed by the domains: each registers `@panel(order)` functions in its
own `panels` module, and the dashboard asks them all (it queries no domain itself)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.org.models import User


@dataclass
class Panel:
    """One box on the dashboard: what the user has to look at, or an empty state saying what will appear."""

    title: str
    empty: str
    items: list[dict[str, Any]] = field(default_factory=list)
    link: str | None = None
    link_label: str = "一覧へ"


# A contributor gets the user and a per-request cache (shared lists, e.g. the revision workspace)
# and returns its panels, or none for a user it has nothing for.
Contributor = Callable[[User, dict[str, Any]], list[Panel]]
_CONTRIBUTORS: list[tuple[int, str, Contributor]] = []


def panel(order: int) -> Callable[[Contributor], Contributor]:
    """Register a contributor; `order` places its panels on the page (lower first)."""

    def register(fn: Contributor) -> Contributor:
        name = f"{fn.__module__}.{fn.__qualname__}"
        if any(n == name for _, n, _ in _CONTRIBUTORS):
            raise RuntimeError(f"dashboard panel {name} registered twice")
        _CONTRIBUTORS.append((order, name, fn))
        _CONTRIBUTORS.sort(key=lambda c: c[0])
        return fn

    return register


def panels_for(user: User) -> list[Panel]:
    shared: dict[str, Any] = {}
    return [p for _, _, fn in _CONTRIBUTORS for p in fn(user, shared)]
