"""Inbox, notice page with 周知 confirmation, matrices and usage figures for 本庁, exports."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from app import tables
from app.errors import PermissionDenied
from app.extensions import db
from app.notices import (
    campaign_views,
    delivery,  # noqa: F401  (its event consumers deliver the notices)
    figures,
    quiz,
    read_views,
    reading,
    understanding,
)
from app.notices import inbox as notices_inbox
from app.org import services as org
from app.org.forms import ConfirmForm
from app.org.permissions import can, require
from app.usage import services as usage_figures
from app.wareki import now_utc
from app.webutil import back_to, login_required_for, paginate, safe_next

bp = Blueprint("notices", __name__, url_prefix="/notices")
login_required_for(bp)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    read_views.init_app(app)
    campaign_views.init_app(app)
    # The 緊急 banner on the ward dashboards (templates/notices/_urgent_banner.html).
    app.jinja_env.globals["urgent_notices"] = lambda: reading.urgent_for(db.session, current_user)


@bp.get("/")
def inbox():  # type: ignore[no-untyped-def]
    only_unread = request.args.get("unread") == "1"
    kind = request.args.get("kind") or None
    page = paginate(notices_inbox.inbox_query(current_user, only_unread=only_unread, kind=kind),
                       per_page=current_app.config["PAGE_SIZE"])
    rows = [(row.Notice, row) for row in db.session.execute(
        notices_inbox.inbox_query(current_user, only_unread=only_unread, kind=kind)
        .limit(page.per_page).offset((page.page - 1) * page.per_page))]
    return render_template("notices/inbox.html", page=page, rows=rows, only_unread=only_unread, kind=kind,
                           form=ConfirmForm(), is_overdue=notices_inbox.is_overdue)


@bp.post("/read-all")
def read_all():  # type: ignore[no-untyped-def]
    if not ConfirmForm().validate_on_submit():
        abort(400)
    n = reading.dismiss_all(db.session, current_user)
    flash(f"{n}件の未読の表示を消しました。内容を読んだ記録にはなりません（新旧対照表を開くと既読になります）。", "success")
    return redirect(url_for("notices.inbox"))


@bp.get("/<int:notice_id>")
def show(notice_id: int):  # type: ignore[no-untyped-def]
    """The notice itself (what changed, the deadline, the section's progress). Opening it records nothing."""
    notice = notices_inbox.get_notice(db.session, current_user, notice_id)
    can_confirm = can(current_user, "notice.confirm", notice)
    sees_people = can_confirm or (current_user.is_head and notice.unit_id == current_user.unit_id) or (
        notice.unit_id != current_user.unit_id)  # the owner unit and the admin (get_notice let them in)
    staff = reading.people(db.session, notice) if sees_people and not notice.owner_copy else []
    chiefs = notices_inbox.unit_chiefs(db.session, current_user.unit_id) if current_user.is_head else []
    return render_template("notices/show.html", notice=notice, staff=staff, receipt=reading.receipt_of(
        db.session, current_user, notice), state_of=reading.person_state, labels=reading.PERSON_LABELS,
        counts=reading.state_counts(staff), questions=quiz.questions_for(db.session, notice),
        can_confirm=can_confirm, can_withdraw=can(current_user, "notice.withdraw", notice), form=ConfirmForm(),
        overdue=notices_inbox.is_overdue(notice), chiefs=chiefs,
        delegates=notices_inbox.delegates(db.session, current_user.unit_id))


@bp.get("/<int:notice_id>/people.<any(xlsx, csv):fmt>")
def people_export(notice_id: int, fmt: str):  # type: ignore[no-untyped-def]
    """Who the notice is for and the step each reached: for the section's 所属長 (and 本庁)."""
    notice = notices_inbox.get_notice(db.session, current_user, notice_id)
    if notice.unit_id == current_user.unit_id and not (current_user.is_head or can(current_user, "notice.confirm", notice)):
        raise PermissionDenied("職員ごとの確認状況は所属長（課長）が出力できます。")
    return _export(understanding.people_rows(db.session, [notice]), f"shuchi-notice-{notice.id}", fmt)


@bp.get("/<int:notice_id>/open")
def open_(notice_id: int):  # type: ignore[no-untyped-def]
    """The old link of the inbox and the mail: to the reading page (a GET records nothing)."""
    notices_inbox.get_notice(db.session, current_user, notice_id)
    return redirect(url_for("notice_read.read", notice_id=notice_id))


@bp.post("/<int:notice_id>/confirm")
@back_to("notices.show", notice_id="notice_id")
def confirm(notice_id: int):  # type: ignore[no-untyped-def]
    if not ConfirmForm().validate_on_submit():
        abort(400)
    notice = notices_inbox.get_notice(db.session, current_user, notice_id)
    notices_inbox.confirm(db.session, current_user, notice, request.form.get("comment", ""))
    flash("周知済として確認しました。本庁の所管課に表示されます。", "success")
    return redirect(url_for("notices.show", notice_id=notice_id))


@bp.post("/delegates")
def delegate():  # type: ignore[no-untyped-def]
    if not ConfirmForm().validate_on_submit():
        abort(400)
    chief = org.get_user(db.session, request.form.get("user_id", type=int) or 0)
    grant = request.form.get("grant") == "1"
    notices_inbox.set_delegate(db.session, current_user, chief, grant)
    flash(f"{chief.name}さんに周知確認を{'委任しました' if grant else '委任しないようにしました'}。", "success")
    return redirect(safe_next(request.form.get("back"), url_for("notices.inbox")))


@bp.get("/sent")
def sent():  # type: ignore[no-untyped-def]
    require(current_user, "notice.figures", None)
    return render_template("notices/sent.html", rows=figures.sent_publications(db.session, current_user))


def _export(rows: list[list[object]], name: str, fmt: str) -> Response:
    return tables.download(rows, name, fmt)  # the one writer: cells are text, never formulas


@bp.get("/matrix")
def matrix():  # type: ignore[no-untyped-def]
    revision_id = request.args.get("revision", type=int)
    ruling_id = request.args.get("ruling", type=int)
    campaign_id = request.args.get("campaign", type=int)
    if not revision_id and not ruling_id and not campaign_id:
        abort(404)
    m = figures.matrix(db.session, current_user, revision_id=revision_id, ruling_id=ruling_id, campaign_id=campaign_id)
    results = understanding.results(db.session, m.notices)
    key = f"campaign-{campaign_id}" if campaign_id else (f"revision-{revision_id}" if revision_id else f"ruling-{ruling_id}")
    fmt = request.args.get("format")
    if fmt in ("csv", "xlsx"):
        rows = figures.matrix_rows(m)
        if results.questions:
            rows += [[], *understanding.result_rows(results)]
        if request.args.get("people") == "1":
            rows += [[], *understanding.people_rows(db.session, m.notices)]
        return _export(rows, f"shuchi-{key}", fmt)
    args = {"campaign": campaign_id} if campaign_id else ({"revision": revision_id} if revision_id else {"ruling": ruling_id})
    return render_template("notices/matrix.html", m=m, args=args, head=m.notices[0], labels=figures.STATUS_LABELS,
                           person_labels=reading.PERSON_LABELS, results=results)


@bp.get("/usage")
def usage():  # type: ignore[no-untyped-def]
    require(current_user, "notice.figures", None)
    owner = None if current_user.is_admin else current_user.unit_id
    months = usage_figures.recent_months(6)
    offices = org.ward_offices(db.session)
    table = usage_figures.usage_by_office(db.session, owner, months)
    gaps = usage_figures.gap_list(db.session, now_utc() - timedelta(days=90), owner)
    rulings = usage_figures.ruling_views(db.session, owner, months)
    candidates = understanding.candidates(db.session, owner)
    fmt = request.args.get("format")
    if fmt in ("csv", "xlsx"):
        rows: list[list[object]] = [["マニュアル", "識別名", "区役所・総合支所", "月", "閲覧数"]]
        for row in table:
            rank = {o: i for i, o in enumerate(offices)}  # the city's order of the ward offices
            cells = sorted(row["cells"].items(), key=lambda c: (rank.get(c[0][0], len(rank)), c[0]))  # type: ignore[attr-defined]
            for (office, month), views in cells:
                rows.append([row["title"], row["slug"], office, month, views])
        rows += [[], ["該当なし検索語", "区役所・総合支所", "回数", "最終"]]
        rows += [[q, o, n, str(last)[:16]] for q, o, n, last in gaps]
        rows += [[], ["改善候補（理解度確認）", "設問", "初回正答率", "誤答の多い区の数", "回答のあった区の数"]]
        rows += [[c.title, c.prompt, f"{c.rate:.0%}", c.wards_wrong, c.wards] for c in candidates]
        return _export(rows, "katsuyo", fmt)
    return render_template("notices/usage.html", months=months, offices=offices, table=table, gaps=gaps,
                           rulings=rulings, candidates=candidates)
