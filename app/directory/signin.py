"""Sign-in through the directory (filled in with the LDAP client)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from app.org.models import User


def configured() -> bool:
    return bool(current_app.config.get("LDAP_URL"))


def handles(user: User | None) -> bool:
    """Directory accounts, and logins unknown to Tebiki, sign in through the directory when one is set."""
    return configured() and (user is None or user.auth_source == "directory")


def verify(session: Session, user: User | None, login: str, password: str) -> User | None:
    raise NotImplementedError
