"""One date style: 和暦 (through app.wareki) on the dashboard's 見直し期限, the handover form and
print, the as-of banner and the 人事異動 pages — no bare ISO dates."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.extensions import db
from app.handover import handovers
from app.wareki import now_utc, wareki
from tests.conftest import login
from tests.helpers import approve_all, make_manual, revise, user

pytestmark = pytest.mark.usefixtures("demo_users")
BARE_ISO = re.compile(r"(?<![（\d-])\d{4}-\d{2}-\d{2}(?![）\d])")  # an ISO date not inside 和暦（…）


def text_of(resp) -> str:
    html = resp.get_data(as_text=True)
    html = re.sub(r'<(script|style)\b.*?</\1>|value="[^"]*"|href="[^"]*"', " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_dashboard_review_due_in_wareki(client) -> None:
    manual = make_manual()
    manual.manager = user("hq.tanto")
    manual.last_published_at = manual.last_reviewed_at = now_utc() - timedelta(days=360)
    db.session.commit()
    login(client, "hq.tanto")
    text = text_of(client.get("/dashboard"))
    assert "見直し期限 令和" in text
    assert not BARE_ISO.search(text), BARE_ISO.findall(text)


def test_handover_form_and_print_in_wareki(client) -> None:
    manual = make_manual()
    approve_all(revise(manual, "hq.tanto", "14日以内", "10日以内"))
    manual.manager = user("hq.tanto")
    handover = handovers.start(db.session, user("hq.tanto"), user("hq.tanto"))
    db.session.commit()
    login(client, "hq.tanto")
    for url in (f"/handovers/{handover.id}", f"/handovers/{handover.id}/print"):
        text = text_of(client.get(url))
        assert "施行 令和" in text and "次回見直し 令和" in text, url
        assert not BARE_ISO.search(text), (url, BARE_ISO.findall(text))


def test_as_of_banner_in_wareki(client) -> None:
    manual = make_manual()
    approve_all(revise(manual, "hq.tanto", "14日以内", "10日以内"))
    login(client, "aoba.tanto")
    resp = client.get(f"/manuals/{manual.slug}/v/1?asof=2024-10-01")
    text = text_of(resp)
    assert f"{wareki(__import__('datetime').date(2024, 10, 1))} 時点で" in text
    assert "令和6年10月1日" in text
    assert not BARE_ISO.search(text), BARE_ISO.findall(text)
