"""Guarded state transitions: one conditional UPDATE on the expected state, its row count checked.

Of any number of simultaneous identical requests exactly one matches the expected state; the others
match nothing and get a clear message (a Conflict), never a second write. On PostgreSQL the second
UPDATE waits for the first's row lock and then re-reads the row; on SQLite writers are serialised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Executable, inspect, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import ObjectDeletedError

from app.errors import Conflict


def changed(session: Session, stmt: Executable) -> int:
    """How many rows a conditional UPDATE / DELETE matched: the count every guarded write checks."""
    return cast("CursorResult[Any]", session.execute(stmt)).rowcount


def transition(session: Session, obj: Any, condition: ColumnElement[bool], refusal: str | Callable[[Any], str],
               **values: Any) -> None:
    """Set `values` on obj's row only if `condition` still holds there; otherwise refresh obj and raise
    Conflict(refusal) (a callable gets the fresh object, or None when the row is gone, to say what
    state it is in now)."""
    model = type(obj)
    mapper = inspect(model)
    (pk,) = mapper.primary_key
    session.flush()
    moved = changed(session,
        update(model).where(pk == getattr(obj, pk.key), condition).values(**values)
        .execution_options(synchronize_session=False)
    )
    if moved != 1:
        try:
            session.refresh(obj)
        except ObjectDeletedError:
            obj = None  # the row is gone (e.g. a route reset by a 差戻し)
        raise Conflict(refusal(obj) if callable(refusal) else refusal)
    for key, value in values.items():
        attr = mapper.get_property_by_column(model.__table__.c[key]).key
        set_committed_value(obj, attr, value)
