"""The page a notice is read on: the content itself (新旧対照表, the version, or the ruling) with
「内容を確認しました」 and the 理解度確認; its POSTs record the evidence. GET records nothing."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.errors import PermissionDenied
from app.extensions import db
from app.manuals import services as manuals
from app.manuals.models import Manual
from app.notices import inbox as notices_inbox
from app.notices import quiz, reading
from app.org.forms import ConfirmForm
from app.rulings.models import Inquiry
from app.usage.services import count_view
from app.webutil import back_to, login_required_for

bp = Blueprint("notice_read", __name__, url_prefix="/notices")
login_required_for(bp)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _content(notice):  # type: ignore[no-untyped-def]
    """What the notice is about, as the reading pages show it."""
    if notice.ruling_id:
        return {"ruling": db.session.get(Inquiry, notice.ruling_id)}
    manual = manuals.get_manual(db.session, current_user, db.session.get(Manual, notice.manual_id).slug)
    count_view(db.session, current_user, "manual", manual.id)  # a page view for the usage figures, as the manual pages
    if notice.kind == "改正" and notice.number and notice.number > 1 and not notice.campaign_id:
        new, old, sections = manuals.compare_versions(db.session, manual, notice.number, notice.number - 1)
        return {"manual": manual, "new": new, "old": old, "sections": sections}
    version = manuals.get_version(db.session, manual, notice.number)
    return {"manual": manual, "view": manuals.read_version(manual, version)}


def cross_site() -> bool:
    """A request another site made the browser send (a link, a form, an image): never evidence.
    Browsers without Fetch Metadata are covered by the CSRF token every POST carries."""
    return request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none")


@bp.get("/<int:notice_id>/read")
def read(notice_id: int):  # type: ignore[no-untyped-def]
    notice = notices_inbox.get_notice(db.session, current_user, notice_id)
    receipt = reading.receipt_of(db.session, current_user, notice)
    questions = quiz.questions_for(db.session, notice)
    marked = quiz.last_attempt(db.session, current_user, notice) if receipt else []
    return render_template("notices/read.html", notice=notice, receipt=receipt, state=reading.person_state(receipt),
                           labels=reading.PERSON_LABELS, questions=questions, marked=marked, form=ConfirmForm(),
                           version_url=_version_url(notice), **_content(notice))


def _version_url(notice) -> str:  # type: ignore[no-untyped-def]
    if not notice.manual_id or not notice.number:
        return ""
    manual = db.session.get(Manual, notice.manual_id)
    return url_for("manuals.version", slug=manual.slug, number=notice.number) if manual else ""


@bp.post("/<int:notice_id>/read")
def record_read(notice_id: int):  # type: ignore[no-untyped-def]
    """Posted by the reading page once the browser shows it (or by its button without scripts)."""
    if cross_site() or not ConfirmForm().validate_on_submit():
        abort(403 if cross_site() else 400)
    notice = notices_inbox.get_notice(db.session, current_user, notice_id)
    recorded = reading.record_read(db.session, current_user, notice, request.form.get("number", type=int))
    if request.headers.get("X-Requested-With") == "fetch":
        return {"recorded": recorded}
    if recorded:
        flash("既読として記録しました。", "success")
    return redirect(url_for("notice_read.read", notice_id=notice_id))


@bp.post("/<int:notice_id>/acknowledge")
@back_to("notice_read.read", notice_id="notice_id")
def acknowledge(notice_id: int):  # type: ignore[no-untyped-def]
    if cross_site() or not ConfirmForm().validate_on_submit():
        abort(403 if cross_site() else 400)
    notice = notices_inbox.get_notice(db.session, current_user, notice_id)
    reading.acknowledge(db.session, current_user, notice)
    more = "続けて理解度確認に回答してください。" if quiz.questions_for(db.session, notice) else ""
    flash(f"「内容を確認しました」を記録しました（第{notice.number}版）。{more}", "success")
    return redirect(url_for("notice_read.read", notice_id=notice_id) + ("#quiz" if more else ""))


@bp.post("/<int:notice_id>/answers")
@back_to("notice_read.read", notice_id="notice_id")
def answer(notice_id: int):  # type: ignore[no-untyped-def]
    if cross_site() or not ConfirmForm().validate_on_submit():
        abort(403 if cross_site() else 400)
    notice = notices_inbox.get_notice(db.session, current_user, notice_id)
    choices = {q.id: request.form.get(f"q{q.id}", type=int) for q in quiz.questions_for(db.session, notice)}
    marked = quiz.answer(db.session, current_user, notice, choices, request.form.get("after", type=int))
    wrong = [i + 1 for i, m in enumerate(marked) if not m.correct]
    if wrong:
        flash("不正解の設問があります（" + "、".join(f"問{n}" for n in wrong) + "）。解説と該当箇所を読んで、もう一度回答してください。",
              "warning")
    else:
        flash("全問正解です。理解度確認が完了しました。", "success")
    return redirect(url_for("notice_read.read", notice_id=notice_id) + "#quiz")


@bp.post("/<int:notice_id>/withdraw")
@back_to("notices.show", notice_id="notice_id")
def withdraw(notice_id: int):  # type: ignore[no-untyped-def]
    if not ConfirmForm().validate_on_submit():
        abort(400)
    notice = notices_inbox.get_notice(db.session, current_user, notice_id)
    if notice.unit_id != current_user.unit_id:
        raise PermissionDenied("周知済の取消しは、通知を受けた所属で行います。")
    notices_inbox.withdraw(db.session, current_user, notice, request.form.get("reason", ""))
    flash("周知済を取り消しました。この課は未確認に戻りました（取消しの理由は監査ログに残ります）。", "success")
    return redirect(url_for("notices.show", notice_id=notice_id))
