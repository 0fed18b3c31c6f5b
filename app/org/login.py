"""Signing in: the throttle, then a local password (break-glass accounts, or every account
without a directory) or the city's directory, with the same message, the same work and the same
record for every refusal."""

from __future__ import annotations

import secrets

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from app import audit
from app.directory import signin
from app.directory.ldap import DirectoryError
from app.errors import ValidationError
from app.org import throttle
from app.org.models import User
from app.org.services import hash_password
from app.wareki import now_utc

LOGIN_REFUSED = ("ログインできませんでした。ログインIDとパスワードをご確認ください。続けて失敗すると、正しく入力しても"
                 "しばらくの間（最大{minutes}分）ログインできなくなります。")


def refused_message() -> str:
    """The one answer to every refused sign-in: wrong password, unknown or inactive login, or an
    attempt made while throttled. Same words, same work, so nothing tells them apart."""
    return LOGIN_REFUSED.format(minutes=current_app.config["LOGIN_LOCK_MINUTES"])


_DUMMY_HASH: dict[str, str] = {}


def _dummy_check(password: str) -> None:
    """The same hashing work as checking a real account (same method and cost)."""
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASH:
        _DUMMY_HASH[method] = hash_password("dummy-password-" + secrets.token_hex(8))
    check_password_hash(_DUMMY_HASH[method], password)


def _verify(session: Session, user: User | None, login: str, password: str) -> User | None:
    """The account these credentials open, or None. Local accounts check their password hash;
    directory accounts (and unknown logins, when a directory is configured) bind to it."""
    if signin.handles(user):
        return signin.verify(session, user, login, password)
    if user is None or not user.active or not user.password_hash.startswith(("scrypt:", "pbkdf2:")):
        _dummy_check(password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def authenticate(session: Session, login: str, password: str, *, address: str = "",
                 device_id: str | None = None) -> User:
    """The user for these credentials, or ValidationError (always `refused_message()`).
    Failures and throttling are recorded in the session: commit them."""
    attempt = throttle.begin(session, login, address=address, device_id=device_id or "")
    if throttle.is_blocked(session, attempt):
        _dummy_check(password)
        throttle.failed(session, attempt, while_blocked=True)
        audit.record(session, None, "auth.throttled", "user", "", login=login[:64], address=address)
        raise ValidationError(refused_message())
    user = session.scalar(select(User).where(func.lower(User.login) == attempt.login))
    try:
        verified = _verify(session, user, login, password) if password else None
    except DirectoryError:
        # Not a judgement on the account (the same for every login): nothing is counted.
        audit.record(session, None, "auth.directory_down", "user", "", login=login[:64], address=address)
        raise
    if verified is None:
        if not password:
            _dummy_check("x")
        throttle.failed(session, attempt)
        audit.record(session, None, "auth.login_failed", "user", user.id if user else "", login=login[:64],
                     address=address, trusted_device=attempt.trusted)
        raise ValidationError(refused_message())
    throttle.succeeded(session, attempt)
    verified.last_login_at = now_utc()
    audit.record(session, verified, "auth.login", "user", verified.id, address=address)
    return verified


