"""Pages outside the domains: the アクセシビリティ方針 (public, like the login page) and the favicon."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Flask, current_app, render_template, send_from_directory

bp = Blueprint("pages", __name__)

# The last accessibility test (tests/e2e/test_accessibility_e2e.py, test_keyboard_e2e.py): update
# both when the tests are run again for a release.
LAST_TEST = {"date": date(2026, 12, 1), "axe_core": "4.12.1", "browser": "Chromium"}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/accessibility")
def accessibility():  # type: ignore[no-untyped-def]
    return render_template("main/accessibility.html", test=LAST_TEST)


@bp.get("/favicon.ico")
def favicon():  # type: ignore[no-untyped-def]
    # Browsers ask for /favicon.ico whatever the page links; a day in the cache is enough.
    return send_from_directory(current_app.static_folder or "", "favicon.ico", mimetype="image/vnd.microsoft.icon",
                               max_age=86400)
