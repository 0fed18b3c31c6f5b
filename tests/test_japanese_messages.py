"""Every form posted with invalid values, and every error page, answers in Japanese only."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from app.extensions import db
from app.forms import JAPANESE, MESSAGES, TebikiForm
from app.revisions import consultation
from app.rulings import services as rulings
from tests.conftest import csrf_token, login, post
from tests.helpers import make_manual, revise, user

pytestmark = pytest.mark.usefixtures("demo_users")

# Three English words in a row (a sentence), or any WTForms / Werkzeug phrase.
ENGLISH = re.compile(r"\b[A-Za-z]{2,}(?:[ ,.']+[A-Za-z]{2,}){2,}\b|Not a valid|This field|Invalid|Field must|cannot be")
LONG = "あ" * 10_001


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", html)


def assert_japanese(resp, *, expect: str | None = None) -> str:
    text = visible_text(resp.get_data(as_text=True))
    found = ENGLISH.findall(text)
    assert not found, f"English in the response: {found}"
    if expect:
        assert expect in text, text[:2000]
    return text


def switch(client: FlaskClient, login_id: str) -> None:
    post(client, "/logout")
    login(client, login_id)


def submit(client: FlaskClient, url: str, data: dict, **kw):
    return post(client, url, data, follow_redirects=True, **kw)


@pytest.fixture
def manual():
    return make_manual()


def test_every_form_is_a_tebiki_form() -> None:
    """A new form class must take the base (else WTForms' English messages come back)."""
    out = subprocess.run(["grep", "-rn", "FlaskForm)", "app"], capture_output=True, text=True).stdout
    others = [line for line in out.splitlines() if not line.startswith("app/forms.py:")]
    assert others == []
    assert TebikiForm.Meta.get_translations(None, None) is JAPANESE


def test_catalogue_covers_every_wtforms_message() -> None:
    import flask_wtf
    import wtforms

    ids: set[str] = set()
    for pkg in (wtforms, flask_wtf):
        for path in Path(pkg.__file__).parent.rglob("*.py"):
            for call in re.finditer(r"n?gettext\(\s*((?:\"[^\"]*\"\s*,?\s*)+)", path.read_text()):
                ids.update(re.findall(r'"([^"]*)"', call.group(1)))
    assert ENGLISH.search("Field cannot be longer than 200 characters.")  # the check can fail
    missing = sorted(i for i in ids if i not in MESSAGES)
    assert not missing, missing
    for text in MESSAGES.values():
        assert not ENGLISH.search(text), text
    assert JAPANESE.gettext("A message WTForms may add one day.") == "入力内容が正しくありません。"
    assert JAPANESE.gettext("Csrf Token") == "Csrf Token"  # a default label is not a message


def test_admin_forms(client: FlaskClient) -> None:
    login(client, "admin")
    assert_japanese(submit(client, "/admin/users/new", {
        "login": "x" * 65, "name": "", "email": "not-mail", "unit_id": "abc", "position": "王様",
        "duties": "あ" * 301, "password": "short"}), expect="64文字以内で入力してください")
    text = assert_japanese(submit(client, "/admin/users/new", {
        "login": "newcomer", "name": "新人", "unit_id": "abc", "position": "主事"}))
    assert "一覧から選択してください" in text
    assert_japanese(submit(client, "/admin/units/new", {"kind": "moon", "group_name": "あ" * 51, "section": ""}),
                    expect="50文字以内で入力してください")
    assert_japanese(submit(client, "/account/password", {"current": "", "password": "x", "confirm": "y"}))


def test_login_and_error_pages(client: FlaskClient) -> None:
    assert_japanese(client.post("/login", data={"login": "", "password": ""}, follow_redirects=True))
    token = csrf_token(client, "/login")
    assert_japanese(client.post("/login", data={"login": "", "password": "", "csrf_token": token}),
                    expect="ログインIDを入力してください")
    login(client, "aoba.tanto")
    for resp in (client.get("/no-such-page"), client.put("/dashboard"), client.get("/revisions/999999999999"),
                 client.get("/admin/users"), client.post("/inquiries/new", data={}),
                 client.get("/manuals/%ff%fe"), client.get("/search?q=" + "あ" * 5000)):
        assert resp.status_code in (200, 400, 403, 404, 405), resp.status_code
        assert_japanese(resp)


def test_inquiry_and_answer_forms(client: FlaskClient, manual) -> None:
    login(client, "aoba.tanto")
    text = assert_japanese(submit(client, "/inquiries/new", {
        "manual": "test-manual", "kind": "謎", "subject": "件" * 201, "body": LONG, "urgency": "?",
        "owner_unit": "abc"}))
    assert "200文字以内で入力してください（現在 201 文字）" in text
    inquiry = rulings.file_inquiry(db.session, user("aoba.tanto"), kind="疑義照会", subject="委任状",
                                   body="日付がない。", manual=manual, anchor="3-審査")
    db.session.commit()
    switch(client, "hq.tanto")
    assert_japanese(submit(client, f"/inquiries/{inquiry.id}/answer", {
        "answer": LONG, "basis": "根" * 2001, "tags": "t" * 301, "notice_sections": ["無い課"]}),
        expect="10000文字以内で入力してください")
    switch(client, "hq.kacho")
    assert_japanese(submit(client, f"/inquiries/{inquiry.id}/return", {"comment": "c" * 2001}),
                    expect="2000文字以内で入力してください")


def test_revision_forms(client: FlaskClient, manual) -> None:
    login(client, "hq.tanto")
    text = assert_japanese(submit(client, "/manuals/new", {
        "slug": "", "title": "題" * 201, "effective": "2024-13-45", "review_months": "abc", "body": "# x"}))
    assert "日付を正しく入力してください" in text and "半角の整数で入力してください" in text
    assert_japanese(submit(client, "/manuals/new", {"slug": "a", "title": "t", "review_months": "500"}),
                    expect="見直し周期は1〜120か月です")
    revision = revise(manual, "hq.tanto", "14日以内", "10日以内")
    assert_japanese(submit(client, f"/revisions/{revision.id}/edit", {
        "title": "", "effective": "令和", "review_months": "1.5", "tags": "t" * 501, "head": revision.head_commit}),
        expect="マニュアル名を入力してください")
    assert_japanese(submit(client, f"/revisions/{revision.id}/consult", {"deadline": "あした"}))
    switch(client, "hq.kakaricho")
    assert_japanese(submit(client, f"/revisions/{revision.id}/return", {"comment": "c" * 2001}),
                    expect="2000文字以内で入力してください")


def test_consultation_comment_forms(client: FlaskClient, manual) -> None:
    from datetime import timedelta

    from app.wareki import today_jst

    revision = revise(manual, "hq.tanto", "14日以内", "10日以内")
    consultation.start_consultation(db.session, user("hq.tanto"), revision, today_jst() + timedelta(days=7))
    db.session.commit()
    login(client, "aoba.tanto")
    assert_japanese(submit(client, f"/revisions/{revision.id}/comments", {"anchor": "nowhere", "body": LONG}))
    switch(client, "hq.tanto")
    assert_japanese(submit(client, f"/revisions/{revision.id}/comments/1", {"disposition": "maybe",
                                                                             "reason": "r" * 2001}))


def test_upload_forms(client: FlaskClient) -> None:
    login(client, "admin")
    for url in ("/admin/staff-import", "/admin/roster"):
        resp = submit(client, url, {})
        assert_japanese(resp)
