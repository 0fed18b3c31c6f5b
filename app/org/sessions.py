"""Server-side sign-in sessions: every request checks its row, so logging out, changing the
password or deactivating an account ends the session on the server, not only in the browser.

What a mature product does, and what this does:
- 「ログアウト」 ends this browser's session only; the user's other devices stay signed in.
- A password change (by the user or the admin) ends every other session of the user; the
  browser that changed it stays signed in. Deactivation ends all of them.
- The user sees their signed-in browsers and can end the others; the admin can end them all.
Callers commit.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from flask import current_app, request
from flask import session as cookie
from sqlalchemy import ColumnElement, Select, bindparam, delete, select, update
from sqlalchemy.orm import Session

from app.guard import changed
from app.org.models import LoginSession, User
from app.wareki import now_utc

COOKIE_KEY = "sid"  # key of the token inside the signed session cookie


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user: User, *, ip: str = "", user_agent: str = "") -> str:
    """A new session row; returns the token to put into the cookie."""
    token = secrets.token_urlsafe(32)
    now = now_utc()
    lifetime = current_app.permanent_session_lifetime
    # Old rows of this user are cleaned here, so the table needs no timer.
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id,
                                               LoginSession.expires_at < now - timedelta(days=7)))
    session.add(LoginSession(token_hash=_digest(token), user_id=user.id, created_at=now, expires_at=now + lifetime,
                             ip=ip[:45], user_agent=user_agent[:200]))
    return token


def current_token() -> str | None:
    value = cookie.get(COOKIE_KEY)
    return value if isinstance(value, str) else None


def live(session: Session, user_id: int, token: str | None) -> LoginSession | None:
    if not token:
        return None
    return session.scalar(select(LoginSession).where(
        LoginSession.token_hash == _digest(token), LoginSession.user_id == user_id,
        LoginSession.ended_at.is_(None), LoginSession.expires_at > now_utc()))


# Built once: this statement runs on every request.
_SESSION_USER = select(User).join(LoginSession, LoginSession.user_id == User.id).where(
    User.id == bindparam("user_id"), LoginSession.token_hash == bindparam("token_hash"),
    LoginSession.ended_at.is_(None), LoginSession.expires_at > bindparam("now"))


def user_statement(*extra: ColumnElement[Any]) -> Select[Any]:
    """The sign-in query with more columns about the user, read in the same round trip (the web
    assembly adds the unread badge: every page shows it). Build it once."""
    return _SESSION_USER.add_columns(*extra)


def load_user(session: Session, session_id: str, stmt: Select[Any] | None = None) -> User | None:
    """Flask-Login's user loader: "id:version" in the cookie, plus a live session row. With `stmt`
    (user_statement), the extra columns are kept on the user as `request_extras` for this request."""
    try:
        user_id, version = (int(x) for x in session_id.split(":"))
    except ValueError:
        return None
    token = current_token()
    if not token:
        return None
    # One query on every request: the user (with the unit) and their live session row together.
    row = session.execute(stmt if stmt is not None else _SESSION_USER,
                          {"user_id": user_id, "token_hash": _digest(token), "now": now_utc()}).first()
    if row is None:
        return None
    user: User = row[0]
    if user.session_version != version or not user.active:
        return None
    user.request_extras = tuple(row[1:])  # a plain attribute: this request's session only
    return user


def end(session: Session, token: str | None, reason: str) -> None:
    if token:
        session.execute(update(LoginSession).where(LoginSession.token_hash == _digest(token),
                                                   LoginSession.ended_at.is_(None))
                        .values(ended_at=now_utc(), end_reason=reason))


def end_all(session: Session, user: User, reason: str, *, keep: str | None = None) -> int:
    """End every session of the user except `keep` (the token of the browser doing it)."""
    stmt = update(LoginSession).where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
    if keep:
        stmt = stmt.where(LoginSession.token_hash != _digest(keep))
    return changed(session, stmt.values(ended_at=now_utc(), end_reason=reason)) or 0


def list_live(session: Session, user: User) -> list[LoginSession]:
    return list(session.scalars(select(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.ended_at.is_(None), LoginSession.expires_at > now_utc())
        .order_by(LoginSession.created_at.desc())))


def is_current(row: LoginSession) -> bool:
    token = current_token()
    return bool(token) and row.token_hash == _digest(token or "")


def client_info() -> tuple[str, str]:
    from app.org.throttle import client_address

    return client_address(), request.headers.get("User-Agent", "")
