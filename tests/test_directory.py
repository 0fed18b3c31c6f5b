"""Issue 16: sign-in and sync against a real OpenLDAP server (slapd on loopback, LDAPS and StartTLS
with a test CA, a few hundred people in the city's units). No mocks."""

from __future__ import annotations

import pytest
from flask import Flask

from app.directory import services as directory_services
from app.directory.ldap import Directory, DirectoryError
from app.directory.models import DirectoryDepartment
from app.errors import ValidationError
from app.extensions import db
from app.handover.models import Handover, StaffTransfer
from app.org import login as login_service
from app.org import services as org
from app.org.models import LoginSession, Unit, User
from tests.conftest import login, post
from tests.slapd import PASSWORD, Person, city_people

pytestmark = pytest.mark.usefixtures("directory")


def account(login_id: str) -> User | None:
    return db.session.query(User).filter_by(login=login_id).one_or_none()


def person(uid: str) -> Person:
    return next(p for p in city_people(300) if p.uid == uid)


def sync(**kw):  # type: ignore[no-untyped-def]
    report = directory_services.sync(db.session, None, **kw)
    db.session.commit()
    return report


def test_sign_in_with_the_directory_password_creates_the_account_from_the_directory(client) -> None:
    assert account("p00013") is None
    resp = login(client, "p00013", PASSWORD)
    assert resp.status_code == 302 and resp.headers["Location"] == "/dashboard"
    user = account("p00013")
    assert user is not None and not user.local_login and user.password_hash == "!"
    assert (user.unit.name, user.name, user.employee_no, user.email) == (
        person("p00013").department, person("p00013").name, "500013", "p00013@city.example.lg.jp")
    assert client.get("/dashboard").status_code == 200
    # A 係長-level title maps to 係長, a 主事 to 担当.
    login(client.application.test_client(), "sato.dir", PASSWORD)
    assert account("sato.dir").position == "係長"


def test_wrong_password_and_unknown_person_are_refused_alike(app: Flask, client) -> None:
    wrong = login(client, "p00014", "not-the-password")
    missing = login(app.test_client(), "no.such.person", PASSWORD)
    assert wrong.status_code == missing.status_code == 401
    assert login_service.refused_message() in wrong.get_data(as_text=True)
    assert login_service.refused_message() in missing.get_data(as_text=True)
    assert account("p00014") is None and account("no.such.person") is None
    assert login(client, "p00014", "").status_code == 400  # an empty password never reaches the directory


def test_starttls_works_and_an_untrusted_certificate_is_refused(app: Flask, directory) -> None:
    app.config.update(directory.settings(ldaps=False))  # ldap:// → StartTLS before any bind
    assert login(app.test_client(), "p00015", PASSWORD).status_code == 302
    for ldaps in (True, False):
        app.config.update(directory.settings(ldaps=ldaps, LDAP_CA_FILE=str(directory.certs["other_ca"])))
        resp = login(app.test_client(), "p00015", PASSWORD)
        assert resp.status_code == 503
        assert "安全に接続できません" in resp.get_data(as_text=True)
    # The local break-glass administrator still signs in while the directory cannot be used.
    assert login(app.test_client(), "admin", "tebiki-demo").status_code == 302


def test_only_accounts_marked_local_use_a_local_password(app: Flask, client) -> None:
    unit = org.find_unit(db.session, "青葉区 保険年金課")
    org.create_user(db.session, None, login="p00016", name="旧 アカウント", unit=unit, position="担当",
                    password="local-password-1")
    db.session.commit()
    assert login(client, "p00016", "local-password-1").status_code == 401  # not local: the directory decides
    assert login(client, "p00016", PASSWORD).status_code == 302
    assert account("p00016").name != "旧 アカウント"  # and the name follows the directory
    assert login(app.test_client(), "admin", "tebiki-demo").status_code == 302  # marked local


def test_name_and_mail_follow_the_directory_at_each_sign_in(app: Flask, directory) -> None:
    login(app.test_client(), "p00017", PASSWORD)
    directory.modify("p00017", cn="新姓 花子", mail="hanako@city.example.lg.jp")
    login(app.test_client(), "p00017", PASSWORD)
    user = account("p00017")
    assert (user.name, user.email) == ("新姓 花子", "hanako@city.example.lg.jp")


def test_a_department_change_at_sign_in_opens_the_handover_and_moves(app: Flask, directory) -> None:
    login(app.test_client(), "p00018", PASSWORD)
    before = account("p00018").unit
    directory.modify("p00018", departmentNumber="泉区 保険年金課", title="係長")
    assert login(app.test_client(), "p00018", PASSWORD).status_code == 302
    user = account("p00018")
    assert (user.unit.name, user.position) == ("泉区 保険年金課", "係長")
    handover = db.session.query(Handover).filter_by(user_id=user.id).one()
    assert handover.unit_id == before.id and handover.round_id is not None  # the post being left
    transfer = db.session.query(StaffTransfer).filter_by(user_id=user.id).one()
    assert transfer.from_unit_id == before.id and transfer.moved_at is not None


def test_sync_creates_updates_moves_reports_and_deactivates(app: Flask, directory) -> None:
    report = sync()
    assert report.seen >= 300 and len(report.created) >= 300
    assert report.unmapped == {"青葉区 区民生活課": 1, "健康福祉局保険年金課(本庁)": 1}
    assert account("unmapped.one") is None and account("alias.one") is None
    assert account("admin").local_login and account("admin").active  # never touched
    # The mapping page lists the unmapped departments; mapping one makes the next sync create the person.
    admin = app.test_client()
    login(admin, "admin", "tebiki-demo")
    page = admin.get("/admin/directory?unmapped=1").get_data(as_text=True)
    assert "青葉区 区民生活課" in page and "健康福祉局保険年金課(本庁)" in page and "対応付けなし" in page
    dept = db.session.query(DirectoryDepartment).filter_by(value="健康福祉局保険年金課(本庁)").one()
    hq = org.find_unit(db.session, "健康福祉局 保険年金課")
    assert post(admin, "/admin/directory/map", {"department_id": dept.id, "unit_id": hq.id}).status_code == 302
    # A signed-in person is disabled in the directory, another changes department.
    victim = app.test_client()
    assert login(victim, "p00021", PASSWORD).status_code == 302
    directory.modify("p00021", employeeType="disabled")
    assert login(app.test_client(), "p00021", PASSWORD).status_code == 401  # refused at once
    old_unit = account("p00022").unit
    directory.modify("p00022", departmentNumber="若林区 税務課")
    report = sync()
    assert account("alias.one").unit.name == "健康福祉局 保険年金課"
    assert report.unmapped == {"青葉区 区民生活課": 1}
    assert report.deactivated == ["p00021"] and not account("p00021").active
    assert account("p00021").deactivated_by_sync
    assert victim.get("/dashboard").status_code == 302  # their session ended
    assert db.session.query(LoginSession).filter_by(user_id=account("p00021").id, ended_at=None).count() == 0
    assert "p00022" in report.moved and account("p00022").unit.name == "若林区 税務課"
    moved = db.session.query(Handover).filter_by(user_id=account("p00022").id).one()
    assert moved.unit_id == old_unit.id
    leaving = db.session.query(StaffTransfer).filter_by(user_id=account("p00021").id).one()
    assert leaving.to_unit_id is None  # the 退職 path
    # Back in the directory: the next sync reactivates the account.
    directory.modify("p00021", employeeType=None)
    report = sync()
    assert report.reactivated == ["p00021"] and account("p00021").active
    # Nothing changed: a second sync reports no work.
    report = sync()
    assert (report.created, report.moved, report.deactivated, report.updated) == ([], [], [], [])


def test_dry_run_changes_nothing_and_mass_deactivation_is_refused(app: Flask, directory) -> None:
    report = directory_services.sync(db.session, None, dry_run=True)
    db.session.rollback()
    assert len(report.created) >= 300 and db.session.query(User).count() == 1
    result = app.test_cli_runner().invoke(args=["directory", "sync", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "対応付けできない所属: 青葉区 区民生活課（1人）" in result.output and "何も変更していません" in result.output
    assert db.session.query(User).count() == 1
    sync()
    # A wrong base DN finds nobody: every account would go — refused, nothing changed.
    app.config["LDAP_BASE_DN"] = "ou=nobody,dc=city,dc=example,dc=jp"
    with pytest.raises((ValidationError, DirectoryError)):
        directory_services.sync(db.session, None)
    db.session.rollback()
    assert db.session.query(User).filter_by(active=True).count() > 300


def test_directory_unit_from_a_group_dn_and_paged_search(app: Flask, directory) -> None:
    directory.add(Person(uid="ad.style", name="山本 恵", employee_no="600010",
                         department="cn=宮城野区 保護課,ou=groups,dc=city,dc=example,dc=jp", title="主任"))
    entries = list(Directory.from_app().people(page_size=50))  # several pages
    assert len({e.login for e in entries}) == len(entries) >= 300
    login(app.test_client(), "ad.style", PASSWORD)
    assert account("ad.style").unit.name == "宮城野区 保護課"
    assert db.session.query(Unit).filter_by(name="宮城野区 保護課").count() == 1
    directory.delete("ad.style")


def test_fixed_term_and_duty_tags_follow_the_directory_when_mapped(app: Flask, directory) -> None:
    settings = directory.settings()
    app.config["LDAP_ATTRS"] = settings["LDAP_ATTRS"] + ",fixed_term=employeeType,duties=businessCategory"
    directory.modify("p00030", employeeType="会計年度任用職員", businessCategory="窓口、審査")
    assert login(app.test_client(), "p00030", PASSWORD).status_code == 302
    user = account("p00030")
    assert (user.is_fixed_term, user.duty_tags) == (True, ["審査", "窓口"])
    directory.modify("p00030", employeeType=None, businessCategory=None)
    sync()
    user = account("p00030")
    assert (user.is_fixed_term, user.duty_tags) == (False, [])
