"""Security: every route × every role, CSRF on every POST, stored XSS, path traversal, oversize
requests, open redirects, session fixation."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import Flask

from app.extensions import db
from app.handover import handovers
from app.handover.models import TransferRound
from app.notices.models import Notice
from app.org import services as org
from app.org.models import Unit
from app.revisions import drafting
from app.rulings import services as rulings
from tests.conftest import csrf_token, login
from tests.helpers import approve_all, make_manual, revise, user

pytestmark = pytest.mark.usefixtures("demo_users")

ROLES = ["hq.tanto", "hq.kacho", "kaigo.hq.tanto", "aoba.tanto", "aoba.kacho", "izumi.hoken.tanto", "admin"]
HQ_OWNER = {"hq.tanto", "hq.kacho"}
HQ = HQ_OWNER | {"kaigo.hq.tanto", "admin"}
AOBA = {"aoba.tanto", "aoba.kacho"}
WARD = AOBA | {"izumi.hoken.tanto"}
EVERYONE = set(ROLES)


@pytest.fixture
def world(app: Flask) -> dict[str, object]:
    from app.documents import attaching
    from tests import docx_samples
    from tests.test_documents_files import pdf_bytes

    manual = make_manual()
    first = revise(manual, "hq.tanto", "14日以内", "21日以内")
    attaching.add(db.session, user("hq.tanto"), first, "form.pdf", pdf_bytes(), expected_head=first.head_commit)
    db.session.commit()
    approve_all(first)
    draft = revise(manual, "hq.tanto", "受付印を押す。", "受付印を押し、記録する。")
    attaching.add(db.session, user("hq.tanto"), draft, "screen.png", docx_samples.png(), expected_head=draft.head_commit)
    db.session.commit()
    private = rulings.file_inquiry(db.session, user("aoba.tanto"), kind="疑義照会", subject="非公開の照会",
                                   body="内容", manual=manual)
    public = rulings.file_inquiry(db.session, user("aoba.tanto"), kind="疑義照会", subject="公開の照会", body="内容",
                                  manual=manual)
    rulings.save_answer(db.session, user("hq.tanto"), public, answer="回答", basis="根拠", tags=[], share_all=True,
                        submit=True)
    rulings.approve(db.session, user("hq.kacho"), public)
    notice = db.session.query(Notice).join(Unit).filter(Unit.name == "青葉区 保険年金課").first()
    handover = handovers.start(db.session, user("hq.tanto"), user("hq.tanto"))
    rnd = TransferRound(name="令和9年4月1日 定期異動", effective_date=date(2027, 4, 1), rows=0)
    db.session.add(rnd)
    db.session.commit()
    return {"manual": manual, "draft": draft, "private": private, "public": public, "notice": notice,
            "handover": handover, "revision_id": draft.id, "round": rnd}


def get_spec(w: dict) -> list[tuple[str, set[str]]]:
    """(GET url, roles allowed); every other role must get 403 or 404."""
    m, d, p, r, n, h = w["manual"], w["draft"], w["private"], w["public"], w["notice"], w["handover"]
    published_revision = db.session.query(Notice.revision_id).filter(Notice.revision_id.is_not(None)).first()[0]
    return [
        ("/dashboard", EVERYONE), ("/account/password", EVERYONE),
        ("/manuals/", EVERYONE), (f"/manuals/{m.slug}", EVERYONE), (f"/manuals/{m.slug}/v/1", EVERYONE),
        (f"/manuals/{m.slug}/history", EVERYONE), (f"/manuals/{m.slug}/compare", EVERYONE),
        (f"/manuals/{m.slug}/raw", EVERYONE), (f"/manuals/{m.slug}/v/1/raw", EVERYONE),
        (f"/manuals/{m.slug}/manage", HQ_OWNER | {"admin"}),
        ("/manuals/new", HQ),
        ("/revisions", EVERYONE), (f"/revisions/{d.id}", HQ_OWNER | {"admin"}),
        (f"/revisions/{d.id}/compare", HQ_OWNER | {"admin"}), (f"/revisions/{d.id}/edit", HQ_OWNER),
        (f"/revisions/{d.id}/resolve", HQ_OWNER),
        ("/rulings", EVERYONE), (f"/rulings/{r.number}", EVERYONE),
        ("/inquiries", EVERYONE), (f"/inquiries/{p.id}", HQ_OWNER | AOBA | {"admin"}), ("/inquiries/new", WARD),
        ("/notices/", EVERYONE), (f"/notices/{n.id}", AOBA | HQ_OWNER | {"admin"}),
        (f"/notices/matrix?revision={published_revision}", HQ_OWNER | {"admin"}),
        ("/notices/sent", HQ), ("/notices/usage", HQ), (f"/notices/{n.id}/read", AOBA | HQ_OWNER | {"admin"}),
        (f"/notices/{n.id}/people.xlsx", {"aoba.kacho"} | HQ_OWNER | {"admin"}),
        ("/notices/campaigns/", {"hq.kacho", "admin"}),
        ("/admin/search/synonyms", {"admin"}),
        ("/search?q=受付", EVERYONE), ("/api/search?q=受付", EVERYONE),
        ("/handovers", EVERYONE), (f"/handovers/{h.id}", {"hq.tanto", "hq.kacho", "admin"}),
        (f"/handovers/{h.id}/print", {"hq.tanto", "hq.kacho", "admin"}),
        (f"/handovers/{h.id}.xlsx", {"hq.tanto", "hq.kacho", "admin"}),
        (f"/handovers/{h.id}.docx", {"hq.tanto", "hq.kacho", "admin"}),
        (f"/handovers/{h.id}.pdf", {"hq.tanto", "hq.kacho", "admin"}),
        (f"/manuals/{m.slug}/v/2.docx", EVERYONE), (f"/manuals/{m.slug}/v/1.pdf", EVERYONE),
        (f"/manuals/{m.slug}/compare.docx", EVERYONE), (f"/manuals/{m.slug}/compare.pdf", EVERYONE),
        (f"/manuals/{m.slug}/v/2/files/form.pdf", EVERYONE), (f"/revisions/{d.id}/files/screen.png", HQ_OWNER | {"admin"}),
        (f"/revisions/{d.id}/compare.docx", HQ_OWNER | {"admin"}), (f"/revisions/{d.id}/compare.pdf", HQ_OWNER | {"admin"}),
        ("/checks", {"hq.kacho", "aoba.kacho", "admin"}),
        ("/admin/users", {"admin"}), ("/admin/users/new", {"admin"}), ("/admin/units", {"admin"}),
        ("/admin/units/new", {"admin"}), ("/admin/audit", {"admin"}), ("/admin/staff-import", {"admin"}),
        ("/admin/handovers", {"admin"}), (f"/admin/users/{user('aoba.tanto').id}", {"admin"}),
        ("/admin/roster", {"admin"}), ("/admin/directory", {"admin"}), (f"/admin/rounds/{w['round'].id}", {"admin"}),
        (f"/admin/units/{user('aoba.tanto').unit_id}", {"admin"}),
        ("/help/", EVERYONE), ("/help/ward-head", EVERYONE),
    ]


def test_every_route_for_every_role(app: Flask, world) -> None:
    spec = get_spec(world)
    tested = {re.sub(r"\?.*", "", url) for url, _ in spec}
    anonymous = app.test_client()
    for url, _ in spec:
        resp = anonymous.get(url)
        assert resp.status_code in (302, 401), url
        if resp.status_code == 302:
            assert resp.headers["Location"].startswith("/login"), url
    for role in ROLES:
        client = app.test_client()
        login(client, role)
        for url, allowed in spec:
            status = client.get(url).status_code
            if role in allowed:
                assert status == 200, (role, url, status)
            else:
                assert status in (403, 404), (role, url, status)
    # Every GET page of the app is in the table (a new page must be added here with its roles).
    rules = {r.rule for r in app.url_map.iter_rules() if "GET" in r.methods}
    uncovered = {r for r in rules if not any(_matches(r, u) for u in tested)}
    assert uncovered <= {"/", "/login", "/healthz", "/static/<path:filename>", "/admin/", "/manuals/<slug>/asof",
                         "/notices/<int:notice_id>/open", "/admin/staff-import/<token>", "/admin/roster/<token>",
                         "/account/setup/<token>", "/admin/rounds/<int:round_id>/correct/<token>",
                         "/accessibility", "/favicon.ico"}, uncovered


def _matches(rule: str, url: str) -> bool:
    pattern = re.sub(r"<(?:[^:>]+:)?[^>]+>", "[^/]+", rule.replace(".", r"\."))
    return re.fullmatch(pattern, url) is not None


def post_urls(w: dict) -> list[str]:
    d, p, n, h, m = w["draft"], w["private"], w["notice"], w["handover"], w["manual"]
    uid, unit_id = user("aoba.tanto").id, user("aoba.tanto").unit_id
    return [
        "/logout", "/account/password", "/account/sessions/end", f"/admin/users/{uid}", f"/admin/users/{uid}/deactivate",
        f"/admin/users/{uid}/sessions", f"/admin/users/{uid}/link", "/admin/users/new", "/admin/roster",
        "/admin/roster/abc123/apply", "/admin/password-links", "/admin/directory/map", "/account/setup/abc",
        f"/admin/rounds/{w['round'].id}/cancel", f"/admin/rounds/{w['round'].id}/transfers/1/cancel",
        f"/admin/rounds/{w['round'].id}/correct", f"/admin/rounds/{w['round'].id}/correct/abc/apply",
        "/admin/units/new", f"/admin/units/{unit_id}", f"/admin/units/{unit_id}/deactivate", "/admin/staff-import",
        "/admin/staff-import/abc123/apply", f"/handovers/{h.id}", "/handovers/start",
        f"/inquiries/{p.id}/approve", f"/inquiries/{p.id}/amend", f"/inquiries/{p.id}/answer", "/inquiries/new",
        f"/manuals/{m.slug}/manage", f"/manuals/{m.slug}/revise", "/manuals/new", f"/notices/{n.id}/confirm",
        "/notices/delegates", "/notices/read-all", f"/notices/{n.id}/read", f"/notices/{n.id}/acknowledge",
        f"/notices/{n.id}/answers", f"/notices/{n.id}/withdraw", "/notices/campaigns/", "/admin/search/synonyms", "/admin/search/synonyms/1/delete", f"/revisions/{d.id}/approve", f"/revisions/{d.id}/comments",
        f"/revisions/{d.id}/comments/1", f"/revisions/{d.id}/consult", f"/revisions/{d.id}/edit",
        f"/revisions/{d.id}/submit", "/revisions/preview", f"/revisions/{d.id}/resolve",
        "/api/documents/word-import", f"/api/revisions/{d.id}/files", f"/api/revisions/{d.id}/files/delete",
        f"/api/revisions/{d.id}/files/word",
    ]


def test_csrf_on_every_post(app: Flask, world) -> None:
    covered = set()
    for role in ("admin", "hq.tanto", "aoba.kacho"):
        client = app.test_client()
        login(client, role)
        for url in post_urls(world):
            resp = client.post(url, data={"comment": "x", "body": "x", "subject": "x", "kind": "疑義照会"})
            assert resp.status_code == 400, (role, url, resp.status_code)
            text = resp.get_data(as_text=True)
            assert "CSRF" in text, (role, url)
            covered.add(url)
    db.session.expire_all()
    assert world["draft"].state == "draft" and world["private"].status == "open"
    assert user("aoba.tanto").active
    post_rules = {r.rule for r in app.url_map.iter_rules() if "POST" in r.methods}
    assert all(any(_matches(r, u) for u in covered) for r in post_rules - {"/login"}), post_rules
    # The login form too: without a token nobody is logged in.
    anonymous = app.test_client()
    resp = anonymous.post("/login", data={"login": "admin", "password": "tebiki-demo"})
    assert resp.status_code == 302 and anonymous.get("/dashboard").status_code == 302


def test_stored_xss_in_markdown_inquiries_rulings_and_names(app: Flask, world) -> None:
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    org.update_user(db.session, user("admin"), user("aoba.tanto"), login="aoba.tanto", name=f"田中{payload}",
                    unit=user("aoba.tanto").unit, position="担当", is_admin=False, email=None, employee_no="100004")
    inquiry = rulings.file_inquiry(db.session, user("aoba.tanto"), kind="疑義照会", subject=f"件名{payload}",
                                   body=f"本文{payload}", manual=world["manual"])
    rulings.save_answer(db.session, user("hq.tanto"), inquiry, answer=f"回答{payload}", basis=f"根拠{payload}",
                        tags=[f"タグ{payload}"], share_all=True, submit=True)
    rulings.approve(db.session, user("hq.kacho"), inquiry)
    revision = revise(world["manual"], "hq.tanto", "決定通知書を郵送する。", f"決定通知書を郵送する。{payload}")
    db.session.commit()
    client = app.test_client()
    login(client, "hq.tanto")
    for url in (f"/rulings/{inquiry.number}", "/rulings", "/inquiries?status=all", f"/revisions/{revision.id}",
                f"/revisions/{revision.id}/compare", "/search?q=回答", "/admin/audit", "/notices/",
                f"/manuals/{world['manual'].slug}"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, url
    login_admin = app.test_client()
    login(login_admin, "admin")
    for url in ("/admin/users?q=aoba.tanto", f"/admin/users/{user('aoba.tanto').id}"):
        html = login_admin.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "&lt;script&gt;" in html, url
    # In the JSON API the snippet is HTML (escaped, with <mark>); the title is plain text, never HTML.
    rows = client.get("/api/search?q=回答").json
    assert rows and not any("<script" in r["snippet"] or "<img" in r["snippet"] for r in rows)


def test_path_traversal(app: Flask, world, tmp_path) -> None:
    client = app.test_client()
    login(client, "admin")
    for url in ("/manuals/..%2F..%2Fetc%2Fpasswd", "/manuals/../../etc/passwd", "/manuals/%2e%2e/raw",
                "/manuals/test-manual/v/1/..%2F..%2Fraw", "/admin/staff-import/..%2F..%2Fetc%2Fpasswd",
                "/admin/staff-import/....", "/static/../app/config.py", "/rulings/..%2F..%2Fetc"):
        assert client.get(url).status_code in (400, 404), url
    with pytest.raises(Exception) as exc:
        drafting.create_manual(db.session, user("hq.tanto"), slug="../../etc/passwd", fields=drafting.DraftFields(
            title="x", targets=["保険年金課"], tags=[], effective=None, review_months=12, body="x", reason="x"))
    assert any("識別名" in d for d in exc.value.details)
    db.session.rollback()
    # An uploaded file name never becomes a path: it is stored under a random token.
    (tmp_path / "x.csv").write_text("職員番号,氏名,異動前所属,異動後所属,職,発令日\n", encoding="utf-8")
    with open(tmp_path / "x.csv", "rb") as f:
        resp = client.post("/admin/staff-import", data={"file": (f, "../../../../tmp/evil.csv"),
                                                        "csrf_token": csrf_token(client, "/dashboard")},
                           content_type="multipart/form-data")
    assert resp.status_code == 302 and "/admin/staff-import/" in resp.headers["Location"]
    assert not (tmp_path.parent / "evil.csv").exists()


def test_oversize_request_is_refused_in_japanese(app: Flask, world) -> None:
    client = app.test_client()
    login(client, "hq.tanto")
    big = "あ" * (app.config["MAX_CONTENT_LENGTH"] // 2)
    resp = client.post("/revisions/preview", data={"body": big, "csrf_token": csrf_token(client, "/dashboard")})
    assert resp.status_code == 413
    assert "大きすぎます" in resp.get_data(as_text=True)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil.example", "\\\\evil"])
def test_open_redirect(app: Flask, target: str) -> None:
    client = app.test_client()
    token = csrf_token(client, "/login")
    resp = client.post(f"/login?next={target}", data={"login": "aoba.tanto", "password": "tebiki-demo",
                                                      "csrf_token": token})
    assert resp.headers["Location"] == "/dashboard"


def test_session_fixation(app: Flask) -> None:
    client = app.test_client()
    csrf_token(client, "/login")
    with client.session_transaction() as sess:
        sess["planted"] = "attacker"
        before = dict(sess)
    login(client, "aoba.tanto")
    with client.session_transaction() as sess:
        assert "planted" not in sess  # nothing from before the login survives
        assert sess.get("_user_id") and sess.get("csrf_token") != before.get("csrf_token")
