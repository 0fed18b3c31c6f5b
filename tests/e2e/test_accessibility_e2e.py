"""JIS X 8341-3:2016 AA (issue 19): every HTML page of every role passes axe-core's WCAG 2.1 A / AA
rules with zero violations in Chromium. The pages are those of the route × role table
(tests/test_security.py) plus the pages only some states reach; every GET route of the URL map must be
visited here or excluded below with its reason, so a new page cannot slip past."""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask

from tests.e2e.conftest import ui_login
from tests.test_security import EVERYONE, ROLES, _matches, get_spec, world  # noqa: F401 (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_users")]

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
AXE = Axe()

# GET routes that are not an HTML page a person reads, or only answer with a redirect.
EXCLUDED = {
    "/static/<path:filename>": "CSS・JS・画像（ページではない）",
    "/favicon.ico": "アイコン（ページではない）",
    "/healthz": "監視用の JSON",
    "/api/search": "検索候補の JSON",
    "/admin/": "利用者一覧へ転送するだけ",
    "/notices/<int:notice_id>/open": "新旧対照表へ転送するだけ（既読の記録）",
    "/manuals/<slug>/raw": "Markdown の原文（text/plain）",
    "/manuals/<slug>/v/<int:number>/raw": "Markdown の原文（text/plain）",
    "/manuals/<slug>/v/<int:number>.<any(docx, pdf):fmt>": "Word・PDF ファイル",
    "/manuals/<slug>/compare.<any(docx, pdf):fmt>": "Word・PDF ファイル",
    "/revisions/<int:revision_id>/compare.<any(docx, pdf):fmt>": "Word・PDF ファイル",
    "/handovers/<int:handover_id>.<any(docx, pdf):fmt>": "Word・PDF ファイル",
    "/handovers/<int:handover_id>.xlsx": "Excel ファイル",
    "/notices/<int:notice_id>/people.<any(xlsx, csv):fmt>": "Excel・CSV ファイル",
    "/manuals/<slug>/v/<int:number>/files/<path:name>": "添付ファイル（様式・画像）そのもの",
    "/revisions/<int:revision_id>/files/<path:name>": "添付ファイル（様式・画像）そのもの",
    # A confirmation screen behind a one-time token made by an upload.
    "/admin/rounds/<int:round_id>/correct/<token>": "内示訂正の確認（アップロード後の一時トークン。同じ部品の"
                                                     "人事異動の確認画面を upload_previews で確認）",
}
NOT_HTML = re.compile(r"(\.xlsx|\.docx|\.pdf|/raw)$|/files/[^/]+$|^/api/|^/healthz|/open$")  # files: attachments as stored


def extra_pages(w: dict) -> list[tuple[str, set[str]]]:
    """Pages outside the route × role table: the front door, states, errors and the policy page."""
    slug = w["manual"].slug
    return [
        ("/", EVERYONE), (f"/manuals/{slug}/asof?date=2025-04-01", EVERYONE),
        (f"/manuals/{slug}?date=2000-01-01", EVERYONE),  # before the first version: the empty state
        ("/search?q=存在しない語句ぬぬぬ", EVERYONE), ("/search?q=受付&kind=ruling", EVERYONE),
        ("/manuals/no-such-manual", {"aoba.tanto"}),  # the 404 page
        ("/admin/audit?page=2", {"admin"}),
        ("/accessibility", EVERYONE),
    ]


def anonymous_pages() -> list[str]:
    return ["/login", "/accessibility", "/account/setup/not-a-valid-token"]


RUNS: list[str] = []


def check(page, url: str, label: str, failures: list[str]) -> None:
    RUNS.append(url)
    page.goto(url)
    results = AXE.run(page, options=OPTIONS)
    for v in results.response["violations"]:
        targets = "; ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:3])
        failures.append(f"{label} {url}: {v['id']} ({v['impact']}) ×{len(v['nodes'])} — {v['help']} — {targets}")


def upload_previews(page, tmp_path: Path, failures: list[str]) -> list[str]:
    """The admin's confirmation screens: reached by uploading a file, each at its own token URL."""
    staff = tmp_path / "jinji.csv"
    staff.write_text("職員番号,氏名,異動前所属,異動後所属,職,発令日\n"
                     "100001,佐藤 健一,健康福祉局 保険年金課,青葉区 保険年金課,担当,2027-04-01\n", encoding="utf-8")
    roster = tmp_path / "meibo.csv"
    roster.write_bytes("職員番号,氏名,所属,職,mail,ログインID,担当業務\r\n"
                       "800001,名簿 太郎,青葉区 保険年金課,主事,,meibo.taro,窓口\r\n".encode("cp932"))
    seen = []
    for start, label, path in (("/admin/staff-import", "人事異動ファイル（.csv または .xlsx）", staff),
                               ("/admin/roster", "職員名簿ファイル（.csv または .xlsx）", roster)):
        page.goto(start)
        page.get_by_label(label).set_input_files(str(path))
        page.get_by_role("button", name="内容を確認する").click()
        page.get_by_test_id("preview").wait_for()
        url = urlparse(page.url).path
        check(page, url, "admin", failures)
        seen.append(url)
    return seen


def test_every_page_of_every_role_passes_axe(app: Flask, world, browser, live_server: str,  # noqa: F811
                                             tmp_path: Path) -> None:
    pages = [(u, roles) for u, roles in get_spec(world) + extra_pages(world) if not NOT_HTML.search(u.split("?")[0])]
    started = time.monotonic()
    failures: list[str] = []
    visited: set[str] = set()
    for role in ROLES:
        context = browser.new_context(base_url=live_server, locale="ja-JP", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        page = context.new_page()
        ui_login(page, role)
        for url, allowed in pages:
            if role in allowed:
                check(page, url, role, failures)
                visited.add(url.split("?")[0])
        if role == "admin":
            visited.update(upload_previews(page, tmp_path, failures))
        context.close()
    context = browser.new_context(base_url=live_server, locale="ja-JP")
    page = context.new_page()
    for url in anonymous_pages():
        check(page, url, "未ログイン", failures)
        visited.add(url)
    context.close()
    assert failures == [], "\n".join(failures)

    # Every GET page of the app was checked, or is excluded above with its reason.
    rules = {r.rule for r in app.url_map.iter_rules() if "GET" in (r.methods or set())}
    assert set(EXCLUDED) <= rules, f"EXCLUDED names routes that no longer exist: {set(EXCLUDED) - rules}"
    uncovered = {r for r in rules if r not in EXCLUDED and not any(_matches(r, u) for u in visited)}
    assert uncovered == set(), f"axe で確認していないページ（visit it or add it to EXCLUDED with a reason）: {uncovered}"
    print(f"axe: {len(visited)} pages, {len(RUNS)} runs, {time.monotonic() - started:.0f}s")
