"""Sign-in throttling that slows a guessing client without letting anyone lock an account out.

Failures are counted per (login, client address), per login over all untrusted clients, per
client address, and per (login, trusted device). Past a number of free failures every further
attempt on that key must wait 1, 2, 4 … seconds (at most LOGIN_LOCK_MINUTES); attempts made
while waiting are refused without looking at the password, so guessing gains nothing.

A *trusted device* is a browser this login has signed in from before (a signed cookie with a
random device id, OWASP's "device cookies"): it is judged only by its own counter. So however
many failures an attacker piles onto `admin` from elsewhere, the administrator's own PC still
signs in. Counters are keyed by the login *as typed*, so a login that does not exist is slowed
exactly like one that does (no oracle). Quiet keys are forgotten after an hour.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.guard import changed
from app.org.models import LoginThrottle
from app.wareki import now_utc

DEVICE_COOKIE = "tebiki_device"
DEVICE_DAYS = 365
FORGET_AFTER = timedelta(hours=1)


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def normalise(login: str) -> str:
    return login.strip().lower()[:64]


def client_address() -> str:
    """The client's address; behind N trusted reverse proxies (TRUSTED_PROXIES) the Nth entry
    from the right of X-Forwarded-For, which those proxies wrote (nothing further left is trusted)."""
    proxies = int(current_app.config.get("TRUSTED_PROXIES", 0) or 0)
    if proxies:
        forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",") if p.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies][:45]
    return (request.remote_addr or "")[:45]


# --- the trusted-device cookie ---------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="tebiki-device")  # type: ignore[arg-type]


def read_device() -> str | None:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        value = _serializer().loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, str) and len(value) == 32 else None


def new_device_id() -> str:
    return secrets.token_hex(16)


def set_device_cookie(response: object, device_id: str) -> None:
    response.set_cookie(  # type: ignore[attr-defined]
        DEVICE_COOKIE, _serializer().dumps(device_id), max_age=DEVICE_DAYS * 86400, httponly=True, samesite="Lax",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")), path="/login")


# --- counters --------------------------------------------------------------------------------


@dataclass
class Attempt:
    login: str  # normalised
    login_hash: str
    keys: list[str]  # the counters that judge this attempt
    device_key: str
    pair_key: str
    trusted: bool


def _free(key: str) -> int:
    cfg = current_app.config
    if key.startswith("acct:"):
        return int(cfg.get("LOGIN_ACCOUNT_FAILURES", 20))
    if key.startswith("addr:"):
        return int(cfg.get("LOGIN_ADDRESS_FAILURES", 100))
    return int(cfg.get("LOGIN_MAX_FAILURES", 5))


def delay_seconds(key: str, failures: int) -> int:
    """0 while failures are free, then 1, 2, 4 … seconds, at most LOGIN_LOCK_MINUTES."""
    over = failures - _free(key)
    if over < 0:
        return 0
    return min(2 ** min(over, 30), int(current_app.config.get("LOGIN_LOCK_MINUTES", 15)) * 60)


def begin(session: Session, login: str, *, address: str, device_id: str) -> Attempt:
    norm = normalise(login)
    login_hash = _hash(norm)
    device_key = "dev:" + _hash(norm, device_id)
    pair_key = "pair:" + _hash(norm, address)
    device = session.get(LoginThrottle, device_key)
    trusted = device is not None and device.trusted
    keys = [device_key] if trusted else [pair_key, "acct:" + login_hash, "addr:" + _hash("addr", address)]
    return Attempt(norm, login_hash, keys, device_key, pair_key, trusted)


def is_blocked(session: Session, attempt: Attempt) -> bool:
    now = now_utc()
    rows = session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(attempt.keys)))
    return any(r.blocked_until is not None and r.blocked_until > now for r in rows)


def _row(session: Session, key: str, login_hash: str) -> LoginThrottle:
    row = session.get(LoginThrottle, key, with_for_update=True)
    if row is not None:
        return row
    row = LoginThrottle(key=key, login_hash="" if key.startswith("addr:") else login_hash, failures=0)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # a parallel attempt created it first
        found = session.get(LoginThrottle, key, with_for_update=True)
        assert found is not None  # it exists: the insert conflicted on it
        return found
    return row


def failed(session: Session, attempt: Attempt, *, while_blocked: bool = False) -> None:
    """Count a failure on every key judging the attempt; a real failure (not one refused while
    waiting) starts the next waiting time."""
    now = now_utc()
    for key in attempt.keys:
        row = _row(session, key, attempt.login_hash)
        if row.last_failure_at is not None and row.last_failure_at < now - FORGET_AFTER and not (
                row.blocked_until and row.blocked_until > now):
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        if not while_blocked:
            wait = delay_seconds(key, row.failures)
            row.blocked_until = now + timedelta(seconds=wait) if wait else None


def succeeded(session: Session, attempt: Attempt) -> None:
    """This (login, client) and this device start again; the device becomes trusted."""
    now = now_utc()
    session.execute(update(LoginThrottle).where(LoginThrottle.key == attempt.pair_key)
                    .values(failures=0, blocked_until=None))
    row = _row(session, attempt.device_key, attempt.login_hash)
    row.failures, row.blocked_until, row.trusted, row.last_success_at = 0, None, True, now
    # Forget devices not used for a year (their cookie has expired anyway).
    session.execute(delete(LoginThrottle).where(LoginThrottle.login_hash == attempt.login_hash,
                                                LoginThrottle.trusted.is_(True),
                                                LoginThrottle.last_success_at < now - timedelta(days=DEVICE_DAYS)))


def clear(session: Session, login: str) -> int:
    """The admin's 「ログイン制限を解除」: every counter of this login starts again (trust is kept)."""
    return changed(session, update(LoginThrottle).where(LoginThrottle.login_hash == _hash(normalise(login)))
                           .values(failures=0, blocked_until=None)) or 0


def blocked_logins(session: Session, logins: list[str]) -> set[str]:
    """Which of these logins are being slowed now (for the admin's user list)."""
    hashes = {_hash(normalise(x)): normalise(x) for x in logins}
    if not hashes:
        return set()
    rows = session.scalars(select(LoginThrottle.login_hash).where(
        LoginThrottle.login_hash.in_(hashes), LoginThrottle.blocked_until > now_utc()))
    return {hashes[h] for h in rows}
