"""Domain errors raised by services; views turn them into Japanese messages and status codes."""

from __future__ import annotations


class TebikiError(Exception):
    """Base error: `message` is shown to the user as it is (Japanese)."""

    status = 400

    def __init__(self, message: str, *, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class ValidationError(TebikiError):
    """Input that cannot be accepted; `details` lists every problem (e.g. per row or file)."""

    status = 400


class PermissionDenied(TebikiError):
    status = 403

    def __init__(self, message: str = "この操作を行う権限がありません。", **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]


class NotFound(TebikiError):
    status = 404

    def __init__(self, message: str = "指定されたページは見つかりません。", **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]


class Conflict(TebikiError):
    """A stale edit or an invalid state transition: nothing was changed."""

    status = 409
