"""A registered 人事異動 (内示) round: its rows, and correcting (a corrected file) or cancelling it
(one person or the whole round) before its 発令日, with the handovers it opened."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.file import FileField
from sqlalchemy import select

from app import uploads
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.forms import TebikiForm, validated
from app.handover import importer, rounds
from app.handover.models import STATE_LABELS, Handover, StaffTransfer, TransferRound
from app.org.forms import ConfirmForm
from app.org.permissions import require
from app.webutil import flash_error

bp = Blueprint("rounds", __name__, url_prefix="/admin/rounds")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.before_request
@login_required
def _admin_only() -> None:
    require(current_user, "staff.import")


class CorrectionForm(TebikiForm):
    file = FileField("訂正した人事異動ファイル（.csv または .xlsx）")


def _round(round_id: int) -> TransferRound:
    rnd = db.session.get(TransferRound, round_id)
    if rnd is None:
        raise NotFound("指定された人事異動は見つかりません。")
    return rnd


def _page(rnd: TransferRound, **extra: object):  # type: ignore[no-untyped-def]
    transfers = rounds.transfers_of(db.session, rnd)
    handovers = {h.transfer_id: h for h in db.session.scalars(select(Handover).where(Handover.round_id == rnd.id))}
    return render_template("handover/round.html", rnd=rnd, transfers=transfers, handovers=handovers,
                           labels=STATE_LABELS, form=ConfirmForm(), upload=CorrectionForm(), **extra)


@bp.get("/<int:round_id>")
def show(round_id: int):  # type: ignore[no-untyped-def]
    return _page(_round(round_id))


@bp.post("/<int:round_id>/cancel")
def cancel(round_id: int):  # type: ignore[no-untyped-def]
    validated(ConfirmForm())
    rnd = _round(round_id)
    try:
        n, removed, kept = rounds.cancel_round(db.session, current_user, rnd, reason=request.form.get("reason", ""))
    except (Conflict, ValidationError) as err:
        db.session.rollback()
        flash_error(err)
    else:
        db.session.commit()
        flash(f"人事異動「{rnd.name}」を取り消しました（{n}人、事務引継書 {removed}件を削除"
              f"{f'、確認済みの {kept}件は記録として残しました' if kept else ''}）。", "success")
    return redirect(url_for("rounds.show", round_id=round_id))


@bp.post("/<int:round_id>/transfers/<int:transfer_id>/cancel")
def cancel_one(round_id: int, transfer_id: int):  # type: ignore[no-untyped-def]
    validated(ConfirmForm())
    transfer = db.session.get(StaffTransfer, transfer_id)
    if transfer is None or transfer.round_id != round_id:
        raise NotFound("指定された異動は見つかりません。")
    try:
        removed, kept = rounds.cancel_transfer(db.session, current_user, transfer,
                                                 reason=request.form.get("reason", ""))
    except (Conflict, ValidationError) as err:
        db.session.rollback()
        flash_error(err)
    else:
        db.session.commit()
        flash(f"{transfer.user.name}さんの異動を取り消しました（事務引継書 {removed}件を削除"
              f"{f'、確認済みの {kept}件は記録として残しました' if kept else ''}）。", "success")
    return redirect(url_for("rounds.show", round_id=round_id))


@bp.post("/<int:round_id>/correct")
def correct_upload(round_id: int):  # type: ignore[no-untyped-def]
    rnd = _round(round_id)
    form = CorrectionForm()
    validated(form)
    try:
        token = uploads.save(form.file.data, "staff")
    except ValidationError as err:
        flash_error(err)
        return redirect(url_for("rounds.show", round_id=rnd.id))
    return redirect(url_for("rounds.correct_preview", round_id=rnd.id, token=token,
                            name=Path(form.file.data.filename or "").name))


@bp.get("/<int:round_id>/correct/<token>")
def correct_preview(round_id: int, token: str):  # type: ignore[no-untyped-def]
    rnd = _round(round_id)
    path = uploads.path_of(token, "staff")
    try:
        correction = rounds.plan_correction(db.session, rnd, importer.read_file(path))
    except (ValidationError, Conflict) as err:
        uploads.remove(path)
        return _page(rnd, error=err), 400
    return _page(rnd, correction=correction, token=token, name=request.args.get("name", ""))


@bp.post("/<int:round_id>/correct/<token>/apply")
def correct_apply(round_id: int, token: str):  # type: ignore[no-untyped-def]
    validated(ConfirmForm())
    rnd = _round(round_id)
    path = uploads.path_of(token, "staff")
    try:
        correction = rounds.apply_correction(db.session, current_user, rnd, importer.read_file(path),
                                               file_name=request.form.get("name", ""))
    except (ValidationError, Conflict) as err:
        db.session.rollback()
        flash_error(err)
        return redirect(url_for("rounds.show", round_id=round_id))
    db.session.commit()
    uploads.remove(path)
    counts = correction.counts()
    flash("人事異動を訂正しました（" + "、".join(f"{k} {v}人" for k, v in counts.items()) + "）。", "success")
    return redirect(url_for("rounds.show", round_id=round_id))
