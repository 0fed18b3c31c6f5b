"""本庁's page for the annual re-confirmations (campaigns) of its manuals."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.errors import NotFound, ValidationError
from app.extensions import db
from app.manuals.models import Manual
from app.notices import campaigns as notice_campaigns
from app.org.forms import ConfirmForm
from app.org.permissions import require
from app.org.structure import SECTION_KINDS
from app.org.targeting import Audience, duty_tag_choices
from app.wareki import parse_date
from app.webutil import back_to, login_required_for

bp = Blueprint("notice_campaigns", __name__, url_prefix="/notices/campaigns")
login_required_for(bp)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _due():  # type: ignore[no-untyped-def]
    raw = (request.form.get("due_date") or "").strip()
    day = parse_date(raw) if raw else None
    if raw and day is None:
        raise ValidationError(f"日付「{raw[:40]}」は正しくありません（例: 2025-03-31 または 令和7年3月31日）。")
    return day


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    require(current_user, "notice.campaign", None)
    return render_template("notices/campaigns.html", campaigns=notice_campaigns.campaigns(db.session, current_user),
                           manuals=notice_campaigns.manuals_to_choose(db.session, current_user), form=ConfirmForm(),
                           sections=SECTION_KINDS, duty_tags=duty_tag_choices(db.session),
                           next_year=notice_campaigns.next_year, audience_of=notice_campaigns.audience_of)


@bp.post("/")
@back_to("notice_campaigns.index")
def launch():  # type: ignore[no-untyped-def]
    if not ConfirmForm().validate_on_submit():
        abort(400)
    manual = db.session.scalar(select(Manual).where(Manual.id == (request.form.get("manual_id", type=int) or 0)))
    if manual is None:
        raise NotFound("指定されたマニュアルは見つかりません。")
    campaign = notice_campaigns.launch(db.session, current_user, manual, due_date=_due(),
                                       sections=request.form.getlist("sections"), audience=Audience.from_form(request.form))
    flash(f"「{campaign.title}」を開始しました。対象の課に再確認の通知が届きます。", "success")
    return redirect(url_for("notices.matrix", campaign=campaign.id))
