"""Reading pages: list, effective version, old versions, history, as-of, 新旧対照表, raw download."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.errors import ValidationError
from app.extensions import db
from app.gitstore import store
from app.manuals import services as manuals
from app.org import services as org
from app.org.models import HQ
from app.org.structure import SECTION_KINDS
from app.revisions import drafting, lists
from app.revisions.models import KIND_LABELS
from app.rulings.services import listed_for_manual
from app.usage.services import count_view
from app.wareki import parse_date, wareki
from app.webutil import day_arg, login_required_for, paginate

bp = Blueprint("manuals", __name__, url_prefix="/manuals")
login_required_for(bp)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    owner = request.args.get("owner", type=int)
    target = request.args.get("target") or None
    tag = request.args.get("tag") or None
    q = request.args.get("q", "").strip()
    include_obsolete = request.args.get("obsolete") == "1"
    sort = request.args.get("sort", "title")
    stmt = manuals.manuals_query(owner_unit_id=owner, target=target, tag=tag, q=q,
                                 include_obsolete=include_obsolete, sort=sort)
    page = paginate(stmt, per_page=current_app.config["PAGE_SIZE"])
    return render_template(
        "manuals/index.html", page=page, owner=owner, target=target, tag=tag, q=q, include_obsolete=include_obsolete,
        sort=sort, owners=org.list_units(db.session, kind=HQ), sections=SECTION_KINDS, tags=manuals.all_tags(db.session),
    )


def _show(slug: str, number: int | None):  # type: ignore[no-untyped-def]
    manual = manuals.get_manual(db.session, current_user, slug)
    if not manual.is_published:
        flash("このマニュアルはまだ公布されていません。起案・決裁の画面から改正案を確認してください。", "info")
        return redirect(url_for("revisions.index"))
    standing = manuals.standing(db.session, manual)
    shown = standing.shown if number is None else None
    version = shown or manuals.get_version(db.session, manual, number)
    view = manuals.read_version(manual, version, standing)
    count_view(db.session, current_user, "manual", manual.id)
    approvals = lists.approvals_by_revision(db.session, [version.revision_id] if version.revision_id else [])

    return render_template(
        "manuals/show.html", manual=manual, view=view, approvals=approvals.get(version.revision_id or 0, []),
        pending=drafting.open_drafts(db.session, manual) if current_user.is_hq else [],
        kind_labels=KIND_LABELS, rulings=listed_for_manual(db.session, manual),
        asof=parse_date(request.args.get("asof", "")[:40]),  # the banner shows it as 和暦
    )


@bp.get("/<slug>")
def show(slug: str):  # type: ignore[no-untyped-def]
    return _show(slug, None)


@bp.get("/<slug>/v/<int:number>")
def version(slug: str, number: int):  # type: ignore[no-untyped-def]
    return _show(slug, number)


@bp.get("/<slug>/history")
def history(slug: str):  # type: ignore[no-untyped-def]
    manual = manuals.get_manual(db.session, current_user, slug)
    page = paginate(manuals.versions_query(manual), per_page=100)
    approvals = lists.approvals_by_revision(db.session, [v.revision_id for v in page.items if v.revision_id])
    numbers = list(range(manual.current_version, 0, -1))
    return render_template("manuals/history.html", manual=manual, page=page, versions=page.items, numbers=numbers,
                           approvals=approvals, kind_labels=KIND_LABELS, standing=manuals.standing(db.session, manual),
                           status_labels=manuals.STATUS_LABELS)


@bp.get("/<slug>/asof")
def as_of(slug: str):  # type: ignore[no-untyped-def]
    manual = manuals.get_manual(db.session, current_user, slug)
    try:
        day = day_arg("date")
    except ValidationError as err:
        day, message = None, err.message
    else:
        message = "日付を指定してください（例: 2024-10-01 または 令和6年10月1日）。"
    if day is None:
        flash(message, "error")
        return redirect(url_for("manuals.history", slug=slug))
    version = manuals.as_of(db.session, manual, day)
    if version is None:
        flash(f"{wareki(day)} の時点では、このマニュアルはまだ施行されていませんでした。", "warning")
        return redirect(url_for("manuals.history", slug=slug))
    return redirect(url_for("manuals.version", slug=slug, number=version.number, asof=day.isoformat()))


@bp.get("/<slug>/raw")
@bp.get("/<slug>/v/<int:number>/raw")
def raw(slug: str, number: int | None = None):  # type: ignore[no-untyped-def]
    manual = manuals.get_manual(db.session, current_user, slug)
    version = manuals.get_version(db.session, manual, number)
    text = store().read_blob(version.blob_sha)
    return Response(text, mimetype="text/markdown; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{manual.slug}-v{version.number}.md"'})


@bp.get("/<slug>/compare")
def compare(slug: str):  # type: ignore[no-untyped-def]
    manual = manuals.get_manual(db.session, current_user, slug)
    new_n = request.args.get("new", type=int) or manual.current_version
    old_n = request.args.get("old", type=int)
    if old_n is None:
        old_n = new_n - 1 if new_n > 1 else None
    if old_n is not None and old_n >= new_n:
        new_n, old_n = old_n, new_n
    new, old, sections = manuals.compare_versions(db.session, manual, new_n, old_n)
    return render_template("manuals/compare.html", manual=manual, new=new, old=old, sections=sections,
                           versions=manuals.versions(db.session, manual), revision=None)
