"""The アクセシビリティ方針 page (public, linked from every page's footer) and the favicon."""

from __future__ import annotations

from flask import Flask

from tests.conftest import login


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
