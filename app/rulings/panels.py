"""The rulings' boxes on the dashboard: inquiries to answer or sent, rulings to re-check."""

from __future__ import annotations

from typing import Any

from flask import url_for

from app.extensions import db
from app.org.models import User
from app.panels import Panel, panel
from app.rulings import services as rulings
from app.rulings.models import OPEN


def _inquiry_items(user: User) -> list[dict[str, Any]]:
    items = db.session.scalars(rulings.inbox_query(user, status=OPEN).limit(8))
    return [{"label": f"#{i.id} {i.subject}", "value": i.status_label,
             "url": url_for("rulings.detail", inquiry_id=i.id, raw=1)} for i in items]


@panel(30)
def inquiries(user: User, shared: dict[str, Any]) -> list[Panel]:
    if not user.is_hq:
        return []
    out = [Panel("照会受付", "区役所から届いた疑義照会・改善提案のうち、未回答のものがここに表示されます。",
                 _inquiry_items(user), link=url_for("rulings.inquiries"))]
    flagged = rulings.flagged(db.session, user)
    if flagged:
        out.append(Panel("関連マニュアル改正あり・要確認の判断事例", "", [
            {"label": f"{r.number} {r.subject}", "url": url_for("rulings.show", number=r.number)}
            for r in flagged[:8]], link=url_for("rulings.index")))
    return out


@panel(45)
def sent_inquiries(user: User, shared: dict[str, Any]) -> list[Panel]:
    if not user.is_ward:
        return []
    return [Panel("所属の照会", "所属から本庁に送った疑義照会・改善提案と回答状況がここに表示されます。",
                  _inquiry_items(user), link=url_for("rulings.inquiries"))]
