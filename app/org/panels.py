"""The administrator's boxes on the dashboard: the organisation's size and the latest audit entries."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy import func, select

from app import audit
from app.extensions import db
from app.org.models import Unit, User
from app.panels import Panel, panel


@panel(100)
def administration(user: User, shared: dict[str, Any]) -> list[Panel]:
    if not user.is_admin:
        return []
    counts = {
        "本庁の所属": db.session.scalar(select(func.count(Unit.id)).where(Unit.kind == "hq", Unit.active.is_(True))),
        "区役所・総合支所の所属": db.session.scalar(
            select(func.count(Unit.id)).where(Unit.kind == "ward", Unit.active.is_(True))),
        "有効な職員": db.session.scalar(select(func.count(User.id)).where(User.active.is_(True))),
    }
    recent = db.session.scalars(audit.search(db.session).limit(5))
    return [
        Panel("組織・職員", "", [{"label": k, "value": f"{v or 0:,}"} for k, v in counts.items()],
              link=url_for("admin.users"), link_label="職員管理へ"),
        Panel("最近の操作（監査ログ）", "操作が記録されるとここに表示されます。",
              [{"label": audit.ACTION_LABELS.get(e.action, e.action), "value": e.actor_name, "at": e.at} for e in recent],
              link=url_for("admin.audit_log"), link_label="監査ログへ"),
    ]
