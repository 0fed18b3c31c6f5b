"""What an outside attack run found (issue 12), the parts not covered elsewhere: no information in
refusals (404 for what one may not see, whether it exists or not), the gap list only for the wards a
本庁 unit serves, redirects only to this site, and TLS switched on by one setting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask

from app import create_app
from app.extensions import db
from app.usage import services as usage
from app.usage.models import SearchLog
from app.wareki import now_utc
from tests.conftest import login, make_config, post
from tests.helpers import approve_step, make_manual, revise, submit, user

pytestmark = pytest.mark.usefixtures("demo_users")


def test_a_draft_one_may_not_see_is_a_404_like_a_missing_one(client) -> None:
    manual = make_manual()
    draft = revise(manual, "hq.tanto", "14日以内", "21日以内")
    submit(draft)
    approve_step(draft, "hq.kakaricho")
    login(client, "kaigo.hq.kacho")  # another 本庁 unit: not on the route, not consulted
    for path in (f"/revisions/{draft.id}", f"/revisions/{draft.id}/edit", f"/revisions/{draft.id}/compare"):
        assert client.get(path).status_code == 404
        assert client.get(path.replace(str(draft.id), "999999")).status_code == 404
    res = post(client, f"/revisions/{draft.id}/approve", {"comment": ""})
    page = res.get_data(as_text=True)
    assert res.status_code == 404
    assert "決裁中" not in page and "承認待ち" not in page and "決裁" not in page.split("<main")[-1]
    assert post(client, "/revisions/999999/approve", {"comment": ""}).status_code == 404


def test_an_inquiry_and_a_handover_one_may_not_see_are_404(client) -> None:
    from app.handover import handovers
    from app.rulings import services as rulings

    manual = make_manual()
    inquiry = rulings.file_inquiry(db.session, user("aoba.tanto"), kind="疑義照会", subject="件名", body="内容",
                                   manual=manual)
    handover = handovers.start(db.session, user("hq.tanto"), user("hq.tanto"))
    db.session.commit()
    login(client, "izumi.hoken.tanto")
    assert client.get(f"/inquiries/{inquiry.id}").status_code == 404
    assert client.get(f"/handovers/{handover.id}").status_code == 404


def test_the_gap_list_shows_a_unit_only_the_wards_its_manuals_serve() -> None:
    make_manual()  # 保険年金課's manual, for the wards' 保険年金課
    db.session.add_all([
        SearchLog(user_id=user("aoba.tanto").id, unit_id=user("aoba.tanto").unit_id, query="国保の質問", results=0),
        SearchLog(user_id=user("aoba.koseki.tanto").id, unit_id=user("aoba.koseki.tanto").unit_id, query="戸籍の質問",
                  results=0),
    ])
    db.session.commit()
    since = now_utc() - timedelta(days=1)
    owner = user("hq.kacho").unit_id
    assert [q for q, *_ in usage.gap_list(db.session, since, owner)] == ["国保の質問"]
    assert usage.gap_list(db.session, since, user("kaigo.hq.kacho").unit_id) == []  # no manual for those wards
    assert sorted(q for q, *_ in usage.gap_list(db.session, since, None)) == ["国保の質問", "戸籍の質問"]  # admin


@pytest.mark.parametrize("back", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"])
def test_a_forms_back_field_only_goes_to_this_site(client, back: str) -> None:
    login(client, "aoba.kacho")
    res = post(client, "/notices/delegates", {"user_id": user("aoba.hoken.kakaricho").id, "grant": "1", "back": back})
    assert res.status_code == 302 and res.headers["Location"] == "/notices/"


def test_tls_is_one_setting_secure_cookies_and_hsts(migrated: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS", "1")
    app = create_app(make_config(migrated, tmp_path))
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    res = app.test_client().get("/login", base_url="https://tebiki.example.lg.jp")
    assert res.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in res.headers.get("Set-Cookie", "")
    monkeypatch.delenv("HTTPS")
    plain = create_app(make_config(migrated, tmp_path / "plain"))
    assert "Strict-Transport-Security" not in plain.test_client().get("/login").headers


def test_crafted_numbers_and_dates_are_400_or_404_with_a_japanese_page(client, app: Flask) -> None:
    make_manual()
    login(client, "admin")
    for url in ("/manuals/test-manual/v/99999999999999999999", "/revisions/99999999999999999999",
                "/admin/users/99999999999999999999"):
        res = client.get(url)
        assert res.status_code == 404 and "見つかりません" in res.get_data(as_text=True), url
    res = client.get("/manuals/test-manual/asof?date=9999-12-31", follow_redirects=True)
    assert res.status_code == 200 and "日付「9999-12-31」は正しくありません" in res.get_data(as_text=True)
    res = client.get("/admin/audit?until=9999-12-31")
    assert res.status_code == 200 and "日付「9999-12-31」は正しくありません" in res.get_data(as_text=True)
    assert client.get("/manuals/?page=99999999999999999999999&endpoint=x&_method=y").status_code == 200
