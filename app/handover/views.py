"""事務引継書, manual management (manager, review), city-wide checks, 人事異動 upload and dashboard."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.file import FileField

from app import tables, uploads
from app.errors import ValidationError
from app.extensions import db
from app.forms import TebikiForm, validated
from app.handover import checks as city_checks
from app.handover import handovers, importer, management
from app.handover.models import STATE_LABELS, VERDICTS, TransferRound
from app.manuals import services as manuals
from app.org import services as org
from app.org.forms import ConfirmForm
from app.org.permissions import require
from app.webutil import back_to, login_required_for, paginate

bp = Blueprint("handover", __name__)
login_required_for(bp)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


class UploadForm(TebikiForm):
    file = FileField("人事異動ファイル（.csv または .xlsx）")


@bp.get("/handovers")
def index():  # type: ignore[no-untyped-def]
    scope = request.args.get("scope", "mine")
    page = paginate(handovers.list_query(current_user, scope=scope), per_page=current_app.config["PAGE_SIZE"])
    members = org.users_query(db.session, unit_id=current_user.unit_id) if current_user.is_head else None
    return render_template("handover/index.html", page=page, scope=scope, form=ConfirmForm(),
                           members=list(db.session.scalars(members)) if members is not None else [])


@bp.post("/handovers/start")
def start():  # type: ignore[no-untyped-def]
    validated(ConfirmForm())
    person = org.get_user(db.session, request.form.get("user_id", type=int) or current_user.id)
    handover = handovers.start(db.session, current_user, person, started_by="self" if person.id == current_user.id else "head")
    flash(f"{person.name}さんの事務引継書を作成しました。システムが分かる範囲で記入してあります。", "success")
    return redirect(url_for("handover.show", handover_id=handover.id))


@bp.route("/handovers/<int:handover_id>", methods=["GET", "POST"])
@back_to("handover.show", handover_id="handover_id")
def show(handover_id: int):  # type: ignore[no-untyped-def]
    handover = handovers.get_handover(db.session, current_user, handover_id)
    form = ConfirmForm()
    if request.method == "POST":
        validated(form)
        action = request.form.get("action", "save")
        if action == "refresh":
            handovers.refresh(db.session, current_user, handover)
            message = "最新の状態で記入し直しました（メモと後任者はそのままです）。"
        elif action in ("confirm", "return"):
            if action == "confirm":
                handovers.confirm(db.session, current_user, handover)
                message = "事務引継書を確認しました。後任者がマニュアルの管理担当者になりました。"
            else:
                handovers.send_back(db.session, current_user, handover, request.form.get("comment", ""))
                message = "事務引継書を差し戻しました。"
        else:
            notes = {i.id: request.form.get(f"note-{i.id}", i.note) for i in handover.items}
            successors = {i.id: request.form.get(f"successor-{i.id}", type=int) for i in handover.manual_items}
            handovers.save(db.session, current_user, handover, duties=request.form.get("duties", ""),
                    concerns=request.form.get("concerns", ""),
                    default_successor_id=request.form.get("default_successor", type=int),
                    notes=notes, successors=successors, submit=action == "submit")
            message = "所属長に提出しました。" if action == "submit" else "保存しました。"
        flash(message, "success")
        return redirect(url_for("handover.show", handover_id=handover_id))
    return render_template("handover/show.html", h=handover, form=form, candidates=handovers.successors_for(db.session, handover),
                           labels=STATE_LABELS, can_confirm=handovers.can_confirm(current_user, handover))


@bp.get("/handovers/<int:handover_id>/print")
def print_view(handover_id: int):  # type: ignore[no-untyped-def]
    handover = handovers.get_handover(db.session, current_user, handover_id)
    return render_template("handover/print.html", h=handover)


@bp.get("/handovers/<int:handover_id>.xlsx")
def export(handover_id: int):  # type: ignore[no-untyped-def]
    h = handovers.get_handover(db.session, current_user, handover_id)
    rows: list[list[object]] = [
        ["事務引継書"], ["所属", h.unit.name, "職", h.position, "氏名", h.user.name], ["担当事務", h.duties], [],
        ["マニュアル管理状況"], ["マニュアル", "状況", "注意", "後任者", "引継事項"]]
    for i in h.manual_items:
        successor = i.successor or h.default_successor
        rows.append([i.label, i.detail, i.flag, successor.name if successor else "", i.note])
    rows += [[], ["その他の引継事項"], ["区分", "件名", "状況", "注意", "引継事項"]]
    rows += [[i.kind_label, i.label, i.detail, i.flag, i.note] for i in h.items if i.kind != "manual"]
    rows += [[], ["懸案事項", h.concerns],
             ["所属長確認", f"{h.confirmed_by_name}（{h.confirmed_by_position}）" if h.confirmed_by_name else "未確認",
              str(h.confirmed_at or "")[:16]]]
    return tables.download(rows, f"hikitsugi-{h.id}", "xlsx", sheet_title="事務引継書", widths={"A": 34, "B": 40},
                           wrap=True, heading=True)


@bp.get("/checks")
def checks():  # type: ignore[no-untyped-def]
    require(current_user, "checks.view")
    unit_id = None if current_user.is_admin else current_user.unit_id
    found = city_checks.findings(db.session, unit_id=unit_id)
    kind = request.args.get("kind")
    counts: dict[str, int] = {}
    for f in found:
        counts[f.kind] = counts.get(f.kind, 0) + 1
    shown = [f for f in found if not kind or f.kind == kind]
    units = {u.id: u for u in org.list_units(db.session, include_inactive=True)}
    return render_template("handover/checks.html", findings=shown[:500], total=len(shown), counts=counts, kind=kind,
                           labels=city_checks.CHECK_LABELS, units=units)


@bp.route("/manuals/<slug>/manage", methods=["GET", "POST"])
@back_to("handover.manage", slug="slug")
def manage(slug: str):  # type: ignore[no-untyped-def]
    manual = manuals.get_manual(db.session, current_user, slug)
    require(current_user, "manual.management", manual)
    form = ConfirmForm()
    if request.method == "POST":
        validated(form)
        if request.form.get("action") == "manager":
            management.set_manager(db.session, current_user, manual,
                           org.get_user(db.session, request.form.get("manager_id", type=int) or 0))
            message = "管理担当者を変更しました。"
        else:
            review = management.record_review(db.session, current_user, manual, request.form.get("verdict", ""),
                                      request.form.get("comment", ""), seen=request.form.get("reviewed"))
            if review.revision_id:
                flash(f"見直しを記録しました（{review.verdict_label}）。案を作成しましたので、編集して決裁に回してください。",
                      "success")
                return redirect(url_for("revisions.edit", revision_id=review.revision_id))
            message = "見直しを記録しました（現行のまま継続）。次回の見直し期限が更新されました。"
        flash(message, "success")
        return redirect(url_for("handover.manage", slug=slug))
    members = list(db.session.scalars(org.users_query(db.session, unit_id=manual.owner_unit_id)))
    return render_template("handover/manage.html", manual=manual, form=form, members=members,
                           next_review=management.next_review(manual), state=management.review_state(manual),
                           reviews=management.reviews(db.session, manual), verdicts=VERDICTS,
                           review_token=management.review_token(manual))


# --- 人事異動 (admin) ---------------------------------------------------------------------------------


@bp.route("/admin/staff-import", methods=["GET", "POST"])
def staff_import():  # type: ignore[no-untyped-def]
    require(current_user, "staff.import")
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            token = uploads.save(upload, "staff")
        except ValidationError as err:
            flash(err.message, "error")
            return render_template("handover/import.html", form=form, preview=None)
        return redirect(url_for("handover.staff_preview", token=token, name=Path(upload.filename or "").name))
    return render_template("handover/import.html", form=form, preview=None,
                           rounds=db.session.scalars(db.select(TransferRound).order_by(TransferRound.id.desc()).limit(10)))


@bp.get("/admin/staff-import/<token>")
def staff_preview(token: str):  # type: ignore[no-untyped-def]
    require(current_user, "staff.import")
    path = uploads.path_of(token, "staff")
    try:
        preview = importer.validate(db.session, importer.read_file(path))
    except ValidationError as err:
        uploads.remove(path)
        return render_template("handover/import.html", form=UploadForm(), preview=None, error=err, rounds=[]), 400
    return render_template("handover/import.html", form=ConfirmForm(), preview=preview, token=token,
                           name=request.args.get("name", ""), summary=importer.summary(preview), rounds=[])


@bp.post("/admin/staff-import/<token>/apply")
@back_to("handover.staff_import")
def staff_apply(token: str):  # type: ignore[no-untyped-def]
    require(current_user, "staff.import")
    validated(ConfirmForm())
    importer.refuse_if_applied(db.session, token)
    path = uploads.path_of(token, "staff")
    rnd = importer.apply(db.session, current_user, importer.read_file(path), file_name=request.form.get("name", ""),
                         token=token)
    uploads.remove(path)  # the round is recorded under the token: a second apply is refused
    flash(f"人事異動を反映しました（{rnd.rows}人）。事務引継書を作成し、発令日に所属を移します。", "success")
    return redirect(url_for("handover.rounds", round=rnd.id))


@bp.get("/admin/handovers")
def rounds():  # type: ignore[no-untyped-def]
    require(current_user, "staff.import")
    all_rounds = list(db.session.scalars(db.select(TransferRound).order_by(TransferRound.id.desc()).limit(20)))
    round_id = request.args.get("round", type=int) or (all_rounds[0].id if all_rounds else None)
    data = handovers.round_dashboard(db.session, round_id)
    return render_template("handover/rounds.html", rounds=all_rounds, round_id=round_id, data=data, labels=STATE_LABELS)
