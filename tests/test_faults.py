"""Crash a real process (SIGKILL) at each step of a publish; after a restart `flask doctor --repair`
leaves zero findings and the revision is published exactly once. Plus a read-only repository."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from flask import Flask

from app.extensions import db
from app.notices.models import Notice
from app.revisions import route
from app.revisions.models import IN_REVIEW, PUBLISHED
from app.search import services as search
from tests.helpers import git, make_manual, revise, user

pytestmark = pytest.mark.usefixtures("demo_users")

WORKER = textwrap.dedent("""
    import sys
    from app import create_app
    from app.extensions import db
    from app.org.models import User
    from app.revisions import base, route
    app = create_app()
    with app.app_context():
        head = db.session.query(User).filter_by(login="hq.kacho").one()
        route.approve(db.session, head, base.get_revision(db.session, int(sys.argv[1])))
        db.session.commit()
    print("finished")
""")
FLASK = str(Path(sys.executable).parent / "flask")


def env(app: Flask, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "TEBIKI_INSTANCE": app.config["INSTANCE_DIR"],
            "MANUALS_REPO": app.config["MANUALS_REPO"], "SEARCH_INDEX_DIR": app.config["SEARCH_INDEX_DIR"], **extra}


def ready_for_final_approval():  # type: ignore[no-untyped-def]
    manual = make_manual()
    revision = revise(manual, "hq.tanto", "14日以内", "21日以内")
    route.submit(db.session, user("hq.tanto"), revision)
    route.approve(db.session, user("hq.kakaricho"), revision)
    db.session.commit()
    return manual, revision


@pytest.mark.parametrize("fault", ["publish.after_git", "publish.after_db", "index.during"])
def test_kill_at_each_step_then_doctor_repairs(app: Flask, fault: str) -> None:
    manual, revision = ready_for_final_approval()
    proc = subprocess.run([sys.executable, "-c", WORKER, str(revision.id)], env=env(app, TEBIKI_FAULT=fault),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr  # the process really died there
    assert "finished" not in proc.stdout
    # The commit is on main in every case (the kill came after it).
    assert git("log", "--format=%(trailers:key=Revision-Id,valueonly)", "main").split().count(str(revision.id)) == 1

    res = subprocess.run([FLASK, "--app", "app", "doctor"], env=env(app), capture_output=True, text=True, timeout=120)
    assert res.returncode == 1, res.stdout  # something is found …
    res = subprocess.run([FLASK, "--app", "app", "doctor", "--repair"], env=env(app), capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    res = subprocess.run([FLASK, "--app", "app", "doctor"], env=env(app), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "問題 0件" in res.stdout, res.stdout  # … and nothing is left

    db.session.rollback()  # a fresh snapshot: another process wrote
    assert revision.state == PUBLISHED and manual.current_version == 2
    assert git("rev-list", "--count", "main").strip() == "2"  # published exactly once
    assert db.session.query(Notice).filter_by(revision_id=revision.id).count() == 8  # 7 wards + owner copy
    hits = search.search(db.session, None, "21日以内", record=False).results
    assert hits and hits[0].hit.ref == manual.slug
    # Approving again is refused (it is published), and does not add a commit.
    with pytest.raises(Exception, match="公布済"):
        route.approve(db.session, user("hq.kacho"), revision)
    assert git("rev-list", "--count", "main").strip() == "2"


def _mount(*args: str) -> None:
    res = subprocess.run(["mount", *args], capture_output=True, text=True)
    assert res.returncode == 0, f"mount {' '.join(args)} failed (the fault tests need root): {res.stderr}"


def _check_nothing_changed(manual, revision) -> None:  # type: ignore[no-untyped-def]
    db.session.rollback()
    db.session.rollback()  # a fresh snapshot: another process wrote
    assert revision.state == IN_REVIEW and manual.current_version == 1
    assert db.session.query(Notice).count() == 0


def test_read_only_repository_gives_a_clear_error_and_no_partial_state(app: Flask) -> None:
    manual, revision = ready_for_final_approval()
    repo = app.config["MANUALS_REPO"]
    _mount("--bind", repo, repo)
    try:
        _mount("-o", "remount,bind,ro", repo)
        with pytest.raises(Exception) as exc:
            route.approve(db.session, user("hq.kacho"), revision)
        message = str(exc.value)
        assert "読み取り専用" in message and "何も変更されていません" in message
    finally:
        subprocess.run(["umount", repo], check=True)
    _check_nothing_changed(manual, revision)
    assert git("rev-list", "--count", "main").strip() == "1"
    route.approve(db.session, user("hq.kacho"), revision)  # works once the repository is writable again
    assert revision.state == PUBLISHED


def test_full_disk_gives_a_clear_error_and_no_partial_state(app: Flask, tmp_path: Path) -> None:
    manual, revision = ready_for_final_approval()
    small = tmp_path / "small"
    small.mkdir()
    _mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(small))
    try:
        subprocess.run(["cp", "-a", app.config["MANUALS_REPO"], str(small / "repo")], check=True)
        app.config["MANUALS_REPO"] = str(small / "repo")
        # Fill the file system to the last block.
        subprocess.run(["dd", "if=/dev/zero", f"of={small / 'fill'}", "bs=4k"], capture_output=True)
        with pytest.raises(Exception) as exc:
            route.approve(db.session, user("hq.kacho"), revision)
        message = str(exc.value)
        assert "ディスクがいっぱい" in message and "何も変更されていません" in message
        _check_nothing_changed(manual, revision)
        assert git("rev-list", "--count", "main").strip() == "1"
    finally:
        subprocess.run(["umount", "-l", str(small)], check=True)


def test_a_late_repair_never_moves_the_manual_backwards(app: Flask) -> None:
    """A is killed between its git commit and its DB record; B of the same manual is published; the
    repair records A as the version it is on main without touching B's registry or notices."""
    from app.notices.models import PENDING, SUPERSEDED
    from app.revisions.models import WorkflowEvent
    from tests.helpers import approve_step, submit

    manual = make_manual()
    a = revise(manual, "hq.tanto", "14日以内", "21日以内", reason="審査期間を改める。")
    b = revise(manual, "hq.tanto", "決定通知書を郵送する。", "決定通知書を郵送又は交付する。", reason="交付を加える。")
    for r in (a, b):
        submit(r)
        approve_step(r, "hq.kakaricho")
    proc = subprocess.run([sys.executable, "-c", WORKER, str(a.id)], env=env(app, TEBIKI_FAULT="publish.after_git"),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    db.session.rollback()
    # B, with a new tag, is published on top of main (which holds A's commit as 第2版).
    b_text = base_text_of(b)
    route.approve(db.session, user("hq.kacho"), b)
    db.session.commit()
    assert "[テスト]" in b_text
    db.session.rollback()
    assert (b.state, b.number, manual.current_version) == (PUBLISHED, 3, 2 + 1)
    res = subprocess.run([FLASK, "--app", "app", "doctor", "--repair"], env=env(app), capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    db.session.rollback()
    assert (a.state, a.number) == (PUBLISHED, 2)
    assert manual.current_version == 3 and manual.current_commit == b.published_commit  # B stays current
    assert {n.status for n in db.session.query(Notice).filter_by(revision_id=b.id, owner_copy=False)} == {PENDING}
    assert {n.status for n in db.session.query(Notice).filter_by(revision_id=a.id, owner_copy=False)} == {SUPERSEDED}
    assert [s.status for s in a.steps] == ["approved", "approved"]  # A's whole route is on record
    approvals = db.session.query(WorkflowEvent).filter_by(revision_id=a.id, action="approve").all()
    assert [e.meaning for e in approvals] == ["審査", "決裁"]
    res = subprocess.run([FLASK, "--app", "app", "doctor"], env=env(app), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "問題 0件" in res.stdout, res.stdout
    # git: one commit per revision, in the order they landed, numbered 2 and 3.
    out = git("log", "--reverse", "--format=%(trailers:key=Revision,valueonly,separator=)", "main")
    assert out.split() == ["1", "2", "3"]


def base_text_of(revision) -> str:  # type: ignore[no-untyped-def]
    from app.revisions.base import current_text

    return current_text(revision)


def test_a_failing_consumer_never_fails_the_approval(app: Flask, client, monkeypatch: pytest.MonkeyPatch) -> None:
    """The index consumer raises: the approver sees success, notices and ruling flags are done; once
    the fault is gone `flask events run` completes the index exactly once."""
    from app import events
    from tests.conftest import login, post

    manual, revision = ready_for_final_approval()
    monkeypatch.setenv("TEBIKI_FAIL", "search.index")
    login(client, "hq.kacho")
    res = post(client, f"/revisions/{revision.id}/approve", {"comment": ""}, follow_redirects=True)
    assert "マニュアルを公布しました" in res.get_data(as_text=True)
    db.session.rollback()
    assert revision.state == PUBLISHED
    assert db.session.query(Notice).filter_by(revision_id=revision.id).count() == 8
    by_consumer = {r.consumer: r for r in db.session.query(events.Reaction).filter_by(topic="manual.published")}
    assert by_consumer["notices"].status == "done" and by_consumer["ruling_flags"].status == "done"
    failed = by_consumer["search_index"]
    assert failed.status == "pending" and "fault injected" in failed.last_error and failed.attempts == 1
    assert search.get_index().versions("manual")[manual.slug] != manual.current_commit  # the index is behind …
    monkeypatch.delenv("TEBIKI_FAIL")
    db.session.execute(db.update(events.Reaction).values(next_attempt_at=db.func.now()))  # its retry is due
    db.session.commit()
    res = subprocess.run([FLASK, "--app", "app", "events", "run"], env=env(app), capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0 and "処理 1件" in res.stdout, res.stdout + res.stderr
    db.session.rollback()
    assert failed.status == "done" and failed.attempts == 2
    assert search.get_index().versions("manual")[manual.slug] == manual.current_commit  # … and catches up once
    assert "21日以内" in search.search(db.session, None, "審査 21日以内", record=False).results[0].hit.body
    res = subprocess.run([FLASK, "--app", "app", "events", "run"], env=env(app), capture_output=True, text=True,
                         timeout=120)
    assert "処理 0件" in res.stdout
