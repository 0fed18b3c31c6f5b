"""Drafting and approving pages: workspace, new manual, editor, 意見照会, 決裁."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.2+, not in types-WTForms yet

from app.documents import attachments
from app.errors import ValidationError
from app.extensions import db
from app.forms import validated
from app.manuals import diff
from app.manuals import services as manuals
from app.manuals.document import parse
from app.markdown import FileLinks, render, split_sections
from app.org import services as org
from app.org.models import HQ
from app.org.permissions import can, require, require_visible
from app.org.targeting import duty_tag_choices
from app.revisions import base, consultation, drafting, lists, questions, route
from app.revisions.forms import (
    CommentForm,
    ConsultForm,
    DecisionForm,
    DispositionForm,
    DraftForm,
    NewManualForm,
    SubmitForm,
    split_tags,
)
from app.revisions.models import (
    ABOLISH,
    EDITABLE_STATES,
    EVENT_LABELS,
    MAX_QUESTIONS,
    NEW,
    REVISE,
    SIGNIFICANCE_LABELS,
    URGENT_DUE_DAYS,
    ConsultationComment,
    Revision,
)
from app.wareki import today_jst
from app.webutil import back_to, flash_error, login_required_for

bp = Blueprint("revisions", __name__)
login_required_for(bp)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _revision(revision_id: int) -> Revision:
    """The revision, if this user may see it at all (otherwise the same 404 as a missing one: a refusal
    must not tell who cannot see a draft that it exists, nor its state)."""
    revision = base.get_revision(db.session, revision_id)
    require_visible(current_user, "revision.view", revision, what="指定された改正案")
    return revision


def _fields(form: DraftForm) -> drafting.DraftFields:
    return drafting.DraftFields(
        title=form.title.data or "", targets=list(form.targets.data or []), tags=split_tags(form.tags.data),
        effective=form.effective.data, review_months=form.review_months.data or 12,
        body=(form.body.data or "").replace("\r\n", "\n"), reason=form.reason.data or "",
        summary=form.summary.data or "",
        understanding=questions.from_form(request.form) if "significance" in request.form else None,
    )


def _understanding(revision: Revision | None, body: str) -> dict[str, object]:
    """The significance / audience / questions part of the editor: what was typed, or what is stored."""
    if request.method == "POST" and "significance" in request.form:
        u = questions.from_form(request.form)
    elif revision is not None:
        u = questions.Understanding(revision.significance, questions.audience_of(revision), [
            questions.QuestionDraft(q.prompt, q.choice_list, q.correct, q.explanation, q.anchor)
            for q in questions.questions_of(db.session, revision)])
    else:
        u = questions.Understanding()
    return {"u": u, "audience": u.audience, "duty_tags": duty_tag_choices(db.session),
            "headings": [(s.anchor, s.heading) for s in split_sections(body) if s.anchor],
            "significance_labels": SIGNIFICANCE_LABELS, "max_questions": MAX_QUESTIONS}


def _form_errors(form: DraftForm) -> None:
    for field, errors in form.errors.items():
        if field == "csrf_token":
            continue
        for e in errors:
            flash(f"{getattr(form, field).label.text}: {e}", "error")


@bp.get("/revisions")
def index():  # type: ignore[no-untyped-def]
    require(current_user, "revision.workspace")
    found = lists.workspace(db.session, current_user)
    shown = [r for items in found.values() for r in items if r.is_open]
    return render_template("revisions/index.html", lists=found, siblings=lists.siblings(db.session, shown))


@bp.route("/manuals/new", methods=["GET", "POST"])
def new_manual():  # type: ignore[no-untyped-def]
    require(current_user, "manual.create")
    form = NewManualForm()
    if request.method == "GET":
        form.effective.data = today_jst() + timedelta(days=30)
        form.reason.data = "新規制定"
        form.body.data = "# マニュアル名\n\n## 1 目的\n\n## 2 対象となる事務\n\n## 3 事務の流れ\n\n1. \n2. \n"
    if form.validate_on_submit():
        try:
            revision = drafting.create_manual(db.session, current_user, slug=form.slug.data or "", fields=_fields(form))
        except ValidationError as err:
            db.session.rollback()  # the form is shown again with what was typed; nothing is saved
            flash_error(err)
        else:
            flash("マニュアルの制定案を作成しました。内容を確認して決裁に回してください。", "success")
            return redirect(url_for("revisions.show", revision_id=revision.id))
    elif request.method == "POST":
        _form_errors(form)
    return render_template("revisions/edit.html", form=form, revision=None, new=True, stale=None,
                           **_understanding(None, form.body.data or ""))


@bp.post("/manuals/<slug>/revise")
@back_to("manuals.show", slug="slug")
def open_revision(slug: str):  # type: ignore[no-untyped-def]
    manual = manuals.get_manual(db.session, current_user, slug)
    kind = ABOLISH if request.form.get("kind") == "obsolete" else REVISE
    validated(DecisionForm())
    others = drafting.open_drafts(db.session, manual)
    revision = drafting.open_revision(db.session, current_user, manual, kind=kind)
    if others:
        flash("このマニュアルには進行中の改正案があります: " + "、".join(
            f"#{r.id}（{r.kind_label}・{r.state_label}・{r.drafter.name}）" for r in others)
            + "。内容が重なる場合は、公布時に競合の解消が必要になります。", "warning")
    if kind == ABOLISH:
        flash("廃止案を作成しました。廃止理由を入力して決裁に回してください。", "success")
    return redirect(url_for("revisions.edit", revision_id=revision.id))


def _fill(form: DraftForm, revision: Revision) -> None:
    doc = parse(base.current_text(revision))
    form.title.data = doc.title
    form.targets.data = doc.targets
    form.tags.data = "、".join(doc.tags)
    form.effective.data = revision.effective_date  # a new draft does not carry the old 施行日 over
    form.review_months.data = doc.review_months
    form.body.data = doc.body
    form.reason.data = revision.reason
    form.summary.data = revision.summary
    form.head.data = revision.head_commit


@bp.route("/revisions/<int:revision_id>/edit", methods=["GET", "POST"])
def edit(revision_id: int):  # type: ignore[no-untyped-def]
    revision = _revision(revision_id)
    require(current_user, "revision.edit", revision)
    if revision.state not in EDITABLE_STATES:
        flash(f"この改正案は「{revision.state_label}」のため編集できません。", "error")
        return redirect(url_for("revisions.show", revision_id=revision.id))
    form = DraftForm()
    stale = None
    if request.method == "GET":
        _fill(form, revision)
    elif form.validate_on_submit():
        try:
            changed = drafting.save_draft(db.session, current_user, revision, _fields(form), expected_head=form.head.data or "")
        except drafting.StaleDraft as err:
            db.session.rollback()
            stale = err
            flash(err.message, "error")
            revision = _revision(revision_id)
            form.head.data = revision.head_commit  # saving again now means "mine wins, I have seen theirs"
        except ValidationError as err:
            db.session.rollback()  # the editor is shown again with what was typed
            flash_error(err)
        else:
            flash("保存しました。" if changed else "変更はありません（保存済みの内容と同じです）。", "success")
            for warning in drafting.effective_warnings(revision):
                flash(warning, "warning")
            if request.form.get("then") == "show":
                return redirect(url_for("revisions.show", revision_id=revision.id))
            return redirect(url_for("revisions.edit", revision_id=revision.id))
    else:
        _form_errors(form)
    return render_template("revisions/edit.html", form=form, revision=revision, new=False, stale=stale,
                           base_text=base.base_text(revision), **_understanding(revision, form.body.data or ""))


@bp.post("/revisions/preview")
def preview():  # type: ignore[no-untyped-def]
    if not DecisionForm().validate_on_submit():
        return {"error": "CSRF"}, 400
    body = request.form.get("body", "")
    if len(body) > drafting.MAX_BODY:
        return {"error": "本文が長すぎます。"}, 413
    revision_id = request.args.get("revision", type=int)
    return {"html": render(body, _draft_links(_revision(revision_id)) if revision_id else None).html}


def _draft_links(revision: Revision) -> FileLinks:
    """files/… in a draft point at the draft's own files (served to those who may see it)."""
    return attachments.links(attachments.list_files(revision.head_commit or None, revision.manual.slug),
                             attachments.draft_url(revision.id))


@bp.get("/revisions/<int:revision_id>")
def show(revision_id: int):  # type: ignore[no-untyped-def]
    revision = _revision(revision_id)
    text = base.current_text(revision) if revision.head_commit else ""
    doc = parse(text) if text else None
    old = base.base_text(revision)
    sections = diff.compare(parse(old).body if old else "", doc.body) if doc else []
    comment_form = CommentForm()
    if doc:
        comment_form.anchor.choices = [SelectChoice("", "全体について")] + [
            SelectChoice(s.anchor, s.heading) for s in split_sections(doc.body) if s.anchor]
    submit_form = SubmitForm()
    submit_form.consult_unit.choices = [SelectChoice(0, "なし")] + [
        SelectChoice(u.id, u.name) for u in org.list_units(db.session, kind=HQ)
        if u.id != revision.manual.owner_unit_id]
    all_comments = consultation.comments(db.session, revision)
    if current_user.is_ward and not can(current_user, "revision.edit", revision):
        visible_comments = [c for c in all_comments if c.unit_id == current_user.unit_id]
    else:
        visible_comments = all_comments
    return render_template(
        "revisions/show.html", revision=revision, doc=doc,
        others=drafting.open_drafts(db.session, revision.manual, exclude=revision.id),
        conflicts=drafting.conflicts_of(revision), today=today_jst(),
        rendered=render(doc.body, _draft_links(revision)) if doc else None,
        sections=sections, comments=visible_comments, comment_form=comment_form, submit_form=submit_form,
        consult_form=ConsultForm(data={"deadline": today_jst() + timedelta(days=14)}), decision_form=DecisionForm(),
        disposition_form=DispositionForm(), event_labels=EVENT_LABELS, consultation_open=consultation.consultation_open(revision),
        NEW=NEW, questions=questions.questions_of(db.session, revision), audience=questions.audience_of(revision),
        URGENT_DUE_DAYS=URGENT_DUE_DAYS,
    )


def _done(revision_id: int, message: str):  # type: ignore[no-untyped-def]
    flash(message, "success")
    return redirect(url_for("revisions.show", revision_id=revision_id))


@bp.post("/revisions/<int:revision_id>/consult")
@back_to("revisions.show", revision_id="revision_id")
def consult(revision_id: int):  # type: ignore[no-untyped-def]
    form = ConsultForm()
    if not form.validate_on_submit() or form.deadline.data is None:
        raise ValidationError("意見照会の期限を日付で入力してください。")
    revision = _revision(revision_id)
    consultation.start_consultation(db.session, current_user, revision, form.deadline.data)
    return _done(revision_id, "意見照会を開始しました。対象の区役所・総合支所の課に表示されます。")


@bp.post("/revisions/<int:revision_id>/comments")
@back_to("revisions.show", revision_id="revision_id")
def comment(revision_id: int):  # type: ignore[no-untyped-def]
    # The anchor is checked by the service against the draft's headings.
    validated(DecisionForm())
    revision = _revision(revision_id)
    consultation.add_comment(db.session, current_user, revision, anchor=request.form.get("anchor", ""),
                             body=request.form.get("body", ""))
    return _done(revision_id, "意見を提出しました。")


@bp.post("/revisions/<int:revision_id>/comments/<int:comment_id>")
@back_to("revisions.show", revision_id="revision_id")
def dispose(revision_id: int, comment_id: int):  # type: ignore[no-untyped-def]
    form = DispositionForm()
    validated(form)
    revision = _revision(revision_id)
    comment_row = db.session.get(ConsultationComment, comment_id)
    if comment_row is None or comment_row.revision_id != revision_id:
        abort(404)
    consultation.dispose_comment(db.session, current_user, revision, comment_row,
                                 disposition=form.disposition.data or "", reason=form.reason.data or "")
    return _done(revision_id, "意見への対応を記録しました。")


@bp.post("/revisions/<int:revision_id>/submit")
@back_to("revisions.show", revision_id="revision_id")
def submit(revision_id: int):  # type: ignore[no-untyped-def]
    validated(DecisionForm())
    unit_id = request.form.get("consult_unit", type=int) or 0
    consult_unit = org.get_unit(db.session, unit_id) if unit_id else None
    route.submit(db.session, current_user, _revision(revision_id), consult_unit=consult_unit,
                 early=request.form.get("early") == "1")
    return _done(revision_id, "決裁に回付しました。")


@bp.post("/revisions/<int:revision_id>/<any(approve, return, withdraw):decision>")
@back_to("revisions.show", revision_id="revision_id")
def decide(revision_id: int, decision: str):  # type: ignore[no-untyped-def]
    """The three decisions on a revision share one form (a comment) and one route."""
    form = DecisionForm()
    validated(form)
    revision = _revision(revision_id)
    comment = form.comment.data or ""
    if decision == "return":
        route.return_revision(db.session, current_user, revision, comment)
        return _done(revision_id, "差し戻しました。")
    if decision == "withdraw":
        route.withdraw(db.session, current_user, revision, comment)
        return _done(revision_id, "改正案を取り下げました。")
    outcome = route.approve(db.session, current_user, revision, comment,
                            notice_due_days=request.form.get("notice_due_days", type=int),
                            retroactive=request.form.get("retroactive") == "1")
    if outcome.conflict:
        flash("この改正案の起案後に、同じマニュアルの別の改正が公布され、同じ箇所が変更されていました。"
              "公布せずに起案者に戻しました。起案者は両方の内容を確認して競合を解消し、改めて決裁に回してください。", "error")
        return redirect(url_for("revisions.show", revision_id=revision_id))
    if outcome.final:
        number = outcome.published.number if outcome.published else None
        return _done(revision_id, f"決裁しました。マニュアルを公布しました（第{number}版）。" if number
                     else "決裁しました。")
    return _done(revision_id, "承認しました。次の段階に回付されました。")


@bp.route("/revisions/<int:revision_id>/resolve", methods=["GET", "POST"])
@back_to("revisions.resolve", revision_id="revision_id")
def resolve(revision_id: int):  # type: ignore[no-untyped-def]
    """Both sides of each conflict with a version published meanwhile, the differences marked."""
    revision = _revision(revision_id)
    require(current_user, "revision.edit", revision)
    found = drafting.conflicts_of(revision)
    form = DecisionForm()
    if found is None:
        return render_template("revisions/resolve.html", revision=revision, conflicts=None, passages=[], form=form)
    if request.method == "POST":
        validated(form)
        fields = {str(f["name"]): request.form.get(f"field-{f['name']}", "") for f in found.fields}
        passages = [(request.form.get(f"passage-{i}", ""), request.form.get(f"edit-{i}", ""))
                    for i in range(len(found.hunks))]
        drafting.resolve_conflict(db.session, current_user, revision, fields=fields, passages=passages,
                                  expected_head=request.form.get("head", ""))
        return _done(revision_id, "競合を解消して保存しました。内容を確認して、改めて決裁に回してください。")
    shown = [diff.passage(h["main"], h["draft"]) for h in found.hunks]
    return render_template("revisions/resolve.html", revision=revision, conflicts=found, passages=shown,
                           form=form)


@bp.get("/revisions/<int:revision_id>/compare")
def compare(revision_id: int):  # type: ignore[no-untyped-def]
    revision = _revision(revision_id)
    old = base.base_text(revision)
    doc = parse(base.current_text(revision))
    sections = diff.compare(parse(old).body if old else "", doc.body)
    return render_template("manuals/compare.html", manual=revision.manual, new=None, old=None, sections=sections,
                           versions=[], revision=revision)
