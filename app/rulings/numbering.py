"""判断事例 numbers (R2026-001): a per-year counter advanced in the approving transaction — an
upsert that takes the row lock (PostgreSQL) or the write lock (SQLite), so two approvals at once
get two numbers and a retry never has to commit anything."""

from __future__ import annotations

from sqlalchemy import case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.rulings.models import RulingCounter


def _insert(session: Session):  # type: ignore[no-untyped-def]
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(RulingCounter)


def next_seq(session: Session, year: int) -> int:
    stmt = _insert(session).values(year=year, last=1)
    stmt = stmt.on_conflict_do_update(index_elements=[RulingCounter.year],
                                      set_={"last": RulingCounter.last + 1}).returning(RulingCounter.last)
    return int(session.execute(stmt).scalar_one())


def advance_counters(session: Session, numbers: set[tuple[int, int]]) -> None:
    """After numbers were given from outside (an import): the counters move past them."""
    highest: dict[int, int] = {}
    for year, seq in numbers:
        highest[year] = max(seq, highest.get(year, 0))
    for year, seq in highest.items():
        stmt = _insert(session).values(year=year, last=seq)
        stmt = stmt.on_conflict_do_update(index_elements=[RulingCounter.year], set_={
            "last": case((stmt.excluded.last > RulingCounter.last, stmt.excluded.last), else_=RulingCounter.last)})
        session.execute(stmt)
