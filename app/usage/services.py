"""Usage counting (活用状況): page views of manuals and rulings per unit and month, and the
figures 本庁 reads from them. Pages call `count_view`; the count is written after the page's own
unit of work, in a short transaction of its own (a reader never waits on a writer for it)."""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, g, has_request_context
from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from app.extensions import db
from app.guard import changed
from app.manuals.models import Manual, ManualTarget
from app.org.models import WARD, Unit, User
from app.rulings.models import Inquiry
from app.uow import writing
from app.usage.models import SearchLog, UsageCount
from app.wareki import today_jst

log = logging.getLogger(__name__)

# Page views are statistics, not evidence: each worker adds them up in memory and writes them in one
# short transaction every USAGE_FLUSH_SECONDS (and when it stops), instead of a write per page view.
# A crash loses at most that window of counts. 0 writes after every request (the tests).
_pending: Counter[tuple[str, int, int, str]] = Counter()
_lock = threading.Lock()
_last_flush = time.monotonic()


def count_view(session: Session, user: User, kind: str, object_id: int) -> None:
    """One more view of a manual or ruling by the user's unit this month."""
    key = (kind, object_id, user.unit_id, today_jst().strftime("%Y-%m"))
    if has_request_context():
        with _lock:
            _pending[key] += 1
        return
    _add(session, *key, 1)


def _add(session: Session, kind: str, object_id: int, unit_id: int, month: str, n: int) -> None:
    where = and_(UsageCount.kind == kind, UsageCount.object_id == object_id, UsageCount.unit_id == unit_id,
                 UsageCount.month == month)
    for _attempt in range(3):
        if changed(session, update(UsageCount).where(where).values(views=UsageCount.views + n)
                           .execution_options(synchronize_session=False)):
            return
        try:
            with session.begin_nested():
                session.add(UsageCount(kind=kind, object_id=object_id, unit_id=unit_id, month=month, views=n))
            return
        except IntegrityError:
            continue


def flush() -> int:
    """Write the counts gathered in this process; returns how many distinct counters."""
    global _last_flush
    with _lock:
        counts = dict(_pending)
        _pending.clear()
        _last_flush = time.monotonic()
    if not counts:
        return 0
    try:
        with writing(), Session(db.engine) as session:
            for key, n in counts.items():
                _add(session, *key, n)
            session.commit()
    except SQLAlchemyError:  # a lost count must never fail the page (or the worker's exit)
        log.exception("usage counts not written")
        return 0
    return len(counts)


def record_miss(session: Session, user: User, query: str, kind: str = "") -> None:
    """A search that found nothing (the gap list): written after the page's own unit of work."""
    row = SearchLog(user_id=user.id, unit_id=user.unit_id, query=query.strip()[:200], kind=kind or "", results=0)
    if has_request_context():
        g.setdefault("tebiki_misses", []).append(row)
        return
    session.add(row)


def init_app(app: Flask) -> None:
    atexit.register(lambda: _flush_with(app))

    @app.after_request
    def _write_counts(response: Response) -> Response:
        misses = g.pop("tebiki_misses", None)
        if misses and response.status_code < 400:
            try:
                with writing(), Session(db.engine) as session:
                    session.add_all(misses)
                    session.commit()
            except SQLAlchemyError:  # a lost log line must never fail the page
                log.exception("search log not written")
        if _pending and time.monotonic() - _last_flush >= app.config.get("USAGE_FLUSH_SECONDS", 60):
            flush()
        return response


def _flush_with(app: Flask) -> None:
    if _pending:
        with app.app_context():
            flush()


def usage_by_office(session: Session, owner_unit_id: int | None, months: list[str]) -> list[dict[str, object]]:
    """Views per manual per ward office per month, for the owner unit's manuals (all for the admin)."""
    stmt = (select(Manual.slug, Manual.title, Unit.group_name, UsageCount.month, func.sum(UsageCount.views))
            .join(Manual, Manual.id == UsageCount.object_id).join(Unit, Unit.id == UsageCount.unit_id)
            .where(UsageCount.kind == "manual", UsageCount.month.in_(months), Unit.kind == WARD)
            .group_by(Manual.slug, Manual.title, Unit.group_name, UsageCount.month))
    if owner_unit_id:
        stmt = stmt.where(Manual.owner_unit_id == owner_unit_id)
    table: dict[str, dict[str, Any]] = {}
    for slug, title, office, month, views in session.execute(stmt):
        row = table.setdefault(slug, {"slug": slug, "title": title, "cells": defaultdict(int), "total": 0})
        row["cells"][(office, month)] += views
        row["total"] += views
    return sorted(table.values(), key=lambda r: -int(r["total"]))


def ruling_views(session: Session, owner_unit_id: int | None, months: list[str], limit: int = 30
                 ) -> list[tuple[str, str, int]]:
    stmt = (select(Inquiry.number, Inquiry.subject, func.sum(UsageCount.views).label("v"))
            .join(Inquiry, Inquiry.id == UsageCount.object_id)
            .where(UsageCount.kind == "ruling", UsageCount.month.in_(months))
            .group_by(Inquiry.number, Inquiry.subject).order_by(func.sum(UsageCount.views).desc()).limit(limit))
    if owner_unit_id:
        stmt = stmt.where(Inquiry.owner_unit_id == owner_unit_id)
    return [(n or "", s, v) for n, s, v in session.execute(stmt)]


def gap_list(session: Session, since: datetime, owner_unit_id: int | None = None, limit: int = 100
             ) -> list[tuple[str, str, int, datetime]]:
    """Searches with no result per ward office (query, office, times, last). A 本庁 unit sees those of
    the ward sections its manuals are for (what a clerk there looked for in vain); the admin (None) all."""
    stmt = (select(SearchLog.query, Unit.group_name, func.count(SearchLog.id), func.max(SearchLog.at))
            .join(Unit, Unit.id == SearchLog.unit_id).where(SearchLog.at >= since, SearchLog.results == 0)
            .group_by(SearchLog.query, Unit.group_name).order_by(func.count(SearchLog.id).desc()).limit(limit))
    if owner_unit_id is not None:
        sections = select(ManualTarget.section).join(Manual, Manual.id == ManualTarget.manual_id).where(
            Manual.owner_unit_id == owner_unit_id)
        stmt = stmt.where(Unit.kind == WARD, Unit.section.in_(sections))
    return [(q, o, n, last) for q, o, n, last in session.execute(stmt)]


def recent_months(n: int = 6) -> list[str]:
    today = today_jst().replace(day=1)
    months = []
    for _ in range(n):
        months.append(today.strftime("%Y-%m"))
        today = (today - timedelta(days=1)).replace(day=1)
    return list(reversed(months))
