"""ヘルプ: one page per role with its main tasks, linked from the navigation of every page."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from app.help.content import ROLES, role_of
from tests.conftest import login
from tests.helpers import user

pytestmark = pytest.mark.usefixtures("demo_users")
DEMO = {"hq.tanto": "hq-staff", "hq.kakaricho": "hq-chief", "hq.kacho": "hq-head", "aoba.tanto": "ward-staff",
        "aoba.kacho": "ward-head", "admin": "admin"}


def test_each_role_gets_its_own_help(app: Flask) -> None:
    for login_id, key in DEMO.items():
        assert role_of(user(login_id)).key == key
    for role in ROLES:
        assert role.tasks and all(t.steps for t in role.tasks)
        assert all(t.endpoint is None or t.endpoint in app.view_functions for t in role.tasks), role.key


@pytest.mark.parametrize("login_id", list(DEMO))
def test_help_page_and_its_links_work_for_the_role(client, login_id: str) -> None:
    login(client, login_id)
    html = client.get("/help/").get_data(as_text=True)
    role = role_of(user(login_id))
    assert f"<small>{role.label}</small>" in html and "（あなたの役割です）" in html
    for task in role.tasks:
        assert task.title in html
    links = re.findall(r'<p><a href="([^"]+)">', html)
    assert links, "each task links to where it starts"
    for url in links:
        assert client.get(url).status_code == 200, url
    # Another role's help can be read too (a 係長 standing in for the 課長), without its links.
    other = client.get("/help/ward-head").get_data(as_text=True)
    assert "改正の周知を確認する" in other
    assert client.get("/help/no-such-role").status_code == 404


def test_help_is_in_the_navigation_of_every_page(client) -> None:
    login(client, "aoba.tanto")
    for url in ("/dashboard", "/manuals/", "/rulings", "/inquiries", "/notices/", "/handovers", "/help/"):
        html = client.get(url).get_data(as_text=True)
        assert re.search(r'<a href="/help/"[^>]*>ヘルプ', html), url
    assert 'aria-current="page">ヘルプ' in client.get("/help/").get_data(as_text=True)
