"""The アクセシビリティ方針 page (public, linked from every page's footer) and the favicon."""

from __future__ import annotations

from flask import Flask

from app.extensions import db
from app.notices.models import Notice
from app.org.models import Unit, User
from tests.conftest import csrf_token, login
from tests.helpers import approve_all, make_manual, revise


def test_accessibility_policy_is_public_and_linked(app: Flask, demo_users) -> None:
    client = app.test_client()
    page = client.get("/accessibility")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for words in ("JIS X 8341-3:2016", "適合レベル AA に準拠することを目標とします", "対象範囲", "最終試験日",
                  "axe-core 4.", "Chromium", "キーボード", "令和8年12月1日"):
        assert words in text, words
    assert 'href="/accessibility"' in client.get("/login").get_data(as_text=True)
    login(client, "aoba.tanto")
    assert 'href="/accessibility">アクセシビリティ方針' in client.get("/dashboard").get_data(as_text=True)


def test_favicon(app: Flask) -> None:
    res = app.test_client().get("/favicon.ico")
    assert res.status_code == 200 and res.mimetype == "image/vnd.microsoft.icon"
    assert res.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert app.test_client().get("/static/favicon.svg").status_code == 200


def test_revision_banner_says_its_state(app: Flask, demo_users) -> None:
    manual = make_manual("kokuho-test")
    draft = revise(manual, "hq.tanto", "14日以内", "21日以内")
    db.session.commit()
    client = app.test_client()
    login(client, "hq.tanto")
    assert "これは公布前の改正案です" in client.get(f"/revisions/{draft.id}").get_data(as_text=True)
    approve_all(draft)
    page = client.get(f"/revisions/{draft.id}").get_data(as_text=True)
    assert "公布前" not in page
    assert "この改正案は決裁を経て公布されました" in page and "第2版</a> で確認できます" in page


def test_notice_says_when_everyone_has_read(app: Flask, demo_users) -> None:
    approve_all(revise(make_manual("kokuho-test"), "hq.tanto", "14日以内", "21日以内"))
    notice = db.session.query(Notice).join(Unit).filter(Unit.name == "青葉区 保険年金課").one()
    head = app.test_client()
    login(head, "aoba.kacho")
    page = head.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert "まだ開いていない職員が" in page and "全員がこの通知の内容を開きました" not in page
    staff = db.session.query(User.login).filter(User.unit_id == notice.unit_id, User.active.is_(True)).all()
    for (who,) in staff:
        reader = app.test_client()
        login(reader, who)
        url = f"/notices/{notice.id}/read"  # the reading page posts back once the content was shown
        resp = reader.post(url, data={"number": str(notice.number), "csrf_token": csrf_token(reader, url)},
                           headers={"Sec-Fetch-Site": "same-origin", "X-Requested-With": "fetch"})
        assert resp.get_json() == {"recorded": True}, who
    page = head.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert "対象の職員全員がこの通知の内容を開きました" in page and "まだ開いていない職員" not in page
