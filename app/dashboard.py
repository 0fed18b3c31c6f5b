"""Home: a dashboard per role, and the health check."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select, text

from app import audit
from app.extensions import db
from app.gitstore import check_repo
from app.handover import checks, management
from app.handover.models import Handover
from app.manuals.services import manuals_query
from app.notices import figures as notice_figures
from app.notices import inbox as notice_inbox
from app.notices.models import Notice
from app.org.models import Unit, User
from app.revisions.lists import workspace
from app.rulings import services as rulings
from app.wareki import today_jst, wareki

bp = Blueprint("main", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@dataclass
class Panel:
    """One box on the dashboard: what the user has to look at, or an empty state saying what will appear."""

    title: str
    empty: str
    items: list[dict[str, Any]] = field(default_factory=list)
    link: str | None = None
    link_label: str = "一覧へ"


def _revision_items(revisions: list) -> list[dict[str, Any]]:
    return [{
        "label": f"#{r.id} {r.manual.title}（{r.kind_label}）",
        "value": r.current_step.meaning + "待ち" if r.current_step else r.state_label,
        "url": url_for("revisions.show", revision_id=r.id),
    } for r in revisions[:8]]


def _inquiry_items(user: User) -> list[dict[str, Any]]:
    items = db.session.scalars(rulings.inbox_query(user, status="open").limit(8))
    return [{"label": f"#{i.id} {i.subject}", "value": i.status_label,
             "url": url_for("rulings.detail", inquiry_id=i.id, raw=1)} for i in items]


def panels_for(user: User) -> list[Panel]:
    lists = workspace(db.session, user)
    panels: list[Panel] = []
    if user.is_hq:
        panels.append(Panel("作成中の改正案", "起案した改正案（下書き・意見照会中・差戻し）がここに表示されます。",
                            _revision_items(lists.get("mine", [])), link=url_for("revisions.index")))
        if user.is_chief_or_head:
            panels.append(Panel("決裁待ち", "あなたの審査・決裁を待っている改正案がここに表示されます。",
                                _revision_items(lists.get("to_approve", [])), link=url_for("revisions.index")))
        panels.append(Panel("照会受付", "区役所から届いた疑義照会・改善提案のうち、未回答のものがここに表示されます。",
                            _inquiry_items(user), link=url_for("rulings.inquiries")))
        flagged = rulings.flagged(db.session, user)
        if flagged:
            panels.append(Panel("関連マニュアル改正あり・要確認の判断事例", "", [
                {"label": f"{r.number} {r.subject}", "url": url_for("rulings.show", number=r.number)}
                for r in flagged[:8]], link=url_for("rulings.index")))
        due = management.reviews_due_for(db.session, user)
        managed = due or [(m, None) for m in db.session.scalars(manuals_query(manager_id=user.id).limit(8))]
        panels.append(Panel(
            "管理担当のマニュアル（見直し期限）" if due else "管理担当のマニュアル",
            "あなたが管理担当者のマニュアルと、見直し期限が近いものがここに表示されます。",
            [{"label": m.title, "value": (f"見直し期限 {wareki(d)}" + ("（超過）" if d < today_jst() else ""))
              if d else f"第{m.current_version}版", "url": url_for("handover.manage", slug=m.slug)}
             for m, d in managed[:8]], link=url_for("manuals.index", owner=user.unit_id), link_label="所管マニュアル一覧へ"))
        panels.append(Panel("改正通知の周知状況", "所管マニュアルの改正通知について、各区の確認状況がここに表示されます。", [{
            "label": f"{n.title}" + (f" 第{n.number}版" if n.number else ""),
            "value": f"周知済 {c.get('confirmed', 0)}／{sum(v for k, v in c.items() if k != 'overdue')}"
                     + (f"（期限超過 {c['overdue']}）" if c.get("overdue") else ""),
            "url": url_for("notices.matrix", revision=n.revision_id) if n.revision_id
            else url_for("notices.matrix", ruling=n.ruling_id),
        } for n, c in notice_figures.sent_publications(db.session, user, limit=6)], link=url_for("notices.sent")))
    if user.is_ward:
        unread = db.session.execute(notice_inbox.inbox_query(user, only_unread=True).limit(8))
        panels.append(Panel("未読の改正通知", "所属あてに届いたマニュアルの改正通知・判断事例の共有がここに表示されます。", [
            {"label": f"【{row.Notice.kind}】{row.Notice.title}", "url": url_for("notices.show", notice_id=row.Notice.id)}
            for row in unread], link=url_for("notices.inbox")))
        if user.is_chief_or_head:
            pending = db.session.scalars(select(Notice).where(
                Notice.unit_id == user.unit_id, Notice.status == "pending", Notice.owner_copy.is_(False))
                .order_by(Notice.due_date).limit(8))
            panels.append(Panel("周知確認待ち", "所属長として周知済の確認が必要な改正通知がここに表示されます。", [{
                "label": f"【{n.kind}】{n.title}", "value": f"期限 {n.due_date.month}/{n.due_date.day}" if n.due_date else "",
                "url": url_for("notices.show", notice_id=n.id)} for n in pending], link=url_for("notices.inbox")))
        panels.append(Panel("意見照会", f"本庁から意見を求められている改正案（{user.unit.section}あて）がここに表示されます。", _revision_items(lists.get("consultations", [])), link=url_for("revisions.index")))
        panels.append(Panel("所属の照会", "所属から本庁に送った疑義照会・改善提案と回答状況がここに表示されます。",
                            _inquiry_items(user), link=url_for("rulings.inquiries")))
    recent = lists.get("recent", [])
    panels.append(Panel("最近の改正", "関係するマニュアルが改正されるとここに表示されます。", [{
        "label": f"{r.manual.title} 第{r.number}版", "at": r.published_at,
        "url": url_for("manuals.compare", slug=r.manual.slug, new=r.number),
    } for r in recent[:6]]))
    if user.is_head:
        waiting = db.session.scalars(select(Handover).where(Handover.unit_id == user.unit_id,
                                                            Handover.status == "submitted").limit(8))
        panels.append(Panel("事務引継書の確認", "所属職員から提出された事務引継書のうち、確認待ちのものがここに表示されます。", [
            {"label": f"{h.user.name}（{h.position}）", "value": "確認待ち", "url": url_for("handover.show", handover_id=h.id)}
            for h in waiting], link=url_for("handover.index", scope="unit")))
        # The unit's own findings (the city-wide list is on the 点検 page: too heavy for every dashboard load).
        found = checks.findings(db.session, unit_id=user.unit_id)
        counts: dict[str, int] = {}
        for f in found:
            counts[f.label] = counts.get(f.label, 0) + 1
        panels.append(Panel("マニュアル管理の点検", "管理担当者の不在、見直し期限の超過などが見つかるとここに表示されます。",
                            [{"label": k, "value": f"{v}件"} for k, v in counts.items()], link=url_for("handover.checks")))
    if user.is_admin:
        counts = {
            "本庁の所属": db.session.scalar(select(func.count(Unit.id)).where(Unit.kind == "hq", Unit.active.is_(True))),
            "区役所・総合支所の所属": db.session.scalar(
                select(func.count(Unit.id)).where(Unit.kind == "ward", Unit.active.is_(True))
            ),
            "有効な職員": db.session.scalar(select(func.count(User.id)).where(User.active.is_(True))),
        }
        panels.append(Panel(
            "組織・職員", "", [{"label": k, "value": f"{v:,}"} for k, v in counts.items()],
            link=url_for("admin.users"), link_label="職員管理へ",
        ))
        recent = db.session.scalars(audit.search(db.session).limit(5))
        panels.append(Panel(
            "最近の操作（監査ログ）", "操作が記録されるとここに表示されます。",
            [{"label": audit.ACTION_LABELS.get(e.action, e.action), "value": e.actor_name, "at": e.at} for e in recent],
            link=url_for("admin.audit_log"), link_label="監査ログへ",
        ))
    return panels


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    return redirect(url_for("auth.login"))


@bp.get("/dashboard")
@login_required
def dashboard():  # type: ignore[no-untyped-def]
    return render_template("main/dashboard.html", panels=panels_for(current_user))


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """200 when the database, the manuals repository and the search index directory are usable."""
    problems: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not usable"
        db.session.rollback()
        problems["database"] = f"データベースに接続できません: {type(exc).__name__}"
    repo_problem = check_repo(current_app.config["MANUALS_REPO"])
    if repo_problem:
        problems["manuals_repo"] = repo_problem
    index_dir = Path(current_app.config["SEARCH_INDEX_DIR"])
    if not index_dir.is_dir():
        problems["search_index"] = f"検索インデックスのディレクトリがありません: {index_dir}"
    elif not os.access(index_dir, os.W_OK):
        problems["search_index"] = f"検索インデックスのディレクトリに書き込めません: {index_dir}"
    parts = {name: ("ng" if name in problems else "ok") for name in ("database", "manuals_repo", "search_index")}
    body = {"status": "ng" if problems else "ok", "checks": parts, "problems": problems}
    return body, (503 if problems else 200)
