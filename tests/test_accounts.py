from __future__ import annotations

import pytest
from flask import Flask

from app import audit
from app.errors import PermissionDenied, ValidationError
from app.extensions import db
from app.org import login as login_service
from app.org import services as org
from app.org.models import User
from app.web import NAV
from tests.conftest import csrf_token, login, post


def user(login_id: str) -> User:
    return db.session.query(User).filter_by(login=login_id).one()


@pytest.mark.usefixtures("demo_users")
class TestLogin:
    def test_login_lands_on_dashboard_and_logout(self, client) -> None:
        resp = login(client, "aoba.tanto")
        assert resp.status_code == 302
        assert resp.headers["Location"] == "/dashboard"
        page = client.get("/dashboard").get_data(as_text=True)
        assert "田中 陽子" in page and "青葉区 保険年金課" in page
        resp = post(client, "/logout")
        assert resp.status_code == 302
        assert client.get("/dashboard").status_code == 302  # back to the login page

    def test_wrong_password_japanese_error_and_audit(self, client) -> None:
        resp = login(client, "aoba.tanto", "wrong-password")
        assert resp.status_code == 401
        assert "ログインできませんでした。ログインIDとパスワードをご確認ください。" in resp.get_data(as_text=True)
        assert db.session.query(audit.AuditEntry).filter_by(action="auth.login_failed").count() == 1

    def test_unknown_login_same_message(self, client) -> None:
        wrong = login(client, "aoba.tanto", "whatever1").get_data(as_text=True)
        missing = login(client, "no.such.user", "whatever1")
        assert missing.status_code == 401
        assert login_service.refused_message() in missing.get_data(as_text=True) and login_service.refused_message() in wrong

    def test_admin_clears_throttling(self, app: Flask) -> None:
        u = user("hq.tanto")
        for _ in range(app.config["LOGIN_MAX_FAILURES"] + 1):
            with pytest.raises(ValidationError):
                login_service.authenticate(db.session, "hq.tanto", "nope-nope", address="10.0.0.9", device_id="d" * 32)
        assert org.is_throttled(db.session, u)
        with pytest.raises(ValidationError):  # the right password waits too, from that client
            login_service.authenticate(db.session, "hq.tanto", "tebiki-demo", address="10.0.0.9", device_id="d" * 32)
        org.unlock_user(db.session, user("admin"), u)
        assert not org.is_throttled(db.session, u)
        assert login_service.authenticate(db.session, "hq.tanto", "tebiki-demo", address="10.0.0.9", device_id="d" * 32) is u

    def test_inactive_user_cannot_log_in_and_session_ends(self, client) -> None:
        assert login(client, "aoba.tanto").status_code == 302
        org.set_user_active(db.session, user("admin"), user("aoba.tanto"), False)
        db.session.commit()
        assert client.get("/dashboard").status_code == 302  # the old session is gone
        resp = login(client, "aoba.tanto")
        assert resp.status_code == 401

    @pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "http:/x",
                                        "javascript:alert(1)"])
    def test_open_redirect_refused(self, client, target: str) -> None:
        token = csrf_token(client, "/login")
        resp = client.post(f"/login?next={target}",
                           data={"login": "aoba.tanto", "password": "tebiki-demo", "csrf_token": token})
        assert resp.status_code == 302
        assert resp.headers["Location"] == "/dashboard"

    def test_safe_next_followed(self, client) -> None:
        token = csrf_token(client, "/login")
        resp = client.post("/login?next=/admin/users",
                           data={"login": "admin", "password": "tebiki-demo", "csrf_token": token})
        assert resp.headers["Location"] == "/admin/users"

    def test_post_without_csrf_refused(self, client) -> None:
        resp = client.post("/login", data={"login": "aoba.tanto", "password": "tebiki-demo"})
        assert resp.status_code == 302 and resp.headers["Location"] == "/login"
        assert client.get("/dashboard").status_code == 302  # not logged in
        login(client, "admin")
        resp = client.post("/admin/users/new", data={"login": "x.y", "name": "x", "position": "担当"})
        assert resp.status_code == 400
        assert "CSRF" in resp.get_data(as_text=True)
        assert db.session.query(User).filter_by(login="x.y").count() == 0

    def test_session_cookie_flags(self, client) -> None:
        resp = login(client, "aoba.tanto")
        cookie = resp.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie

    def test_own_password_change_keeps_session_and_ends_others(self, app: Flask, client) -> None:
        other = app.test_client()
        login(other, "aoba.tanto")
        login(client, "aoba.tanto")
        resp = post(client, "/account/password",
                    {"current": "tebiki-demo", "password": "new-password-1", "confirm": "new-password-1"})
        assert resp.status_code == 302
        assert client.get("/dashboard").status_code == 200
        assert other.get("/dashboard").status_code == 302
        assert login(other, "aoba.tanto", "new-password-1").status_code == 302
        resp = post(client, "/account/password", {"current": "wrong", "password": "abcdefgh1", "confirm": "abcdefgh1"})
        assert "現在のパスワードが正しくありません" in resp.get_data(as_text=True)


def nav_labels(client) -> list[str]:
    import re

    html = client.get("/dashboard").get_data(as_text=True)
    nav = html.split('class="site-nav"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r">([^<>]+)</a>", nav)


@pytest.mark.usefixtures("demo_users")
def test_navigation_per_role(client) -> None:
    login(client, "aoba.tanto")
    assert "管理" not in nav_labels(client)
    post(client, "/logout")
    login(client, "admin")
    assert "管理" in nav_labels(client)
    assert all(item.label for item in NAV)


@pytest.mark.usefixtures("demo_users")
@pytest.mark.parametrize("login_id", ["hq.tanto", "hq.kakaricho", "hq.kacho", "aoba.tanto", "aoba.kacho"])
def test_admin_pages_forbidden_for_non_admins(client, login_id: str) -> None:
    login(client, login_id)
    for url in ("/admin/users", "/admin/users/new", "/admin/units", "/admin/audit", "/admin/units/new"):
        resp = client.get(url)
        assert resp.status_code == 403, url
        assert "システム管理者" in resp.get_data(as_text=True)
    resp = post(client, "/admin/users/1/deactivate")
    assert resp.status_code == 403


@pytest.mark.usefixtures("demo_users")
def test_dashboard_per_role_has_empty_states(client) -> None:
    login(client, "hq.kakaricho")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "決裁待ち" in page and "ここに表示されます" in page
    post(client, "/logout")
    login(client, "aoba.tanto")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "未読の改正通知" in page and "決裁待ち" not in page
    post(client, "/logout")
    login(client, "aoba.kacho")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "事務引継書の確認" in page and "周知確認待ち" in page
    post(client, "/logout")
    login(client, "admin")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "組織・職員" in page and "監査ログへ" in page


@pytest.mark.usefixtures("demo_users")
class TestAdminServices:
    def test_only_admin_creates_users(self) -> None:
        unit = org.find_unit(db.session, "青葉区 保険年金課")
        with pytest.raises(PermissionDenied):
            org.create_user(db.session, user("aoba.kacho"), login="new.one", name="新 職員", unit=unit,
                            position="担当", password="password1")
        new = org.create_user(db.session, user("admin"), login="new.one", name="新 職員", unit=unit,
                              position="担当", password="password1")
        assert new.id and db.session.query(audit.AuditEntry).filter_by(action="user.create",
                                                                        object_id=str(new.id)).count() == 1

    def test_create_user_lists_every_problem(self) -> None:
        unit = org.find_unit(db.session, "青葉区 保険年金課")
        with pytest.raises(ValidationError) as exc:
            org.create_user(db.session, user("admin"), login="aoba.tanto", name=" ", unit=unit,
                            position="部長", password="short")
        details = exc.value.details
        assert any("既に使われています" in d for d in details)
        assert any("氏名" in d for d in details)
        assert any("職は" in d for d in details)
        assert any("8文字以上" in d for d in details)

    def test_admin_cannot_deactivate_self(self) -> None:
        admin = user("admin")
        with pytest.raises(PermissionDenied, match="自分自身"):
            org.set_user_active(db.session, admin, admin, False)

    def test_unit_with_active_users_cannot_be_deactivated(self) -> None:
        unit = org.find_unit(db.session, "青葉区 保険年金課")
        with pytest.raises(ValidationError, match="有効な職員"):
            org.set_unit_active(db.session, user("admin"), unit, False)
        empty = org.create_unit(db.session, user("admin"), kind="hq", group_name="総務局", section="人事課")
        org.set_unit_active(db.session, user("admin"), empty, False)
        assert not empty.active

    def test_audit_log_is_append_only(self) -> None:
        entry = audit.record(db.session, user("admin"), "user.update", "user", 1)
        db.session.commit()
        entry.action = "tampered"
        with pytest.raises(Exception, match="監査ログは変更・削除できません"):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.get(audit.AuditEntry, entry.id))
        with pytest.raises(Exception, match="監査ログは変更・削除できません"):
            db.session.flush()
        db.session.rollback()


@pytest.mark.usefixtures("demo_users")
class TestAdminPages:
    def test_create_edit_deactivate_user(self, client) -> None:
        login(client, "admin")
        unit = org.find_unit(db.session, "泉区 保険年金課")
        resp = post(client, "/admin/users/new", {"login": "izumi.new", "name": "泉 新人", "unit_id": unit.id,
                                                 "position": "担当", "password": "first-pass1"})
        assert resp.status_code == 302
        new = user("izumi.new")
        resp = post(client, f"/admin/users/{new.id}", {"login": "izumi.new", "name": "泉 新人", "unit_id": unit.id,
                                                       "position": "係長", "email": "bad-mail"})
        assert "メールアドレスの形式が正しくありません" in resp.get_data(as_text=True)
        resp = post(client, f"/admin/users/{new.id}", {"login": "izumi.new", "name": "泉 新人", "unit_id": unit.id,
                                                       "position": "係長"})
        assert resp.status_code == 302
        db.session.expire_all()
        assert user("izumi.new").position == "係長"
        resp = post(client, f"/admin/users/{new.id}/deactivate")
        assert resp.status_code == 302
        db.session.expire_all()
        assert user("izumi.new").active is False
        assert "条件に合う職員はいません" in client.get("/admin/users?q=izumi.new").get_data(as_text=True)
        page = client.get("/admin/users?q=izumi.new&inactive=1").get_data(as_text=True)
        assert "無効" in page and "泉 新人" in page

    def test_duplicate_login_shows_error_and_keeps_input(self, client) -> None:
        login(client, "admin")
        unit = org.find_unit(db.session, "泉区 保険年金課")
        resp = post(client, "/admin/users/new", {"login": "aoba.tanto", "name": "入力した氏名", "unit_id": unit.id,
                                                 "position": "担当", "password": "first-pass1"})
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200
        assert "ログインID「aoba.tanto」は既に使われています。" in html
        assert 'value="入力した氏名"' in html

    def test_user_list_filters_sorts_and_paginates(self, client) -> None:
        login(client, "admin")
        page1 = client.get("/admin/users").get_data(as_text=True)
        assert "全 225 件" in page1 and "次へ" in page1
        page = client.get("/admin/users?q=田中").get_data(as_text=True)
        assert "田中 陽子" in page and "全 1 件" in page
        page = client.get("/admin/users?kind=hq&sort=login").get_data(as_text=True)
        assert "青葉区" not in page.split("<tbody>")[1]

    def test_units_page_and_add_unit(self, client) -> None:
        login(client, "admin")
        page = client.get("/admin/units").get_data(as_text=True)
        assert "秋保総合支所" in page and "コンプライアンス推進担当" in page
        resp = post(client, "/admin/units/new", {"kind": "hq", "group_name": "総務局", "section": "人事課"})
        assert resp.status_code == 302
        resp = post(client, "/admin/units/new", {"kind": "hq", "group_name": "総務局", "section": "人事課"})
        assert "既に登録されています" in resp.get_data(as_text=True)

    def test_audit_page_lists_and_filters(self, client) -> None:
        login(client, "admin")
        login_fail = client.application.test_client()
        login(login_fail, "aoba.tanto", "bad-password")
        page = client.get("/admin/audit").get_data(as_text=True)
        assert "ログイン失敗" in page and "ログイン" in page
        page = client.get("/admin/audit?action=auth.login_failed").get_data(as_text=True)
        assert "aoba.tanto" in page
        page = client.get("/admin/audit?since=bad-date").get_data(as_text=True)
        assert "日付「bad-date」は正しくありません" in page


def test_error_pages_are_japanese(client) -> None:
    resp = client.get("/no-such-page")
    assert resp.status_code == 404
    assert "ページが見つかりません" in resp.get_data(as_text=True)


def test_security_headers(client) -> None:
    resp = client.get("/login")
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Frame-Options"] == "DENY"
