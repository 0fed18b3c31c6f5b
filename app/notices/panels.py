"""The notices' boxes on the dashboard: 本庁's 周知状況, a ward's unread notices and those its 所属長
must confirm."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy import select

from app.extensions import db
from app.notices import figures, inbox
from app.notices.models import PENDING, Notice
from app.org.models import User
from app.panels import Panel, panel


@panel(60)
def sent(user: User, shared: dict[str, Any]) -> list[Panel]:
    if not user.is_hq:
        return []
    return [Panel("改正通知の周知状況", "所管マニュアルの改正通知について、各区の確認状況がここに表示されます。", [{
        "label": f"{n.title}" + (f" 第{n.number}版" if n.number else ""),
        "value": f"周知済 {c.get('confirmed', 0)}／{sum(v for k, v in c.items() if k != 'overdue')}"
                 + (f"（期限超過 {c['overdue']}）" if c.get("overdue") else ""),
        "url": url_for("notices.matrix", revision=n.revision_id) if n.revision_id
        else url_for("notices.matrix", ruling=n.ruling_id),
    } for n, c in figures.sent_publications(db.session, user, limit=6)], link=url_for("notices.sent"))]


@panel(15)
def received(user: User, shared: dict[str, Any]) -> list[Panel]:
    if not user.is_ward:
        return []
    unread = db.session.execute(inbox.inbox_query(user, only_unread=True).limit(8))
    out = [Panel("未読の改正通知", "所属あてに届いたマニュアルの改正通知・判断事例の共有がここに表示されます。", [
        {"label": f"【{row.Notice.kind}】{row.Notice.title}", "url": url_for("notices.show", notice_id=row.Notice.id)}
        for row in unread], link=url_for("notices.inbox"))]
    if user.is_chief_or_head:
        pending = db.session.scalars(select(Notice).where(
            Notice.unit_id == user.unit_id, Notice.status == PENDING, Notice.owner_copy.is_(False))
            .order_by(Notice.due_date).limit(8))
        out.append(Panel("周知確認待ち", "所属長として周知済の確認が必要な改正通知がここに表示されます。", [{
            "label": f"【{n.kind}】{n.title}", "value": f"期限 {n.due_date.month}/{n.due_date.day}" if n.due_date else "",
            "url": url_for("notices.show", notice_id=n.id)} for n in pending], link=url_for("notices.inbox")))
    return out
