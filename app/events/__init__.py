"""Durable reactions (a transactional outbox).

A publisher calls `emit(session, topic, **payload)` inside its transaction: one row per consumer
registered for the topic is written with the change itself, so a crash can lose neither. Right after
the commit the reactions run, each in its own transaction and session: a consumer's writes and the
mark "done" commit together (exactly once for what lives in the database; consumers that write
elsewhere, like an index file, are idempotent). A failing consumer is retried later with back-off and
never stops the others or turns the publisher's success into an error. `flask events run` (a timer,
and `doctor --repair`) picks up whatever is left; `backlog()` is what doctor reports.

Publishers never import their consumers: each domain registers its own with `@consumer(topic, name)`.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import case, event, func, inspect, or_, select, update
from sqlalchemy.orm import Session

from app import faults
from app.events.models import DONE, PENDING, Reaction
from app.extensions import db
from app.guard import changed
from app.wareki import now_utc

log = logging.getLogger(__name__)
Consumer = Callable[[Session, dict[str, Any]], None]
_CONSUMERS: dict[str, dict[str, Consumer]] = {}
LEASE = timedelta(minutes=5)
MAX_BACKOFF_MINUTES = 60


def consumer(topic: str, name: str) -> Callable[[Consumer], Consumer]:
    """Register `fn(session, payload)` as the reaction `name` to `topic`."""

    def register(fn: Consumer) -> Consumer:
        existing = _CONSUMERS.setdefault(topic, {}).get(name)
        if existing is not None and existing is not fn:
            raise RuntimeError(f"consumer {name!r} registered twice for {topic!r}")
        _CONSUMERS[topic][name] = fn
        return fn

    return register


def consumers(topic: str) -> list[str]:
    return sorted(_CONSUMERS.get(topic, {}))


def emit(session: Session, topic: str, **payload: Any) -> list[Reaction]:
    """One reaction row per registered consumer, in the caller's transaction."""
    names = consumers(topic)
    if not names:
        raise RuntimeError(f"no consumer for event {topic!r}")  # a typo must not silently drop work
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
    rows = [Reaction(topic=topic, consumer=name, payload=body, status=PENDING, next_attempt_at=now_utc())
            for name in names]
    session.add_all(rows)
    session.info.setdefault("tebiki_emitted", []).extend(rows)
    return rows


@dataclass
class RunResult:
    done: int = 0
    failed: int = 0


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(MAX_BACKOFF_MINUTES, 2 ** max(0, attempts - 1)))


def run_due(*, limit: int = 500, reaction_ids: list[int] | None = None, now: Any = None) -> RunResult:
    """Run due reactions (or exactly these), each in its own session and transaction. The caller
    must not hold a write transaction of its own (on SQLite the two would wait for each other)."""
    from app.uow import writing

    result = RunResult()
    with writing(), Session(db.engine) as session:
        stmt = select(Reaction.id).where(Reaction.status == PENDING)
        if reaction_ids is not None:
            stmt = stmt.where(Reaction.id.in_(reaction_ids))
        else:
            stmt = stmt.where(Reaction.next_attempt_at <= (now or now_utc()))
        ids = list(session.scalars(stmt.order_by(Reaction.id).limit(limit)))
        session.rollback()
        for rid in ids:
            outcome = _run_one(session, rid)
            if outcome is True:
                result.done += 1
            elif outcome is False:
                result.failed += 1
    return result


def _run_one(session: Session, rid: int) -> bool | None:
    """True done, False failed (retried later), None claimed by another process meanwhile."""
    now = now_utc()
    claimed = changed(session,
        update(Reaction).where(Reaction.id == rid, Reaction.status == PENDING,
                               or_(Reaction.claimed_until.is_(None), Reaction.claimed_until < now))
        .values(claimed_until=now + LEASE, claimed_by=worker_id(), attempts=Reaction.attempts + 1)
        .execution_options(synchronize_session=False))
    session.commit()
    if not claimed:
        return None
    reaction = session.get(Reaction, rid)
    assert reaction is not None
    fn = _CONSUMERS.get(reaction.topic, {}).get(reaction.consumer)
    try:
        if fn is None:
            raise RuntimeError(f"consumer {reaction.consumer!r} for {reaction.topic!r} is not registered")
        fn(session, reaction.data)
        reaction.status = DONE
        reaction.done_at = now_utc()
        reaction.claimed_until = None
        reaction.last_error = ""
        session.commit()
        return True
    except Exception as exc:  # a failing consumer is retried later and never stops the others
        session.rollback()
        log.exception("event reaction %s (%s/%s) failed", rid, reaction.topic, reaction.consumer)
        session.execute(update(Reaction).where(Reaction.id == rid).values(
            claimed_until=None, last_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=now_utc() + backoff(reaction.attempts)).execution_options(synchronize_session=False))
        session.commit()
        return False


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def release_dead_claims(session: Session) -> int:
    """Claims held by processes of this host that no longer exist (a crash): the reactions can run
    again at once instead of after the lease. Claims of other hosts wait for their lease."""
    host = socket.gethostname()
    released = 0
    for reaction in session.scalars(select(Reaction).where(Reaction.status == PENDING,
                                                           Reaction.claimed_until > now_utc())):
        owner, _, pid = reaction.claimed_by.rpartition(":")
        if owner == host and pid.isdigit() and not _alive(int(pid)):
            reaction.claimed_until = None
            released += 1
    return released


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Backlog:
    consumer: str
    topic: str
    pending: int
    failing: int
    oldest: Any
    last_error: str


def backlog(session: Session, *, older_than: timedelta = timedelta(minutes=2)) -> list[Backlog]:
    """Reactions not done a while after their event, per consumer (doctor reports them)."""
    cutoff = now_utc() - older_than
    rows = session.execute(
        select(Reaction.topic, Reaction.consumer, func.count(Reaction.id), func.min(Reaction.created_at),
               func.sum(case((Reaction.last_error != "", 1), else_=0)), func.max(Reaction.last_error))
        .where(Reaction.status == PENDING, Reaction.created_at < cutoff)
        .group_by(Reaction.topic, Reaction.consumer).order_by(Reaction.consumer))
    return [Backlog(consumer, topic, n, failing or 0, oldest, last or "")
            for topic, consumer, n, oldest, failing, last in rows]


def _after_commit(session: Session) -> None:
    emitted = session.info.pop("tebiki_emitted", None)
    if not emitted:
        return
    try:
        current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy: raises outside an app
    except RuntimeError:
        return  # outside the app (a script): `flask events run` will do it
    ids = [identity[0] for identity in (inspect(r).identity for r in emitted) if identity]
    faults.point("publish.after_db")  # committed, reactions not yet run
    if ids and current_app.config.get("EVENTS_INLINE", True):
        run_due(reaction_ids=ids)


def _after_rollback(session: Session) -> None:
    session.info.pop("tebiki_emitted", None)


event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_soft_rollback", lambda session, _tx: _after_rollback(session))
