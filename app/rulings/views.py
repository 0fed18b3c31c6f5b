"""判断事例集, the inquiry inbox, filing, answering and approving."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.2+, not in types-WTForms yet

from app.errors import ValidationError
from app.extensions import db
from app.forms import validated
from app.manuals import services as manuals
from app.markdown import split_sections
from app.org import services as org
from app.org.models import HQ
from app.org.permissions import require
from app.revisions.forms import split_tags
from app.rulings import services as rulings
from app.rulings.forms import AnswerForm, InquiryForm, NoteForm
from app.rulings.models import AWAITING, OPEN, STATUS_LABELS
from app.usage.services import count_view
from app.webutil import back_to, flash_error, login_required_for, paginate

bp = Blueprint("rulings", __name__)
login_required_for(bp)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/rulings")
def index():  # type: ignore[no-untyped-def]
    filters = {
        "owner_unit_id": request.args.get("owner", type=int),
        "tag": request.args.get("tag") or None,
        "ward": request.args.get("ward") or None,
        "q": request.args.get("q", "").strip(),
        "sort": request.args.get("sort", "new"),
    }
    manual = None
    if request.args.get("manual"):
        manual = manuals.get_manual(db.session, current_user, request.args["manual"])
    stmt = rulings.rulings_query(manual_id=manual.id if manual else None, **filters)  # type: ignore[arg-type]
    page = paginate(stmt, per_page=current_app.config["PAGE_SIZE"])
    return render_template("rulings/index.html", page=page, filters=filters, manual=manual,
                           owners=org.list_units(db.session, kind=HQ), wards=org.ward_offices(db.session),
                           flagged=rulings.flagged(db.session, current_user) if current_user.is_hq else [])


@bp.get("/rulings/<number>")
def show(number: str):  # type: ignore[no-untyped-def]
    ruling = rulings.get_ruling(db.session, number)
    count_view(db.session, current_user, "ruling", ruling.id)
    return _detail(ruling)


@bp.get("/inquiries")
def inquiries():  # type: ignore[no-untyped-def]
    status = request.args.get("status", "open")
    page = paginate(rulings.inbox_query(current_user, status=status if status != "all" else None),
                       per_page=current_app.config["PAGE_SIZE"])
    return render_template("rulings/inbox.html", page=page, status=status, labels=STATUS_LABELS)


@bp.route("/inquiries/new", methods=["GET", "POST"])
def new():  # type: ignore[no-untyped-def]
    require(current_user, "inquiry.create")
    form = InquiryForm()
    slug = request.values.get("manual") or form.manual.data
    manual = manuals.get_manual(db.session, current_user, slug) if slug else None
    if manual is not None:
        standing = manuals.standing(db.session, manual)
        view = manuals.read_version(manual, standing.shown or manuals.get_version(db.session, manual), standing)
        form.anchor.choices = [SelectChoice("", "マニュアル全体")] + [
            SelectChoice(s.anchor, s.heading) for s in split_sections(view.body) if s.anchor]
        form.manual.data = manual.slug
        if request.method == "GET":
            form.anchor.data = request.args.get("anchor", "")
    form.owner_unit.choices = [SelectChoice(u.id, u.name) for u in org.list_units(db.session, kind=HQ)]
    if form.validate_on_submit():
        try:
            inquiry = rulings.file_inquiry(
                db.session, current_user, kind=form.kind.data or "", subject=form.subject.data or "",
                body=form.body.data or "", urgency=form.urgency.data or "通常", manual=manual,
                anchor=form.anchor.data or "" if manual else "",
                owner_unit=None if manual else org.get_unit(db.session, form.owner_unit.data or 0),
            )
        except ValidationError as err:
            db.session.rollback()  # the form is shown again with what was typed
            flash_error(err)
        else:
            flash(f"{inquiry.kind}を{inquiry.owner_unit.name}に送信しました。回答があるとこの画面に表示されます。", "success")
            return redirect(url_for("rulings.detail", inquiry_id=inquiry.id))
    elif request.method == "POST":
        for errors in form.errors.values():
            for e in errors:
                flash(str(e), "error")
    return render_template("rulings/new.html", form=form, manual=manual)


def _detail(inquiry):  # type: ignore[no-untyped-def]
    answer_form = AnswerForm(data={
        "answer": inquiry.answer, "basis": inquiry.basis, "tags": "、".join(inquiry.tag_list),
        "share_all": inquiry.share_all, "notice_sections": [s for s in inquiry.notice_sections.split("\n") if s]})
    return render_template("rulings/show.html", inquiry=inquiry, answer_form=answer_form, note_form=NoteForm(),
                           OPEN=OPEN, AWAITING=AWAITING)


@bp.get("/inquiries/<int:inquiry_id>")
def detail(inquiry_id: int):  # type: ignore[no-untyped-def]
    inquiry = rulings.get_inquiry(db.session, current_user, inquiry_id)
    if inquiry.is_published and request.args.get("raw") != "1":
        return redirect(url_for("rulings.show", number=inquiry.number))
    return _detail(inquiry)


def _back(inquiry):  # type: ignore[no-untyped-def]
    if inquiry.is_published:
        return redirect(url_for("rulings.show", number=inquiry.number))
    return redirect(url_for("rulings.detail", inquiry_id=inquiry.id))


@bp.post("/inquiries/<int:inquiry_id>/answer")
def answer(inquiry_id: int):  # type: ignore[no-untyped-def]
    inquiry = rulings.get_inquiry(db.session, current_user, inquiry_id)
    form = AnswerForm()
    validated(form)
    submit = request.form.get("submit_for_approval") == "1"
    try:
        rulings.save_answer(db.session, current_user, inquiry, answer=form.answer.data or "",
                            basis=form.basis.data or "", tags=split_tags(form.tags.data),
                            share_all=bool(form.share_all.data), submit=submit,
                            notice_sections=list(form.notice_sections.data or []))
    except ValidationError as err:
        db.session.rollback()  # the answer form is shown again with what was typed
        flash_error(err)
        return _detail(rulings.get_inquiry(db.session, current_user, inquiry_id)), 400
    flash("回答案を課長の決裁に回しました。" if submit else "回答案を保存しました。", "success")
    return _back(inquiry)


@bp.post("/inquiries/<int:inquiry_id>/amend")
@back_to("rulings.detail", inquiry_id="inquiry_id")
def amend(inquiry_id: int):  # type: ignore[no-untyped-def]
    inquiry = rulings.get_inquiry(db.session, current_user, inquiry_id)
    form = AnswerForm()
    validated(form)
    rulings.propose_amendment(db.session, current_user, inquiry, answer=form.answer.data or "",
                              basis=form.basis.data or "")
    flash("改訂案を課長の決裁に回しました。決裁されるまでは現在の回答が表示されます。", "success")
    return _back(inquiry)


@bp.post("/inquiries/<int:inquiry_id>/<any(approve, return, recheck, reflected, amend_approve, amend_return):action>")
@back_to("rulings.detail", inquiry_id="inquiry_id")
def act(inquiry_id: int, action: str):  # type: ignore[no-untyped-def]
    inquiry = rulings.get_inquiry(db.session, current_user, inquiry_id)
    form = NoteForm()
    validated(form)
    comment = form.comment.data or ""
    if action == "approve":
        rulings.approve(db.session, current_user, inquiry)
        message = (f"決裁しました。判断事例 {inquiry.number} として全区に公表しました。" if inquiry.is_published
                   else "決裁しました。照会した課に回答が表示されます。")
    elif action == "return":
        rulings.return_answer(db.session, current_user, inquiry, comment)
        message = "回答案を差し戻しました。"
    elif action in ("amend_approve", "amend_return"):
        rulings.decide_amendment(db.session, current_user, inquiry, approve=action == "amend_approve",
                                 comment=comment)
        message = "改訂を決裁しました。" if action == "amend_approve" else "改訂案を差し戻しました。"
    elif action == "recheck":
        rulings.confirm_recheck(db.session, current_user, inquiry, comment)
        message = "判断事例の内容を確認済みにしました。"
    else:
        version = int(form.version.data or 0) if (form.version.data or "").isdigit() else 0
        rulings.mark_reflected(db.session, current_user, inquiry, version)
        message = f"改善提案を第{version}版に反映済みとして記録しました。"
    flash(message, "success")
    return _back(inquiry)
