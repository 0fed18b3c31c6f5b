"""Two real app processes publish different manuals at the same moment: both land on main
(compare-and-swap), in a straight line, each manual's file intact, and doctor finds nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from app.extensions import db
from app.manuals.models import Manual
from app.revisions.models import PUBLISHED, Revision
from tests.helpers import approve_step, git, make_manual, revise, submit
from tests.realproc import Client, servers, together
from tests.test_exactly_once import doctor_clean

pytestmark = pytest.mark.usefixtures("demo_users")


def test_two_processes_publishing_different_manuals_both_land(app: Flask, tmp_path: Path) -> None:
    groups: dict[str, list[int]] = {"hq.kacho": [], "kaigo.hq.kacho": []}
    for i in range(4):
        m = make_manual(f"hoken-{i}", f"保険の手引き{i}")
        r = revise(m, "hq.tanto", "14日以内", "21日以内")
        submit(r)
        approve_step(r, "hq.kakaricho")
        groups["hq.kacho"].append(r.id)
        m = make_manual(f"kaigo-{i}", f"介護の手引き{i}", owner="健康福祉局 介護保険課", targets="[障害高齢課]")
        r = revise(m, "kaigo.hq.tanto", "14日以内", "30日以内")
        submit(r)
        approve_step(r, "kaigo.hq.kakaricho")
        groups["kaigo.hq.kacho"].append(r.id)
    with servers(app, 2, log_dir=tmp_path / "logs") as (one, two):
        clients = [Client(one.url, "hq.kacho"), Client(two.url, "kaigo.hq.kacho")]
        for i in range(4):  # the i-th revision of each unit, released together
            results = together(*(lambda c=c, rid=ids[i]: c.post(f"/revisions/{rid}/approve", {"comment": ""})
                                 for c, ids in zip(clients, groups.values(), strict=True)))
            assert [r.status_code for r in results] == [302, 302]
            for c, res in zip(clients, results, strict=True):
                assert "マニュアルを公布しました" in c.get(res.headers["Location"]).text
    db.session.rollback()
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
    doctor_clean(app)
