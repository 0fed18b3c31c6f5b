"""Issue 17 (accounts part): duty tags and 会計年度任用職員 on an account, edited by the admin and the roster
import (and the directory), and the query the notice targeting uses."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.directory import roster
from app.errors import ValidationError
from app.extensions import db
from app.org import services as org
from app.org.models import User
from app.org.targeting import Audience, duty_tag_choices, member_ids, members
from tests.conftest import login, post
from tests.helpers import user

pytestmark = pytest.mark.usefixtures("demo_users")


@pytest.fixture
def aoba() -> list[int]:
    unit = org.find_unit(db.session, "青葉区 保険年金課")
    tanto, kacho = user("aoba.tanto"), user("aoba.kacho")
    chief = db.session.scalar(select(User).where(User.unit_id == unit.id, User.position == "係長"))
    tanto.set_duties(["窓口"])
    tanto.is_fixed_term = True
    chief.set_duties(["審査", "窓口"])
    kacho.set_duties(["審査"])
    db.session.commit()
    return [unit.id]


def logins(users: list[User]) -> set[str]:
    return {u.login for u in users}


def test_members_by_position_duty_and_fixed_term(aoba: list[int]) -> None:
    everyone = members(db.session, aoba)
    chief = next(u for u in everyone if u.position == "係長").login
    assert logins(everyone) == {"aoba.tanto", "aoba.kacho", chief}
    assert logins(members(db.session, aoba, Audience(min_position="係長"))) == {"aoba.kacho", chief}
    assert logins(members(db.session, aoba, Audience(min_position="課長"))) == {"aoba.kacho"}
    assert logins(members(db.session, aoba, Audience(duty_tags=("窓口",)))) == {"aoba.tanto", chief}
    assert logins(members(db.session, aoba, Audience(duty_tags=("窓口", "審査")))) == logins(everyone)
    assert logins(members(db.session, aoba, Audience(fixed_term="exclude"))) == {"aoba.kacho", chief}
    assert logins(members(db.session, aoba, Audience(fixed_term="only"))) == {"aoba.tanto"}
    assert logins(members(db.session, aoba, Audience(min_position="係長", duty_tags=("窓口",)))) == {chief}
    # The one-account rule agrees with the query, for every combination.
    for audience in (Audience(), Audience(min_position="係長", fixed_term="exclude"), Audience(duty_tags=("審査",)),
                     Audience(fixed_term="only", duty_tags=("窓口",))):
        assert {u.login for u in everyone if audience.matches(u)} == logins(members(db.session, aoba, audience))
    # Inactive accounts never receive anything.
    org.set_user_active(db.session, user("admin"), user("aoba.tanto"), False)
    assert "aoba.tanto" not in logins(members(db.session, aoba, Audience(fixed_term="only")))


def test_member_ids_embeds_as_a_subquery_over_many_units(aoba: list[int]) -> None:
    from app.org.models import Unit

    ward_hoken = select(Unit.id).where(Unit.section == "保険年金課", Unit.kind == "ward")
    n = db.session.scalar(select(func.count()).select_from(User).where(User.id.in_(member_ids(ward_hoken))))
    assert n == db.session.scalar(select(func.count(User.id)).join(User.unit).where(
        Unit.section == "保険年金課", Unit.kind == "ward", User.active.is_(True)))
    chiefs = db.session.scalar(select(func.count()).select_from(User).where(
        User.id.in_(member_ids(ward_hoken, Audience(min_position="係長")))))
    assert 0 < chiefs < n


def test_audience_label_round_trip_and_validation() -> None:
    assert Audience().label() == "所属の全員"
    a = Audience(min_position="係長", duty_tags=("窓口", "審査"), fixed_term="exclude")
    assert a.label() == "係長以上・担当業務「窓口」「審査」・会計年度任用職員を除く"
    assert Audience.from_dict(a.to_dict()) == Audience(min_position="係長", duty_tags=("審査", "窓口"),
                                                       fixed_term="exclude")
    assert Audience(fixed_term="only").label() == "会計年度任用職員のみ"
    with pytest.raises(ValidationError) as err:
        Audience(min_position="部長", fixed_term="sometimes")
    assert len(err.value.details) == 2


def test_admin_edits_duty_tags_and_fixed_term(app: Flask) -> None:
    admin = app.test_client()
    login(admin, "admin")
    target = user("izumi.hoken.tanto")
    form = admin.get(f"/admin/users/{target.id}").get_data(as_text=True)
    assert "担当業務" in form and "会計年度任用職員" in form
    data = {"login": target.login, "name": target.name, "employee_no": target.employee_no or "", "email": "",
            "unit_id": target.unit_id, "position": target.position, "duties": "窓口、審査 , 窓口", "is_fixed_term": "y"}
    resp = post(admin, f"/admin/users/{target.id}", data)
    assert resp.status_code == 302
    db.session.expire_all()
    assert (user("izumi.hoken.tanto").duty_tags, user("izumi.hoken.tanto").is_fixed_term) == (["審査", "窓口"], True)
    assert "審査、窓口" in admin.get(f"/admin/users/{target.id}").get_data(as_text=True)
    listing = admin.get(f"/admin/users?q={target.login}").get_data(as_text=True)
    assert "会計年度任用" in listing and "窓口" in listing
    assert duty_tag_choices(db.session) == ["審査", "窓口"]
    data.update(duties="", is_fixed_term="")
    del data["is_fixed_term"]
    post(admin, f"/admin/users/{target.id}", data)
    db.session.expire_all()
    assert (user("izumi.hoken.tanto").duty_tags, user("izumi.hoken.tanto").is_fixed_term) == ([], False)


def test_roster_sets_the_attributes_only_when_its_columns_are_there(tmp_path: Path) -> None:
    tanaka = user("aoba.tanto")
    path = tmp_path / "meibo.csv"
    path.write_bytes(("職員番号,氏名,所属,職,mail,ログインID,担当業務,会計年度任用職員\r\n"
                      f"{tanaka.employee_no},田中 陽子,青葉区 保険年金課,主事,,aoba.tanto,窓口・審査,○\r\n"
                      "700100,臨時 花子,青葉区 保険年金課,会計年度任用職員,,rinji.hanako,窓口,はい\r\n").encode("cp932"))
    preview = roster.validate(db.session, roster.read_file(path))
    assert preview.has_duties and preview.has_fixed_term
    roster.apply(db.session, user("admin"), roster.read_file(path))
    db.session.commit()
    assert user("aoba.tanto").is_fixed_term and user("aoba.tanto").duty_tags == ["審査", "窓口"]  # 「・」 separates
    assert user("rinji.hanako").duty_tags == ["窓口"]
    assert user("rinji.hanako").is_fixed_term and user("rinji.hanako").position == "担当"
    # A roster without those columns leaves them as they are.
    path.write_bytes(("職員番号,氏名,所属,職,mail,ログインID\r\n"
                      "700100,臨時 花子,青葉区 保険年金課,担当,,rinji.hanako\r\n").encode("cp932"))
    assert roster.validate(db.session, roster.read_file(path)).counts()["変更なし"] == 1
    roster.apply(db.session, user("admin"), roster.read_file(path))
    db.session.commit()
    assert user("rinji.hanako").duty_tags == ["窓口"] and user("rinji.hanako").is_fixed_term
