"""Sign-in through the directory: with LDAP_URL set, every account not marked local signs in with its
directory password, and at each sign-in its name, mail, 職員番号, unit and position follow the
directory (a change of unit or position takes the 人事異動 path). A person missing from the
directory, or excluded by LDAP_USER_FILTER (disabled), cannot sign in."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from app.directory.ldap import Directory
from app.directory.services import Report, UnitResolver, apply_entry
from app.org.models import User


def configured() -> bool:
    return bool(current_app.config.get("LDAP_URL"))


def handles(user: User | None) -> bool:
    """Directory accounts, and logins unknown to Tebiki, sign in through the directory when one is set."""
    return configured() and (user is None or not user.local_login)


def verify(session: Session, user: User | None, login: str, password: str) -> User | None:
    """The account these directory credentials open (created on a first sign-in when the person's
    department maps to a unit), or None. DirectoryError when the directory cannot be used."""
    directory = Directory.from_app()
    entry = directory.authenticate(login, password)
    if entry is None:
        return None
    if user is not None and not user.active:
        return None  # deactivated here (by an administrator, a 退職 or the sync): stays so until the sync
    report = Report(settings=directory.settings)
    account = apply_entry(session, user, entry, UnitResolver(session), report, source="signin")
    report.record_created(session, None, "signin")
    if account is None:
        current_app.logger.warning("directory sign-in of %s refused: department %s maps to no unit", login,
                                   ", ".join(report.unmapped))
    return account
