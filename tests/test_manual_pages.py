"""The reading and drafting pages through the test client (permissions, errors, stale edits)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.revisions import base, drafting, route
from app.wareki import today_jst
from tests.conftest import csrf_token, login, post
from tests.helpers import approve_all, make_manual, revise, user

pytestmark = pytest.mark.usefixtures("demo_users")


@pytest.fixture
def published():
    manual = make_manual()
    revision = revise(manual, "hq.tanto", "14日以内", "30日以内", reason="審査期間を改める。")
    approve_all(revision)
    return manual


def test_reader_pages(client, published) -> None:
    login(client, "aoba.tanto")
    page = client.get("/manuals/").get_data(as_text=True)
    assert "テスト事務の手引き" in page and "第2版" in page
    page = client.get("/manuals/test-manual").get_data(as_text=True)
    assert "これは現在施行中の版（第2版" in page
    assert 'id="3-審査"' in page and 'href="#3-審査"' in page  # anchors and table of contents
    assert "30日以内" in page and "<table>" in page
    assert "鈴木 美香" in page and "高橋 誠" in page and "決裁" in page  # the approval record
    assert "改正案を作成" not in page  # a ward user cannot draft
    old = client.get("/manuals/test-manual/v/1").get_data(as_text=True)
    assert "これは旧版（第1版）です。" in old and "14日以内" in old
    hist = client.get("/manuals/test-manual/history").get_data(as_text=True)
    assert "審査期間を改める。" in hist and "佐藤 健一" in hist and "審査: 鈴木 美香（係長）" in hist
    cmp_page = client.get("/manuals/test-manual/compare").get_data(as_text=True)
    assert "（傍線部分は改正部分）" in cmp_page and "改正後" in cmp_page and "改正前" in cmp_page
    assert '<u class="chg">30</u>' in cmp_page and '<u class="chg">14</u>' in cmp_page
    raw = client.get("/manuals/test-manual/v/1/raw")
    assert raw.mimetype == "text/markdown" and "14日以内" in raw.get_data(as_text=True)
    assert "attachment" in raw.headers["Content-Disposition"]
    resp = client.get("/manuals/test-manual/asof?date=2000-01-01")
    assert resp.status_code == 302  # not yet in force: back to the history with a message
    resp = client.get("/manuals/test-manual/asof?date=bad")
    assert resp.status_code == 302
    assert "日付「bad」は正しくありません" in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert client.get("/manuals/test-manual/v/9").status_code == 404
    assert client.get("/manuals/no-such").status_code == 404
    assert client.get("/manuals/../../etc/passwd").status_code == 404


def test_list_filters_sort_and_obsolete(client, published) -> None:
    make_manual("kaigo-manual", "介護の手引き", owner="健康福祉局 介護保険課", targets="[障害高齢課]")
    login(client, "aoba.tanto")
    page = client.get("/manuals/?target=障害高齢課").get_data(as_text=True)
    assert "介護の手引き" in page and "テスト事務の手引き" not in page
    page = client.get("/manuals/?q=介護").get_data(as_text=True)
    assert "全 1 件" in page
    page = client.get("/manuals/?sort=revised").get_data(as_text=True)
    assert page.index("介護の手引き") < page.index("テスト事務の手引き")  # newest revision first
    page = client.get("/manuals/?q=該当なし").get_data(as_text=True)
    assert "条件に合うマニュアルはありません" in page


def test_ward_user_cannot_draft_or_approve_over_http(client, published) -> None:
    revision = revise(published, "hq.tanto", "決定通知書", "決定通知書等")
    route.submit(db.session, user("hq.tanto"), revision)
    db.session.commit()
    login(client, "aoba.kacho")
    assert post(client, "/manuals/test-manual/revise").status_code == 403
    assert client.get("/manuals/new").status_code == 403
    # Not under consultation: a draft the ward may not see is a 404, like one that does not exist.
    assert client.get(f"/revisions/{revision.id}").status_code == 404
    assert client.get(f"/revisions/{revision.id}/edit").status_code == 404
    resp = post(client, f"/revisions/{revision.id}/approve", {"comment": ""})
    assert resp.status_code == 404
    db.session.expire_all()
    assert revision.current_step.status == "pending"


def test_other_hq_unit_cannot_edit(client, published) -> None:
    revision = revise(published, "hq.tanto", "決定通知書", "決定通知書等")
    login(client, "kaigo.hq.tanto")
    resp = client.get(f"/revisions/{revision.id}/edit")
    assert resp.status_code == 404  # another unit's draft: as if it did not exist
    assert "指定された改正案は見つかりません" in resp.get_data(as_text=True)
    resp = post(client, "/manuals/test-manual/revise")
    assert resp.status_code == 403 and "所管課の職員のみ" in resp.get_data(as_text=True)


def test_drafter_sees_no_approve_button_and_return_needs_comment(client, published) -> None:
    revision = revise(published, "hq.tanto", "決定通知書", "決定通知書等")
    route.submit(db.session, user("hq.tanto"), revision)
    db.session.commit()
    login(client, "hq.tanto")
    page = client.get(f"/revisions/{revision.id}").get_data(as_text=True)
    assert "（承認）する" not in page and "起案者は承認できません" in page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login(client, "hq.kakaricho")
    resp = post(client, f"/revisions/{revision.id}/return", {"comment": ""}, follow_redirects=True)
    assert "差戻しの理由（コメント）を入力してください。" in resp.get_data(as_text=True)
    resp = post(client, f"/revisions/{revision.id}/approve", {"comment": ""}, follow_redirects=True)
    assert "承認しました。" in resp.get_data(as_text=True)


def test_stale_edit_shows_both_versions_and_keeps_input(client, published) -> None:
    revision = revise(published, "hq.tanto", "決定通知書", "決定通知書等")
    login(client, "hq.tanto")
    form = client.get(f"/revisions/{revision.id}/edit").get_data(as_text=True)
    opened = revision.head_commit
    assert opened in form
    # Someone else saves meanwhile.
    other = drafting.DraftFields(title="テスト事務の手引き", targets=["保険年金課"], tags=[], effective=None,
                            review_months=12, body="# 他の人の本文\n", reason="他の人")
    drafting.save_draft(db.session, user("hq.kakaricho"), revision, other, expected_head=opened)
    db.session.commit()
    resp = post(client, f"/revisions/{revision.id}/edit", {
        "title": "テスト事務の手引き", "targets": "保険年金課", "tags": "", "effective": today_jst().isoformat(),
        "review_months": "12", "reason": "私の理由", "summary": "", "body": "# 私の本文\n", "head": opened})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "他の人の保存と重なりました" in html, html[html.find('class="flashes"'):][:600]
    assert "# 他の人の本文" in html and "# 私の本文" in html
    db.session.expire_all()
    assert "他の人の本文" in base.current_text(revision)


def test_xss_in_draft_is_not_rendered(client, published) -> None:
    revision = revise(published, "hq.tanto", "決定通知書を郵送する。",
                      "決定通知書を郵送する。<script>alert('x')</script><img src=x onerror=alert(1)>")
    login(client, "hq.tanto")
    page = client.get(f"/revisions/{revision.id}").get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page
    resp = post(client, "/revisions/preview", {"body": "<script>x</script>**太字**"})
    assert resp.json["html"] == "<p>&lt;script&gt;x&lt;/script&gt;<strong>太字</strong></p>\n"


def test_consultation_over_http(client, published) -> None:
    revision = revise(published, "hq.tanto", "決定通知書", "決定通知書等")
    login(client, "hq.tanto")
    resp = post(client, f"/revisions/{revision.id}/consult",
                {"deadline": (today_jst() + timedelta(days=10)).isoformat()}, follow_redirects=True)
    assert "意見照会を開始しました" in resp.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login(client, "aoba.tanto")
    page = client.get("/revisions").get_data(as_text=True)
    assert "テスト事務の手引き" in page and "意見照会中" in page
    resp = post(client, f"/revisions/{revision.id}/comments", {"anchor": "4-通知", "body": "交付の場合の手順も必要"},
                follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "意見を提出しました。" in html and "交付の場合の手順も必要" in html and "青葉区 保険年金課" in html
    resp = post(client, f"/revisions/{revision.id}/comments", {"anchor": "", "body": ""}, follow_redirects=True)
    assert "意見の内容を入力してください。" in resp.get_data(as_text=True)


def test_new_manual_form_reports_errors_and_keeps_input(client) -> None:
    login(client, "hq.tanto")
    resp = post(client, "/manuals/new", {"slug": "Bad Slug!", "title": "新しい手引き", "targets": "保険年金課",
                                         "review_months": "12", "body": "# 本文を入力した\n", "reason": "新規"})
    html = resp.get_data(as_text=True)
    assert "識別名（URL）は半角英小文字" in html and "# 本文を入力した" in html
    resp = post(client, "/manuals/new", {"slug": "new-one", "title": "新しい手引き", "targets": "保険年金課",
                                         "review_months": "12", "body": "# 新しい手引き\n", "reason": "新規",
                                         "effective": "2025-04-01"})
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "制定案 #" in page and "起案中" in page
