"""One-time password-setting links: for accounts created without a password (the staff roster) or
an administrator's reset. The link carries a random token (only its SHA-256 is stored), works once,
and expires after PASSWORD_LINK_DAYS (14). Callers commit."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import audit
from app.errors import NotFound, ValidationError
from app.org import sessions
from app.org.models import PasswordToken, User
from app.org.permissions import require
from app.wareki import now_utc


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def needs_password(user: User) -> bool:
    """An account that has never had a password here (and does not sign in through a directory)."""
    from app.directory import signin

    return user.active and not user.password_hash.startswith(("scrypt:", "pbkdf2:")) and not (
        signin.configured() and not user.local_login)


def issue(session: Session, actor: User | None, user: User) -> tuple[str, datetime]:
    """A new link for the user (older unused links of the user stop working)."""
    if actor is not None:
        require(actor, "admin.users")
    now = now_utc()
    session.execute(update(PasswordToken).where(PasswordToken.user_id == user.id, PasswordToken.used_at.is_(None))
                    .values(used_at=now))
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(days=int(current_app.config.get("PASSWORD_LINK_DAYS", 14)))
    session.add(PasswordToken(token_hash=_digest(token), user_id=user.id, created_at=now, expires_at=expires))
    audit.record(session, actor, "user.password_link", "user", user.id, login=user.login)
    base = current_app.config["BASE_URL"].rstrip("/")
    return f"{base}/account/setup/{token}", expires


def issue_for_new_accounts(session: Session, actor: User | None) -> list[tuple[User, str, datetime]]:
    """Links for every active account still without a password, e.g. after a roster import."""
    if actor is not None:
        require(actor, "admin.users")
    out = []
    for user in session.scalars(select(User).where(User.active.is_(True)).order_by(User.unit_id, User.login)):
        if needs_password(user):
            url, expires = issue(session, actor, user)
            out.append((user, url, expires))
    return out


def find(session: Session, token: str) -> PasswordToken:
    row = session.scalar(select(PasswordToken).where(PasswordToken.token_hash == _digest(token or "")))
    if row is None or row.used_at is not None or row.expires_at < now_utc() or not row.user.active:
        raise NotFound("このリンクは使えません（使用済みか、有効期限が切れています）。システム管理者に新しいリンクを依頼してください。")
    return row


def redeem(session: Session, token: str, password: str, confirm: str) -> User:
    """Set the password through the link; every session of the user ends."""
    from app.org.services import MIN_PASSWORD, hash_password

    row = find(session, token)
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"パスワードは{MIN_PASSWORD}文字以上にしてください。")
    if password != confirm:
        problems.append("確認用のパスワードが一致しません。")
    if problems:
        raise ValidationError("パスワードを設定できません。", details=problems)
    user = row.user
    user.password_hash = hash_password(password)
    row.used_at = now_utc()
    sessions.end_all(session, user, "password")
    audit.record(session, user, "user.password", "user", user.id, via="link")
    return user
