"""Screenshots of every main page at 1280 px and 390 px (test-artifacts/screens/), looked at by a
person; and what can be measured of them: nothing wider than the phone's screen, the header short
on a phone, the manual's text before its metadata, words not broken inside."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.notices.models import Notice
from app.rulings import services as rulings
from tests.e2e.conftest import ARTIFACTS, ui_login
from tests.e2e.test_accessibility_e2e import AXE, OPTIONS
from tests.helpers import user
from tests.test_security import world  # noqa: F401 (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_users")]

WIDTHS = (1280, 390)
LONG_SUBJECT = ("国民健康保険の資格取得届と世帯主変更届が同時に提出され、かつ世帯員の一部が社会保険の被扶養者となる"
                "場合における資格取得日と保険税の算定開始月の取扱い、ならびに窓口での説明方法および様式の記載例について") * 2


def screens(w: dict) -> dict[str, list[tuple[str, str]]]:
    """role → (name, url) of the pages to photograph."""
    m, d, h = w["manual"], w["draft"], w["handover"]
    rev = db.session.query(Notice.revision_id).filter(Notice.revision_id.is_not(None)).first()[0]
    return {
        "hq.tanto": [("dashboard-hq-tanto", "/dashboard"), ("manuals", "/manuals/"), ("manual", f"/manuals/{m.slug}"),
                     ("history", f"/manuals/{m.slug}/history"), ("shinkyu", f"/manuals/{m.slug}/compare"),
                     ("revision", f"/revisions/{d.id}"), ("editor", f"/revisions/{d.id}/edit"),
                     ("search", "/search?q=受付"), ("inquiries-inbox", "/inquiries"),
                     ("inquiry", f"/inquiries/{w['long'].id}"), ("matrix", f"/notices/matrix?revision={rev}"),
                     ("handover", f"/handovers/{h.id}")],
        "hq.kacho": [("dashboard-hq-kacho", "/dashboard")],
        "aoba.tanto": [("dashboard-aoba-tanto", "/dashboard"), ("inquiry-new", f"/inquiries/new?manual={m.slug}")],
        "aoba.kacho": [("dashboard-aoba-kacho", "/dashboard"), ("notices", "/notices/"),
                       ("notice", f"/notices/{w['notice'].id}")],
        "admin": [("dashboard-admin", "/dashboard"), ("admin-users", "/admin/users"), ("admin-units", "/admin/units"),
                  ("admin-audit", "/admin/audit"), ("admin-import", "/admin/staff-import"),
                  ("admin-rounds", "/admin/handovers")],
    }


def test_screens_at_desktop_and_phone_width(app, world, browser, live_server: str) -> None:  # noqa: F811
    world["long"] = rulings.file_inquiry(db.session, user("aoba.tanto"), kind="疑義照会", subject=LONG_SUBJECT[:200],
                                         body="内容", manual=world["manual"])
    db.session.commit()
    out = ARTIFACTS / "screens"
    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for role, pages in screens(world).items():
        for width in WIDTHS:
            context = browser.new_context(base_url=live_server, locale="ja-JP", viewport={"width": width, "height": 900})
            page = context.new_page()
            ui_login(page, role)
            for name, url in pages:
                page.goto(url)
                page.screenshot(path=str(out / f"{name}-{width}.png"), full_page=True)
                overflow = page.evaluate("() => document.documentElement.scrollWidth")
                if overflow > width + 1:
                    problems.append(f"{name}@{width}: ページ幅 {overflow}px（横スクロール）")
                if width == 390:  # the phone layout passes axe too (the 1280 one: test_accessibility_e2e)
                    for v in AXE.run(page, options=OPTIONS).response["violations"]:
                        problems.append(f"{name}@390: axe {v['id']} {[n['target'] for n in v['nodes'][:2]]}")
                    header = page.evaluate("() => document.querySelector('main').getBoundingClientRect().top")
                    if header > 140:
                        problems.append(f"{name}@390: 本文の前のヘッダーが {header:.0f}px")
                if name == "manual" and width == 390:
                    order = page.evaluate("""() => [document.querySelector('[data-testid=manual-body]'),
                                                    document.querySelector('dl.meta')].map((e) => e.getBoundingClientRect().top)""")
                    if order[0] > order[1]:
                        problems.append(f"manual@390: 本文（{order[0]:.0f}px）がメタ情報（{order[1]:.0f}px）より下")
            if width == 390 and role == "aoba.kacho":
                # The menu button opens the navigation and the account links without a script.
                page.goto("/dashboard")
                page.get_by_text("メニュー").click()
                nav = page.get_by_role("navigation", name="メインメニュー")
                assert nav.count() == 1 and nav.get_by_role("link", name="事務引継書").is_visible()
                assert page.get_by_role("button", name="ログアウト").is_visible()
                page.screenshot(path=str(out / "phone-menu-open-390.png"), full_page=True)
                problems += [f"menu@390: axe {v['id']}" for v in AXE.run(page, options=OPTIONS).response["violations"]]
            context.close()
    assert problems == [], "\n".join(problems)
