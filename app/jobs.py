"""One run at a time of a timer job across every host (`flask directory sync` on two hosts at the
same minute must not create the same accounts twice): a lease in the database, taken by a guarded
write, given back when the job ends, and taken over once it has run out (a host that died)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import String, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.errors import Conflict
from app.extensions import Model, UTCDateTime
from app.guard import changed
from app.wareki import now_utc


class JobLease(Model):
    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100), default="")
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())


def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def single_run(session: Session, name: str, *, lease: timedelta = timedelta(hours=1)) -> Iterator[None]:
    """Run the block only if no other process holds the job; Conflict (in Japanese) otherwise. The
    lease is committed at once so other hosts see it; it is given back with the job's own work (the
    caller's commit), or at once when the job fails."""
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(JobLease)
    session.execute(insert.values(name=name, holder="", until=None).on_conflict_do_nothing(index_elements=["name"]))
    now = now_utc()
    taken = changed(session, update(JobLease).where(JobLease.name == name, or_(JobLease.until.is_(None),
                                                                               JobLease.until < now))
                            .values(holder=_me(), until=now + lease).execution_options(synchronize_session=False))
    session.commit()
    if not taken:
        raise Conflict(f"「{name}」は別のサーバー（またはプロセス）で実行中のため、実行しませんでした。")
    release = update(JobLease).where(JobLease.name == name, JobLease.holder == _me()).values(until=None)
    try:
        yield
    except BaseException:
        session.rollback()
        session.execute(release.execution_options(synchronize_session=False))
        session.commit()
        raise
    session.execute(release.execution_options(synchronize_session=False))
