"""The handover package's boxes on the dashboard: managed manuals and their 見直し期限, 事務引継書 to
confirm, the unit's 点検 findings."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import url_for
from sqlalchemy import select

from app.extensions import db
from app.handover import checks, management
from app.handover.models import SUBMITTED, Handover
from app.manuals.models import Manual
from app.manuals.services import manuals_query
from app.org.models import User
from app.panels import Panel, panel
from app.wareki import today_jst, wareki


@panel(50)
def managed_manuals(user: User, shared: dict[str, Any]) -> list[Panel]:
    if not user.is_hq:
        return []
    due = management.reviews_due_for(db.session, user)
    managed: list[tuple[Manual, date | None]] = list(due) or [
        (m, None) for m in db.session.scalars(manuals_query(manager_id=user.id).limit(8))]
    today = today_jst()
    return [Panel(
        "管理担当のマニュアル（見直し期限）" if due else "管理担当のマニュアル",
        "あなたが管理担当者のマニュアルと、見直し期限が近いものがここに表示されます。",
        [{"label": m.title, "value": (f"見直し期限 {wareki(d)}" + ("（超過）" if d < today else ""))
          if d else f"第{m.current_version}版", "url": url_for("handover.manage", slug=m.slug)}
         for m, d in managed[:8]], link=url_for("manuals.index", owner=user.unit_id), link_label="所管マニュアル一覧へ")]


@panel(80)
def unit_head(user: User, shared: dict[str, Any]) -> list[Panel]:
    if not user.is_head:
        return []
    waiting = db.session.scalars(select(Handover).where(Handover.unit_id == user.unit_id,
                                                        Handover.status == SUBMITTED).limit(8))
    out = [Panel("事務引継書の確認", "所属職員から提出された事務引継書のうち、確認待ちのものがここに表示されます。", [
        {"label": f"{h.user.name}（{h.position}）", "value": "確認待ち", "url": url_for("handover.show", handover_id=h.id)}
        for h in waiting], link=url_for("handover.index", scope="unit"))]
    # The unit's own findings (the city-wide list is on the 点検 page: too heavy for every dashboard load).
    counts: dict[str, int] = {}
    for f in checks.findings(db.session, unit_id=user.unit_id):
        counts[f.label] = counts.get(f.label, 0) + 1
    out.append(Panel("マニュアル管理の点検", "管理担当者の不在、見直し期限の超過などが見つかるとここに表示されます。",
                     [{"label": k, "value": f"{v}件"} for k, v in counts.items()], link=url_for("handover.checks")))
    return out
