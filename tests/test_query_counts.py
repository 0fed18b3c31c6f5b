"""List and dashboard pages run a bounded number of queries (issue 13): a ceiling each, and the same
count after the data has grown (no query per row)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import event

from app.extensions import db
from tests.conftest import login
from tests.helpers import approve_all, approve_step, make_manual, revise, submit, user

pytestmark = pytest.mark.usefixtures("demo_users")

# (role, page) -> ceiling
PAGES: dict[tuple[str, str], int] = {
    ("aoba.tanto", "/dashboard"): 12, ("hq.tanto", "/dashboard"): 18, ("hq.kacho", "/dashboard"): 24,
    ("aoba.kacho", "/dashboard"): 18, ("admin", "/dashboard"): 25,
    ("aoba.tanto", "/manuals/"): 10, ("hq.tanto", "/manuals/"): 10,
    ("aoba.tanto", "/manuals/m-0"): 14, ("hq.tanto", "/manuals/m-0"): 16,
    ("hq.kacho", "/notices/sent"): 8, ("hq.tanto", "/inquiries"): 7, ("aoba.tanto", "/inquiries"): 7,
    ("aoba.tanto", "/search?q=受付"): 12, ("aoba.tanto", "/notices/"): 8, ("hq.tanto", "/revisions"): 12,  # search: 12 on PostgreSQL (its index is in the database)
    ("aoba.tanto", "/revisions"): 10, ("aoba.tanto", "/rulings"): 8,
}


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if not statement.startswith(("BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT")):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    yield seen
    event.remove(db.engine, "before_cursor_execute", count)


def grow(n: int, start: int) -> None:
    """n more manuals, each published once more (notices to every ward) with a published ruling, an
    open inquiry and a revision waiting for the 課長 on each."""
    from app.rulings import services as rulings

    for i in range(start, start + n):
        manual = make_manual(f"m-{i}", f"手引き{i}")
        approve_all(revise(manual, "hq.tanto", "14日以内", "21日以内"))
        shared = rulings.file_inquiry(db.session, user("aoba.tanto"), kind="疑義照会", subject=f"共有{i}", body="内容",
                                      manual=manual, anchor="3-審査")
        rulings.save_answer(db.session, user("hq.tanto"), shared, answer="回答", basis="根拠", tags=["審査"],
                            share_all=True, submit=True)
        rulings.approve(db.session, user("hq.kacho"), shared)
        rulings.file_inquiry(db.session, user("aoba.tanto"), kind="疑義照会", subject=f"照会{i}", body="内容",
                             manual=manual)
        waiting = revise(manual, "hq.tanto", "受付印を押す。", "受付印を押し、記録する。")
        submit(waiting)
        approve_step(waiting, "hq.kakaricho")
        db.session.commit()


def counts(app: Flask, statements: list[str]) -> dict[tuple[str, str], int]:
    out = {}
    clients = {}
    for role, page in PAGES:
        if role not in clients:
            clients[role] = app.test_client()
            login(clients[role], role)
        statements.clear()
        res = clients[role].get(page)
        assert res.status_code == 200, (role, page, res.status_code)
        out[(role, page)] = len(statements)
    return out


def test_pages_run_a_bounded_number_of_queries(app: Flask, statements: list[str]) -> None:
    grow(3, 0)
    small = counts(app, statements)
    over = {k: (n, PAGES[k]) for k, n in small.items() if n > PAGES[k]}
    assert over == {}, over
    grow(12, 3)
    large = counts(app, statements)
    grew = {k: (small[k], n) for k, n in large.items() if n > small[k]}
    assert grew == {}, f"queries grew with the data: {grew}"
