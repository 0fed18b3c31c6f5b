"""Log-in/out, own password, and the admin pages for users, units and the audit log."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.2+, not in types-WTForms yet

from app import audit, audit_names
from app.directory import signin
from app.directory.ldap import DirectoryError
from app.errors import ValidationError
from app.extensions import db
from app.forms import validated
from app.org import login as login_service
from app.org import passwords, sessions, targeting, throttle
from app.org import services as org
from app.org.forms import ConfirmForm, LoginForm, OwnPasswordForm, PasswordForm, UnitForm, UserForm
from app.org.models import Unit, User
from app.org.permissions import require
from app.wareki import JST, wareki
from app.webutil import day_arg, flash_error, paginate, safe_next

auth_bp = Blueprint("auth", __name__)
admin_bp = Blueprint("admin", __name__, url_prefix="/admin")


def init_app(app: Flask) -> None:
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)


@auth_bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        address, agent = sessions.client_info()
        device_id = throttle.read_device() or throttle.new_device_id()
        try:
            user = login_service.authenticate(db.session, form.login.data or "", form.password.data or "", address=address,
                                    device_id=device_id)
        except ValidationError as err:
            db.session.commit()  # the failure counters and the audit row must stay
            error = err.message
            status = 401
        except DirectoryError as err:
            db.session.commit()
            error = err.message
            status = 503
        else:
            token = sessions.start(db.session, user, ip=address, user_agent=agent)
            db.session.commit()
            next_url = safe_next(request.args.get("next"), url_for("main.dashboard"))
            session.clear()  # a fresh session at login: no fixation
            login_user(user)
            session[sessions.COOKIE_KEY] = token
            session.permanent = True
            resp = redirect(next_url)
            throttle.set_device_cookie(resp, device_id)
            return resp
    elif request.method == "POST":
        error = "ログインIDとパスワードを入力してください。"
        status = 400
    return render_template("auth/login.html", form=form, error=error), status


@auth_bp.post("/logout")
@login_required
def logout():  # type: ignore[no-untyped-def]
    # Only this browser: the user's other devices stay signed in.
    sessions.end(db.session, sessions.current_token(), "logout")
    audit.record(db.session, current_user, "auth.logout", "user", current_user.id)
    db.session.commit()
    logout_user()
    session.clear()
    flash("ログアウトしました。", "info")
    return redirect(url_for("auth.login"))


@auth_bp.route("/account/password", methods=["GET", "POST"])
@login_required
def own_password():  # type: ignore[no-untyped-def]
    form = OwnPasswordForm()
    if signin.configured() and not current_user.local_login:
        return render_template("auth/password.html", form=None, directory=True, **_own_sessions())
    if form.validate_on_submit():
        if not check_password_hash(current_user.password_hash, form.current.data or ""):
            form.current.errors = ["現在のパスワードが正しくありません。"]
        else:
            org.set_password(db.session, current_user, current_user, form.password.data or "",
                             keep_session=sessions.current_token())
            db.session.commit()
            flash("パスワードを変更しました。ほかの端末のログインは終了しました。", "success")
            return redirect(url_for("main.dashboard"))
    return render_template("auth/password.html", form=form, directory=False, **_own_sessions())


def _own_sessions() -> dict[str, object]:
    return {"live_sessions": sessions.list_live(db.session, current_user), "is_current": sessions.is_current,
            "end_form": ConfirmForm()}


@auth_bp.post("/account/sessions/end")
@login_required
def end_other_sessions():  # type: ignore[no-untyped-def]
    validated(ConfirmForm())
    n = org.end_sessions(db.session, current_user, current_user)
    db.session.commit()
    flash(f"ほかの端末のログイン（{n}件）を終了しました。", "success")
    return redirect(url_for("auth.own_password"))


@auth_bp.route("/account/setup/<token>", methods=["GET", "POST"])
def setup_password(token: str):  # type: ignore[no-untyped-def]
    """The one-time password-setting link (new accounts, admin resets)."""
    row = passwords.find(db.session, token)
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            user = passwords.redeem(db.session, token, form.password.data or "", form.confirm.data or "")
        except ValidationError as err:
            db.session.rollback()
            flash_error(err)
        else:
            db.session.commit()
            logout_user()
            session.clear()
            flash(f"{user.name}さんのパスワードを設定しました。ログインIDとパスワードでログインしてください。", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/setup.html", form=form, person=row.user)


# --- admin ---------------------------------------------------------------------------------


@admin_bp.before_request
@login_required
def _admin_only() -> None:
    require(current_user, "admin.access")


@admin_bp.get("/")
def index():  # type: ignore[no-untyped-def]
    return redirect(url_for("admin.users"))


def _unit_choices(include_inactive: bool = False) -> list[SelectChoice]:
    """Units grouped by 局 / ward office, for a <select> with optgroups."""
    units = org.list_units(db.session, include_inactive=include_inactive)
    return [
        SelectChoice(u.id, f"{u.name}{'' if u.active else '（無効）'}", optgroup=u.group_name) for u in units
    ]


@admin_bp.get("/users")
def users():  # type: ignore[no-untyped-def]
    require(current_user, "admin.users")
    q = request.args.get("q", "").strip()
    unit_id = request.args.get("unit", type=int)
    kind = request.args.get("kind") or None
    include_inactive = request.args.get("inactive") == "1"
    sort = request.args.get("sort", "unit")
    stmt = org.users_query(db.session, q=q, unit_id=unit_id, kind=kind, include_inactive=include_inactive, sort=sort)
    page = paginate(stmt, per_page=current_app.config["PAGE_SIZE"])
    return render_template(
        "admin/users.html", page=page, q=q, unit_id=unit_id, kind=kind, include_inactive=include_inactive,
        sort=sort, units=_unit_choices(),
        throttled=throttle.blocked_logins(db.session, [u.login for u in page.items]),
    )


@admin_bp.route("/users/new", methods=["GET", "POST"])
def user_new():  # type: ignore[no-untyped-def]
    require(current_user, "admin.users")
    form = UserForm()
    form.unit_id.choices = _unit_choices()
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors = ["初期パスワードを入力してください。"]
        else:
            try:
                user = org.create_user(
                    db.session, current_user, login=form.login.data or "", name=form.name.data or "",
                    unit=org_unit(form.unit_id.data), position=form.position.data or "",
                    password=form.password.data, is_admin=form.is_admin.data, email=form.email.data,
                    employee_no=form.employee_no.data, local_login=form.local_login.data,
                    duty_tags=org.parse_tags(form.duties.data), is_fixed_term=form.is_fixed_term.data,
                )
            except ValidationError as err:
                db.session.rollback()
                flash_error(err)
            else:
                db.session.commit()
                flash(f"職員「{user.name}」を登録しました。", "success")
                return redirect(url_for("admin.users", q=user.login))
    return render_template("admin/user_form.html", form=form, user=None, directory=signin.configured(),
                           tag_choices=targeting.duty_tag_choices(db.session))


def org_unit(unit_id: int | None) -> Unit:
    unit = db.session.get(Unit, unit_id or 0)
    if unit is None:
        raise ValidationError("所属を選んでください。")
    return unit


@admin_bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user_edit(user_id: int):  # type: ignore[no-untyped-def]
    require(current_user, "admin.users")
    user = org.get_user(db.session, user_id)
    form = UserForm(obj=user)
    if request.method == "GET":
        form.duties.data = "、".join(user.duty_tags)
    form.unit_id.choices = _unit_choices(include_inactive=True)
    if form.validate_on_submit():
        try:
            org.update_user(
                db.session, current_user, user, login=form.login.data or "", name=form.name.data or "",
                unit=org_unit(form.unit_id.data), position=form.position.data or "", is_admin=form.is_admin.data,
                email=form.email.data, employee_no=form.employee_no.data,
                # The box is shown only with a directory: without one the flag is left as it is.
                local_login=form.local_login.data if signin.configured() else None,
                duty_tags=org.parse_tags(form.duties.data), is_fixed_term=form.is_fixed_term.data,
            )
            if form.password.data:
                org.set_password(db.session, current_user, user, form.password.data,
                                 keep_session=sessions.current_token())  # kept only when editing oneself
        except ValidationError as err:
            db.session.rollback()
            flash_error(err)
        else:
            db.session.commit()
            flash(f"職員「{user.name}」の情報を保存しました。", "success")
            return redirect(url_for("admin.user_edit", user_id=user.id))
    history = db.session.scalars(
        audit.search(db.session, object_type="user").where(audit.AuditEntry.object_id == str(user.id)).limit(20)
    )
    return render_template(
        "admin/user_form.html", form=form, user=user, action_form=ConfirmForm(), history=list(history),
        directory=signin.configured(), needs_password=passwords.needs_password(user),
        tag_choices=targeting.duty_tag_choices(db.session),
        locked=org.is_throttled(db.session, user), labels=audit.ACTION_LABELS,
        live_sessions=sessions.list_live(db.session, user),
    )


@admin_bp.post("/users/<int:user_id>/<any(deactivate, reactivate, unlock, sessions, link):action>")
def user_action(user_id: int, action: str):  # type: ignore[no-untyped-def]
    form = ConfirmForm()
    validated(form)
    user = org.get_user(db.session, user_id)
    if action == "unlock":
        org.unlock_user(db.session, current_user, user)
        message = f"職員「{user.name}」のログイン制限を解除しました。"
    elif action == "sessions":
        n = org.end_sessions(db.session, current_user, user)
        message = f"職員「{user.name}」のログイン（{n}件）をすべて終了しました。"
    elif action == "link":
        url, expires = passwords.issue(db.session, current_user, user)
        message = (f"職員「{user.name}」のパスワード設定用リンクを発行しました（1回限り、{wareki(expires)}まで有効）。"
                   f"本人に渡してください: {url}")
    else:
        org.set_user_active(db.session, current_user, user, action == "reactivate")
        message = f"職員「{user.name}」を{'有効に' if action == 'reactivate' else '無効に'}しました。"
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@admin_bp.get("/units")
def units():  # type: ignore[no-untyped-def]
    require(current_user, "admin.units")
    include_inactive = request.args.get("inactive") == "1"
    all_units = org.list_units(db.session, include_inactive=include_inactive)
    counts = org.active_user_counts(db.session)
    return render_template("admin/units.html", units=all_units, counts=counts, include_inactive=include_inactive,
                           action_form=ConfirmForm())


@admin_bp.route("/units/new", methods=["GET", "POST"])
@admin_bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
def unit_form(unit_id: int | None = None):  # type: ignore[no-untyped-def]
    require(current_user, "admin.units")
    unit = db.session.get(Unit, unit_id) if unit_id else None
    if unit_id and unit is None:
        abort(404)
    form = UnitForm(obj=unit)
    if form.validate_on_submit():
        try:
            fields = {"kind": form.kind.data or "", "group_name": form.group_name.data or "",
                      "section": form.section.data or ""}
            if unit is None:
                unit = org.create_unit(db.session, current_user, **fields)
            else:
                org.update_unit(db.session, current_user, unit, **fields)
        except ValidationError as err:
            db.session.rollback()
            flash_error(err)
        else:
            db.session.commit()
            flash(f"所属「{unit.name}」を保存しました。", "success")
            return redirect(url_for("admin.units"))
    return render_template("admin/unit_form.html", form=form, unit=unit)


@admin_bp.post("/units/<int:unit_id>/<any(deactivate, reactivate):action>")
def unit_action(unit_id: int, action: str):  # type: ignore[no-untyped-def]
    form = ConfirmForm()
    validated(form)
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        abort(404)
    try:
        org.set_unit_active(db.session, current_user, unit, action == "reactivate")
    except ValidationError as err:
        db.session.rollback()
        flash_error(err)
    else:
        db.session.commit()
        flash(f"所属「{unit.name}」を{'有効に' if action == 'reactivate' else '無効に'}しました。", "success")
    return redirect(url_for("admin.units", inactive="1"))


def _parse_day(name: str) -> datetime | None:
    """A period bound of the filter as the start of that day in Japan; a bad one is said and ignored."""
    try:
        day = day_arg(name)
    except ValidationError as err:
        flash(err.message, "error")
        return None
    return datetime.combine(day, time.min, tzinfo=JST) if day else None


@admin_bp.get("/audit")
def audit_log():  # type: ignore[no-untyped-def]
    require(current_user, "admin.audit")
    action = request.args.get("action") or None
    object_type = request.args.get("object_type") or None
    actor_login = request.args.get("actor", "").strip()
    since = _parse_day("since")
    until = _parse_day("until")
    actor_id = None
    if actor_login:
        actor = db.session.scalar(db.select(User).where(User.login == actor_login))
        actor_id = actor.id if actor else -1
        if actor is None:
            flash(f"ログインID「{actor_login}」の職員は見つかりません。", "error")
    stmt = audit.search(
        db.session, action=action, actor_id=actor_id, object_type=object_type, since=since,
        until=until + timedelta(days=1) if until else None,
    )
    page = paginate(stmt, per_page=50)
    return render_template(
        "admin/audit.html", page=page, lines=audit_names.lines(db.session, list(page.items)),
        labels=audit.ACTION_LABELS, objects=audit.OBJECT_LABELS, action=action, object_type=object_type,
        actor=actor_login, since=request.args.get("since", ""), until=request.args.get("until", ""),
    )
