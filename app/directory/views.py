"""Admin pages: the directory (settings, last sync, department → unit mapping), the staff roster
import (upload → preview → apply) and the password-setting links for new accounts."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.file import FileField

from app import tables, uploads
from app.directory import roster, signin
from app.directory import services as directory
from app.directory.ldap import Settings, SettingsError
from app.errors import ValidationError
from app.extensions import db
from app.forms import TebikiForm, validated
from app.org import passwords
from app.org import services as org
from app.org.forms import ConfirmForm
from app.org.models import User
from app.org.permissions import require
from app.wareki import wareki
from app.webutil import flash_error

bp = Blueprint("directory", __name__, url_prefix="/admin")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.before_request
@login_required
def _admin_only() -> None:
    require(current_user, "admin.users")


class RosterForm(TebikiForm):
    file = FileField("職員名簿ファイル（.csv または .xlsx）")


def _settings() -> tuple[Settings | None, str]:
    try:
        return Settings.from_config(), ""
    except SettingsError as err:
        return None, "、".join([err.message, *err.details])


@bp.get("/directory")
def index():  # type: ignore[no-untyped-def]
    only_unmapped = request.args.get("unmapped") == "1"
    settings, settings_error = _settings()
    units = org.list_units(db.session)
    return render_template(
        "directory/index.html", settings=settings, settings_error=settings_error,
        rows=directory.departments(db.session, only_unmapped=only_unmapped), only_unmapped=only_unmapped,
        units=units, form=ConfirmForm(), last=directory.last_sync(db.session),
        accounts=directory.directory_accounts(db.session))


@bp.post("/directory/map")
def map_department():  # type: ignore[no-untyped-def]
    validated(ConfirmForm())
    department_id = request.form.get("department_id", type=int)
    unit_id = request.form.get("unit_id", type=int)
    value = request.form.get("value", "")
    try:
        if not department_id:
            department_id = directory.add_department(db.session, current_user, value).id
        unit = org.get_unit(db.session, unit_id) if unit_id else None
        dept = directory.set_mapping(db.session, current_user, department_id, unit)
    except ValidationError as err:
        db.session.rollback()
        flash_error(err)
    else:
        db.session.commit()
        flash(f"「{dept.value}」を{'「' + unit.name + '」に対応付けました' if unit else '対応付けなしにしました'}。"
              "次回の同期・ログイン・名簿の取込から使われます。", "success")
    return redirect(url_for("directory.index", unmapped=request.args.get("unmapped")))


# --- staff roster -----------------------------------------------------------------------------------


@bp.route("/roster", methods=["GET", "POST"])
def roster_upload():  # type: ignore[no-untyped-def]
    form = RosterForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            token = uploads.save(upload, "roster")
        except ValidationError as err:
            flash(err.message, "error")
        else:
            return redirect(url_for("directory.roster_preview", token=token, name=Path(upload.filename or "").name))
    unset = sum(1 for u in db.session.scalars(db.select(User).where(User.active.is_(True)))
                if passwords.needs_password(u))
    return render_template("directory/roster.html", form=form, preview=None, unset=unset, link_form=ConfirmForm(),
                           directory=signin.configured())


@bp.get("/roster/<token>")
def roster_preview(token: str):  # type: ignore[no-untyped-def]
    path = uploads.path_of(token, "roster")
    try:
        preview = roster.validate(db.session, roster.read_file(path))
    except ValidationError as err:
        uploads.remove(path)
        return render_template("directory/roster.html", form=RosterForm(), preview=None, error=err, unset=0,
                               link_form=ConfirmForm(), directory=signin.configured()), 400
    return render_template("directory/roster.html", form=ConfirmForm(), preview=preview, token=token,
                           name=request.args.get("name", ""), counts=preview.counts(), directory=signin.configured())


@bp.post("/roster/<token>/apply")
def roster_apply(token: str):  # type: ignore[no-untyped-def]
    validated(ConfirmForm())
    path = uploads.path_of(token, "roster")
    try:
        result = roster.apply(db.session, current_user, roster.read_file(path), file_name=request.form.get("name", ""))
    except ValidationError as err:
        db.session.rollback()
        flash_error(err)
        return redirect(url_for("directory.roster_upload"))
    db.session.commit()
    uploads.remove(path)
    flash(f"職員名簿を反映しました（新規 {len(result.created)}人、更新 {result.updated}人、異動 {result.moved}人、"
          f"再有効化 {result.reactivated}人、変更なし {result.unchanged}人）。", "success")
    if result.created and not signin.configured():
        flash("新しい職員には「パスワード設定用リンクを発行する」でリンクを作り、本人に渡してください。", "info")
    return redirect(url_for("directory.roster_upload"))


@bp.post("/password-links")
def password_links():  # type: ignore[no-untyped-def]
    """The links as a file, made in this response (only their hashes are kept)."""
    validated(ConfirmForm())
    issued = passwords.issue_for_new_accounts(db.session, current_user)
    db.session.commit()
    if not issued:
        flash("パスワードが未設定の職員はいません。", "info")
        return redirect(url_for("directory.roster_upload"))
    rows: list[list[object]] = [["ログインID", "氏名", "所属", "パスワード設定用リンク", "有効期限"]]
    rows += [[u.login, u.name, u.unit.name, url, wareki(expires)] for u, url, expires in issued]
    current_app.logger.info("issued %d password links", len(issued))
    return tables.download(rows, "password-links", request.form.get("format", "csv"))
