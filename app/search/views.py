"""The search page and its JSON twin."""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify, render_template, request
from flask_login import current_user, login_required

from app.extensions import db
from app.org import services as org
from app.search import services as search

bp = Blueprint("search", __name__)
PAGE = 20


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _args() -> dict[str, object]:
    return {
        "kind": request.args.get("kind") or None,
        "owner": request.args.get("owner") or None,
        "tag": request.args.get("tag") or None,
        "ward": request.args.get("ward") or None,
        "include_obsolete": request.args.get("obsolete") == "1",
    }


@bp.get("/search")
@login_required
def page():  # type: ignore[no-untyped-def]
    q = request.args.get("q", "").strip()
    page_no = max(1, request.args.get("page", 1, type=int) or 1)
    filters = _args()
    results = None
    if q:
        results = search.search(db.session, current_user, q, limit=PAGE + 1, offset=(page_no - 1) * PAGE, facets=True,
                                **filters)  # type: ignore[arg-type]
    has_next = bool(results and len(results.results) > PAGE)
    if results:
        results.results = results.results[:PAGE]
    return render_template("search/results.html", q=q, results=results, filters=filters, page_no=page_no,
                           has_next=has_next, kind_labels=search.KIND_LABELS, wards=org.ward_offices(db.session))


@bp.get("/api/search")
@login_required
def api():  # type: ignore[no-untyped-def]
    q = request.args.get("q", "").strip()
    if not q:
        return {"error": "q（検索語）を指定してください。"}, 400
    kind = request.args.get("kind") or None
    if kind not in (None, "manual", "ruling"):
        return {"error": "kind は manual または ruling です。"}, 400
    limit = request.args.get("limit", 10, type=int) or 10
    results = search.search(db.session, current_user, q, kind=kind, limit=limit)
    if request.args.get("format") == "full":  # with the query as searched and 「もしかして」
        return jsonify(results.as_json())
    # The same list, best first, as `flask search QUERY --json`.
    return jsonify([r.as_json() for r in results.results])
