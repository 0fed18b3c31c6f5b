"""Two real processes publish at the same moment: both land (compare-and-swap on main)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
from flask import Flask

from app.extensions import db
from app.manuals.models import Manual
from app.revisions import services as rev
from app.revisions.models import PUBLISHED, Revision
from tests.helpers import git, make_manual, revise, user

WORKER = textwrap.dedent("""
    import os, sys, time
    from app import create_app
    from app.extensions import db
    from app.org.models import User
    from app.revisions import services as rev
    app = create_app({"SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"timeout": 30}}
                      if os.environ["DATABASE_URL"].startswith("sqlite") else {}})
    with app.app_context():
        head = db.session.query(User).filter_by(login=sys.argv[1]).one()
        ids = [int(x) for x in sys.argv[3].split(",")]
        while not os.path.exists(sys.argv[2]):
            time.sleep(0.005)
        for rid in ids:
            rev.approve(db.session, head, rev.get_revision(db.session, rid))
    print("ok")
""")


def _env(app: Flask) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "TEBIKI_INSTANCE": app.config["INSTANCE_DIR"],
        "MANUALS_REPO": app.config["MANUALS_REPO"],
        "SEARCH_INDEX_DIR": app.config["SEARCH_INDEX_DIR"],
    }


@pytest.mark.usefixtures("demo_users")
def test_two_processes_publishing_different_manuals_both_land(app: Flask, tmp_path) -> None:
    groups: dict[str, list[int]] = {"hq.kacho": [], "kaigo.hq.kacho": []}
    for i in range(4):
        m = make_manual(f"hoken-{i}", f"保険の手引き{i}")
        r = revise(m, "hq.tanto", "14日以内", "21日以内")
        rev.submit(db.session, user("hq.tanto"), r)
        rev.approve(db.session, user("hq.kakaricho"), r)
        groups["hq.kacho"].append(r.id)
        m = make_manual(f"kaigo-{i}", f"介護の手引き{i}", owner="健康福祉局 介護保険課", targets="[障害高齢課]")
        r = revise(m, "kaigo.hq.tanto", "14日以内", "30日以内")
        rev.submit(db.session, user("kaigo.hq.tanto"), r)
        rev.approve(db.session, user("kaigo.hq.kakaricho"), r)
        groups["kaigo.hq.kacho"].append(r.id)
    db.session.commit()
    start_flag = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, login, str(start_flag), ",".join(map(str, ids))],
                         env=_env(app), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for login, ids in groups.items()
    ]
    time.sleep(1.5)  # both are waiting at the flag
    start_flag.touch()
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert out.strip() == "ok"
    db.session.expire_all()
    all_ids = groups["hq.kacho"] + groups["kaigo.hq.kacho"]
    assert {r.state for r in db.session.query(Revision).filter(Revision.id.in_(all_ids))} == {PUBLISHED}
    assert {m.current_version for m in db.session.query(Manual)} == {2}
    # 8 imports + 8 publishes, a straight line, every manual's file intact
    assert git("rev-list", "--count", "main").strip() == "16"
    assert git("rev-list", "--merges", "--count", "main").strip() == "0"
    for i in range(4):
        assert "21日以内" in git("show", f"main:manuals/hoken-{i}.md")
        assert "30日以内" in git("show", f"main:manuals/kaigo-{i}.md")
    published = git("log", "--format=%(trailers:key=Manual,valueonly)", "main").split()
    assert sorted(published) == sorted([f"hoken-{i}" for i in range(4)] * 2 + [f"kaigo-{i}" for i in range(4)] * 2)
