"""Issue 12: sessions end on the server; sign-in throttling slows guessing without locking anyone
out and tells existing, missing and throttled logins apart neither by message nor by timing."""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

import pytest
from flask import Flask

from app.extensions import db
from app.org import services as org
from app.org.models import LoginSession, LoginThrottle
from app.org.throttle import delay_seconds
from app.wareki import now_utc
from tests.conftest import CSRF_RE, login, post
from tests.helpers import user

pytestmark = pytest.mark.usefixtures("demo_users")


def attempt(client, login_id: str, password: str, address: str = "10.0.0.1", **headers: str):
    html = client.get("/login", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True)
    m = CSRF_RE.search(html)
    assert m
    return client.post("/login", data={"login": login_id, "password": password, "csrf_token": m.group(1) or m.group(2)},
                       environ_base={"REMOTE_ADDR": address}, headers=headers)


# --- sessions -------------------------------------------------------------------------------------


def test_cookie_copied_before_logout_is_dead_afterwards_from_any_browser(app: Flask, client) -> None:
    login(client, "aoba.tanto")
    stolen = client.get_cookie("tebiki_session").value
    thief = app.test_client()
    thief.set_cookie("tebiki_session", stolen)
    assert thief.get("/dashboard", headers={"User-Agent": "Other/1.0"}).status_code == 200  # a live copy works …
    assert post(client, "/logout").status_code == 302
    for ua in ("Other/1.0", "Mozilla/5.0"):
        resp = thief.get("/dashboard", headers={"User-Agent": ua})
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")  # … a copy after logout not
    resp = thief.post("/inquiries/new", data={"subject": "x", "body": "x", "kind": "疑義照会"})
    assert resp.status_code in (302, 400)
    row = db.session.query(LoginSession).one()
    assert row.ended_at is not None and row.end_reason == "logout"


def test_logout_ends_only_this_browser(app: Flask) -> None:
    office, home = app.test_client(), app.test_client()
    login(office, "aoba.tanto")
    login(home, "aoba.tanto")
    post(office, "/logout")
    assert office.get("/dashboard").status_code == 302
    assert home.get("/dashboard").status_code == 200  # the other device stays signed in


def test_password_change_by_admin_ends_every_session_and_user_can_end_others(app: Flask) -> None:
    a, b, c = app.test_client(), app.test_client(), app.test_client()
    for cl in (a, b, c):
        login(cl, "aoba.tanto")
    page = a.get("/account/password").get_data(as_text=True)
    assert "ログイン中の端末" in page and page.count("<tr>") >= 3 and "この端末" in page
    assert post(a, "/account/sessions/end").status_code == 302
    assert a.get("/dashboard").status_code == 200
    assert b.get("/dashboard").status_code == 302 and c.get("/dashboard").status_code == 302
    org.set_password(db.session, user("admin"), user("aoba.tanto"), "reset-by-admin-1")
    db.session.commit()
    assert a.get("/dashboard").status_code == 302  # an admin's reset ends the user's own browser too
    assert login(a, "aoba.tanto", "reset-by-admin-1").status_code == 302


def test_expired_session_row_stops_the_cookie(app: Flask, client) -> None:
    login(client, "aoba.tanto")
    row = db.session.query(LoginSession).one()
    row.expires_at = now_utc() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/dashboard").status_code == 302


def test_admin_ends_all_sessions_of_a_user(app: Flask) -> None:
    victim = app.test_client()
    login(victim, "aoba.tanto")
    admin = app.test_client()
    login(admin, "admin")
    uid = user("aoba.tanto").id
    assert "すべての端末からログアウトさせる" in admin.get(f"/admin/users/{uid}").get_data(as_text=True)
    assert post(admin, f"/admin/users/{uid}/sessions").status_code == 302
    assert victim.get("/dashboard").status_code == 302


# --- throttling -----------------------------------------------------------------------------------


def test_growing_delay_per_client_and_right_password_waits(app: Flask, client) -> None:
    free = app.config["LOGIN_MAX_FAILURES"]
    waits = []
    for i in range(free + 3):
        assert attempt(client, "hq.tanto", f"guess-{i}", "10.9.9.9").status_code == 401
        row = db.session.query(LoginThrottle).filter(LoginThrottle.key.like("pair:%")).one()
        waits.append((row.blocked_until - row.last_failure_at).total_seconds() if row.blocked_until else 0)
        if row.blocked_until:  # let the wait pass, so the next guess is a real one
            row.blocked_until = now_utc() - timedelta(seconds=1)
            db.session.commit()
    assert waits == [0] * (free - 1) + [1, 2, 4, 8]
    # While waiting, even the right password is refused (and the guess is not even checked).
    row = db.session.query(LoginThrottle).filter(LoginThrottle.key.like("pair:%")).one()
    row.blocked_until = now_utc() + timedelta(seconds=30)
    db.session.commit()
    assert attempt(client, "hq.tanto", "tebiki-demo", "10.9.9.9").status_code == 401
    # Another client is not slowed by it; after the wait the right password works again.
    assert attempt(app.test_client(), "hq.tanto", "tebiki-demo", "10.7.7.7").status_code == 302
    row.blocked_until = now_utc() - timedelta(seconds=1)
    db.session.commit()
    assert attempt(client, "hq.tanto", "tebiki-demo", "10.9.9.9").status_code == 302
    assert delay_seconds("pair:x", 10_000) == app.config["LOGIN_LOCK_MINUTES"] * 60  # capped


def test_nobody_can_lock_the_administrator_out(app: Flask) -> None:
    admin_pc = app.test_client()
    assert attempt(admin_pc, "admin", "tebiki-demo", "10.20.0.5").status_code == 302  # the admin's own PC
    post(admin_pc, "/logout")
    # An attacker hammers `admin` from many addresses until every untrusted client is slowed.
    attacker = app.test_client()
    for i in range(60):
        attempt(attacker, "admin", f"guess-{i}", f"10.66.{i // 5}.{i % 5}")
    assert attempt(app.test_client(), "admin", "tebiki-demo", "10.30.0.1").status_code == 401  # a new PC waits
    # The administrator's own PC (trusted after its earlier sign-in) is judged by its own counter only.
    assert attempt(admin_pc, "admin", "tebiki-demo", "10.20.0.5").status_code == 302
    assert admin_pc.get("/dashboard").status_code == 200


def test_spoofed_forwarded_for_does_not_evade_the_address_counter(app: Flask, client) -> None:
    for i in range(app.config["LOGIN_MAX_FAILURES"] + 1):
        attempt(client, "hq.kacho", f"g{i}", "10.5.5.5", **{"X-Forwarded-For": f"192.0.2.{i}"})
    assert attempt(client, "hq.kacho", "tebiki-demo", "10.5.5.5", **{"X-Forwarded-For": "192.0.2.200"}).status_code == 401
    app.config["TRUSTED_PROXIES"] = 1  # behind one reverse proxy the forwarded address is the client's
    assert attempt(client, "hq.kacho", "tebiki-demo", "10.5.5.5", **{"X-Forwarded-For": "192.0.2.201"}).status_code == 302


def _page_text(resp) -> str:
    return CSRF_RE.sub("", resp.get_data(as_text=True))


def test_same_answer_for_existing_missing_and_throttled_logins(app: Flask) -> None:
    free = app.config["LOGIN_MAX_FAILURES"]
    answers = {}
    for login_id in ("aoba.kacho", "nobody.here"):
        c = app.test_client()
        for i in range(free + 2):
            resp = attempt(c, login_id, f"wrong-{i}", "10.8.0.1" if login_id == "nobody.here" else "10.8.0.2")
            answers.setdefault(login_id, []).append((resp.status_code, _page_text(resp).replace(login_id, "")))
    # Existing and missing logins get the same page at every step, throttled steps included …
    assert answers["aoba.kacho"] == answers["nobody.here"]
    # … and a throttled attempt reads exactly like a plain wrong password.
    assert len({text for _, text in answers["aoba.kacho"]}) == 1
    assert "ロック" not in answers["aoba.kacho"][-1][1]
    # Both were throttled the same way.
    blocked = {r.key.split(":")[0] for r in db.session.query(LoginThrottle) if r.blocked_until}
    assert blocked == {"pair"}


def test_same_timing_for_existing_missing_and_throttled_logins(app: Flask) -> None:
    """With the production hash (scrypt), the three answers take the same time within 25 %."""
    app.config.update(PASSWORD_HASH_METHOD="scrypt", LOGIN_ACCOUNT_FAILURES=10_000, LOGIN_ADDRESS_FAILURES=10_000)
    org.set_password(db.session, user("admin"), user("izumi.hoken.tanto"), "scrypt-password-1")
    db.session.commit()
    c = app.test_client()
    for i in range(app.config["LOGIN_MAX_FAILURES"]):  # throttle one client for the third case
        attempt(c, "izumi.hoken.tanto", f"w{i}", "10.40.0.1")
    row = db.session.query(LoginThrottle).filter(LoginThrottle.key.like("pair:%"), LoginThrottle.blocked_until.is_not(None)).one()
    row.blocked_until = now_utc() + timedelta(hours=1)
    db.session.commit()
    times: dict[str, list[float]] = {"existing": [], "missing": [], "throttled": []}
    for i in range(12):  # interleaved, so machine noise hits all three alike
        for case in times:
            login_id = "no.such.person" if case == "missing" else "izumi.hoken.tanto"
            address = "10.40.0.1" if case == "throttled" else f"10.41.{i}.{len(case)}"
            t = time.perf_counter()
            resp = attempt(c, login_id, f"wrong-{i}", address)
            times[case].append(time.perf_counter() - t)
            assert resp.status_code == 401
    medians = {k: statistics.median(v) for k, v in times.items()}
    base = medians["existing"]
    assert base > 0.02, medians  # a real scrypt check took place
    for case in ("missing", "throttled"):
        assert abs(medians[case] - base) < 0.25 * base, medians
    print("sign-in timing (median s):", {k: round(v, 4) for k, v in medians.items()})
