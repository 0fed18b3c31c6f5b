"""The search page and its JSON twin."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.extensions import db
from app.forms import TebikiForm
from app.org import services as org
from app.org.permissions import require
from app.search import services as search
from app.search import synonyms
from app.search.models import KIND_LABELS, SYNONYM
from app.usage import services as usage
from app.wareki import now_utc
from app.webutil import back_to

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


# --- 管理 > 検索の同義語 ----------------------------------------------------------------------------


class PostForm(TebikiForm):
    """The CSRF token of the page's POST forms (fields are read from request.form)."""


def zero_result_queries(limit: int = 40) -> list[tuple[str, int, str]]:
    """Searches that found nothing in the last 90 days, all offices together: (query, times, offices)."""
    rows: dict[str, list] = {}
    for q, office, n, _last in usage.gap_list(db.session, now_utc() - timedelta(days=90), None, limit=500):
        row = rows.setdefault(q, [q, 0, []])
        row[1] += n
        row[2].append(office)
    ranked = sorted(rows.values(), key=lambda r: -r[1])[:limit]
    return [(q, n, "、".join(offices[:3]) + ("ほか" if len(offices) > 3 else "")) for q, n, offices in ranked]


@bp.get("/admin/search/synonyms")
@login_required
def synonym_table():  # type: ignore[no-untyped-def]
    require(current_user, "search.synonyms")
    groups = synonyms.groups(db.session)
    editing = next((g for g in groups if g.id and g.id == request.args.get("edit", type=int)), None)
    prefill = {"canonical": editing.canonical if editing else "",
               "variants": "、".join(editing.variant_list) if editing else request.args.get("variant", ""),
               "kind": editing.kind if editing else SYNONYM}
    return render_template("search/synonyms.html", groups=groups, editing=editing, prefill=prefill, form=PostForm(),
                           kinds=KIND_LABELS, misses=zero_result_queries())


@bp.post("/admin/search/synonyms")
@login_required
@back_to("search.synonym_table")
def synonym_save():  # type: ignore[no-untyped-def]
    if not PostForm().validate_on_submit():
        abort(400)
    group = synonyms.save(db.session, current_user, request.form.get("canonical", ""), request.form.get("variants", ""),
                          request.form.get("kind", SYNONYM), request.form.get("group_id", type=int),
                          (request.form.get("stamp") or "")[:32] or None)
    flash(f"「{group.canonical}」の組を保存しました。該当するマニュアル・判断事例の検索インデックスを更新しました。", "success")
    return redirect(url_for("search.synonym_table"))


@bp.post("/admin/search/synonyms/<int:group_id>/delete")
@login_required
@back_to("search.synonym_table")
def synonym_delete(group_id: int):  # type: ignore[no-untyped-def]
    if not PostForm().validate_on_submit():
        abort(400)
    synonyms.delete(db.session, current_user, group_id)
    flash("組を削除しました。該当するマニュアル・判断事例の検索インデックスを更新しました。", "success")
    return redirect(url_for("search.synonym_table"))
