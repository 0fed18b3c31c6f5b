"""One unit of work per request and per CLI command (as Indico's request handler does).

Services change the session and never commit. The boundary does, once:
- a request: committed after the view when the response is not an error, rolled back otherwise;
- a CLI command: `commit()` at its end (`command` wraps a click callback).

What must follow a commit (search index, notices, ruling flags, mail) is written as event rows in
the same transaction (`app.events`) and runs right after the commit, in its own transactions.

SQLite: a write request takes the database's write lock when its transaction begins (BEGIN
IMMEDIATE), so two processes never read the same state and then both write it; WAL lets readers
go on meanwhile. Busy waits are long (30 s) instead of failing with "database is locked".
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from flask import Flask, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.wrappers import Response

from app.extensions import db

log = logging.getLogger(__name__)
_writing: ContextVar[bool] = ContextVar("tebiki_writing", default=False)
F = TypeVar("F", bound=Callable[..., Any])
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@contextmanager
def writing() -> Iterator[None]:
    """Transactions begun inside take the write lock at once (SQLite; a no-op elsewhere)."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def commit() -> None:
    """The unit of work's commit (the event consumers run right after it: app.events)."""
    db.session.commit()


def command(fn: F) -> F:
    """A CLI command is one unit of work: committed at its end, rolled back on an error."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with writing():
            try:
                result = fn(*args, **kwargs)
            except BaseException:
                db.session.rollback()
                raise
            commit()
            return result

    return wrapper  # type: ignore[return-value]


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # BEGIN is issued below, so savepoints and locks behave
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 30000")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _writing.get() else "BEGIN")


def init_app(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _configure_sqlite(db.engine)

    @app.before_request
    def _begin_request() -> None:
        if request.method not in READ_METHODS:
            request.environ["tebiki.writing"] = _writing.set(True)

    @app.after_request
    def _commit_request(response: Response) -> Response:
        if request.endpoint == "static":
            return response  # a stylesheet has no unit of work
        if response.status_code >= 400:
            db.session.rollback()
            return response
        try:
            commit()
        except (IntegrityError, OperationalError) as exc:
            # Two requests wrote the same row at once and the database refused the second: nothing
            # of this request was saved; say so instead of a 500.
            db.session.rollback()
            log.warning("commit refused: %s", exc)
            from app.webutil import error_response

            body, status = error_response(409, "同じ内容の操作が同時に行われたため、この操作は保存されませんでした。"
                                               "画面を再読み込みして、結果を確かめてください。")
            return app.make_response((body, status))
        return response

    @app.teardown_request
    def _end_request(_exc: BaseException | None) -> None:
        token = request.environ.pop("tebiki.writing", None)
        if token is not None:
            _writing.reset(token)
