"""The revisions' boxes on the dashboard: drafts, approvals waiting, 意見照会, recent revisions."""

from __future__ import annotations

from typing import Any

from flask import url_for

from app.extensions import db
from app.org.models import User
from app.panels import Panel, panel
from app.revisions.lists import workspace
from app.revisions.models import Revision


def _lists(user: User, shared: dict[str, Any]) -> dict[str, list[Revision]]:
    if "revisions" not in shared:
        shared["revisions"] = workspace(db.session, user)
    return shared["revisions"]


def revision_items(revisions: list[Revision]) -> list[dict[str, Any]]:
    return [{
        "label": f"#{r.id} {r.manual.title}（{r.kind_label}）",
        "value": r.current_step.meaning + "待ち" if r.current_step else r.state_label,
        "url": url_for("revisions.show", revision_id=r.id),
    } for r in revisions[:8]]


@panel(10)
def drafting(user: User, shared: dict[str, Any]) -> list[Panel]:
    if not user.is_hq:
        return []
    lists = _lists(user, shared)
    out = [Panel("作成中の改正案", "起案した改正案（下書き・意見照会中・差戻し）がここに表示されます。",
                 revision_items(lists.get("mine", [])), link=url_for("revisions.index"))]
    if user.is_chief_or_head:
        out.append(Panel("決裁待ち", "あなたの審査・決裁を待っている改正案がここに表示されます。",
                         revision_items(lists.get("to_approve", [])), link=url_for("revisions.index")))
    return out


@panel(35)
def consultations(user: User, shared: dict[str, Any]) -> list[Panel]:
    if not user.is_ward:
        return []
    return [Panel("意見照会", f"本庁から意見を求められている改正案（{user.unit.section}あて）がここに表示されます。",
                  revision_items(_lists(user, shared).get("consultations", [])), link=url_for("revisions.index"))]


@panel(70)
def recent(user: User, shared: dict[str, Any]) -> list[Panel]:
    return [Panel("最近の改正", "関係するマニュアルが改正されるとここに表示されます。", [{
        "label": f"{r.manual.title} 第{r.number}版", "at": r.published_at,
        "url": url_for("manuals.compare", slug=r.manual.slug, new=r.number),
    } for r in _lists(user, shared).get("recent", [])[:6]])]
