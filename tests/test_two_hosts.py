"""Two application hosts on one PostgreSQL database and one bare repository (issue 14): each host
its own instance folder (sessions, search index directory, logs), the same SECRET_KEY, the search
backend left to its default (the index and its vocabulary in PostgreSQL). A publication on A is
found on B at once, by its words and by their readings;
A and B publishing different manuals at the same instant both land on main and doctor is clean on
both; `notices remind` started on both at once mails each unit's head once."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from app.extensions import db
from app.notices.models import Notice
from app.revisions.models import Revision
from app.wareki import today_jst
from tests.conftest import TEST_DATABASE_URL
from tests.helpers import FLASK, approve_all, approve_step, git, make_manual, revise, submit
from tests.realproc import Client, Server, app_env, free_port, servers, together
from tests.test_notices import Inbox

# Two hosts need one database both reach: SQLite is one file per host, so this cannot exist in the
# SQLite pass (a single-host setup there). The PostgreSQL pass of CI (TEST_DATABASE_URL) runs it.
pytestmark = [pytest.mark.usefixtures("demo_users"),
              pytest.mark.skipif(not TEST_DATABASE_URL, reason="二台構成は PostgreSQL でのみ成り立つ（TEST_DATABASE_URL）")]


def host_env(app: Flask, root: Path, name: str, **extra: str) -> dict[str, str]:
    """A host's environment: shared database, repository and SECRET_KEY; its own instance folder."""
    instance = root / name
    (instance / "search_index").mkdir(parents=True, exist_ok=True)
    env = app_env(app, TEBIKI_INSTANCE=str(instance), SEARCH_INDEX_DIR=str(instance / "search_index"), **extra)
    for key in ("SEARCH_BACKEND", "TEBIKI_SINGLE_HOST"):  # production: the defaults, and a shared key
        env.pop(key, None)
    return env


@contextmanager
def hosts(app: Flask, root: Path) -> Iterator[list[Server]]:
    with servers(app, log_dir=root, envs=[host_env(app, root, name) for name in ("host-a", "host-b")]) as started:
        yield started
    for server in started:
        assert "Traceback" not in server.log.read_text(), server.log.read_text()[-4000:]


def found(client: Client, query: str) -> list[str]:
    res = client.get(f"/api/search?q={query}&limit=5")
    assert res.status_code == 200, res.text[:500]
    return [row["id"] for row in res.json()]


def doctor_clean_on(env: dict[str, str]) -> None:
    res = subprocess.run([FLASK, "--app", "app", "doctor"], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and "問題 0件" in res.stdout, res.stdout + res.stderr


def ready_for_final_approval(slug: str, title: str, old: str, new: str, **kw: str) -> Revision:
    manual = make_manual(slug, title, **kw)
    drafter, chief = ("kaigo.hq.tanto", "kaigo.hq.kakaricho") if "owner" in kw else ("hq.tanto", "hq.kakaricho")
    revision = revise(manual, drafter, old, new)
    submit(revision)
    approve_step(revision, chief)
    return revision


def test_a_publication_on_one_host_is_found_on_the_other_and_publishing_together_lands_both(
        app: Flask, tmp_path: Path) -> None:
    first = ready_for_final_approval("madoguchi", "窓口事務の手引き", "窓口で申請書を受け付ける", "窓口又はオンラインで申請書を受け付ける")
    kaigo = {"owner": "健康福祉局 介護保険課", "targets": "[障害高齢課]"}
    words = [("ファクシミリ", "スマートフォン"), ("パンフレット", "キオスク")]  # one term each, in no manual yet
    pairs = [(ready_for_final_approval(f"hoken-{i}", f"保険の手引き{i}", "決定通知書を郵送する", f"決定通知書を{h}で送る"),
              ready_for_final_approval(f"kaigo-{i}", f"介護の手引き{i}", "決定通知書を郵送する", f"決定通知書を{k}で渡す", **kaigo))
             for i, (h, k) in enumerate(words)]
    with hosts(app, tmp_path) as (a, b):
        on_b = Client(b.url, "aoba.tanto")
        assert found(on_b, "オンライン") == []
        res = Client(a.url, "hq.kacho").post(f"/revisions/{first.id}/approve", {"comment": ""})
        assert res.status_code == 302
        assert found(on_b, "オンライン") == ["madoguchi"]  # B's very next search: one index for every host
        # and by its reading: the vocabulary of readings and 「もしかして」 is one for every host as well
        assert found(on_b, "おんらいん") == ["madoguchi"]

        heads = [Client(a.url, "hq.kacho"), Client(b.url, "kaigo.hq.kacho")]
        for i, (hoken, kaigo_rev) in enumerate(pairs):  # released at the same instant, one on each host
            paths = [f"/revisions/{r.id}/approve" for r in (hoken, kaigo_rev)]
            results = together(*(lambda c=c, p=p: c.post(p, {"comment": ""}) for c, p in zip(heads, paths, strict=True)))
            assert [getattr(r, "status_code", r) for r in results] == [302, 302]
            for c, res in zip(heads, results, strict=True):
                assert "マニュアルを公布しました" in c.get(res.headers["Location"]).text
            on_a = Client(a.url, "aoba.tanto")
            assert found(on_a, words[i][1]) == [f"kaigo-{i}"]  # published on B, searched on A
            assert found(on_b, words[i][0]) == [f"hoken-{i}"]  # and the other way round
    for i, (h, k) in enumerate(words):
        assert h in git("show", f"main:manuals/hoken-{i}.md")
        assert k in git("show", f"main:manuals/kaigo-{i}.md")
    assert git("rev-list", "--merges", "--count", "main").strip() == "0"
    assert git("rev-list", "--count", "main").strip() == str(5 * 2)  # 5 imports + 5 publications
    for name in ("host-a", "host-b"):
        doctor_clean_on(host_env(app, tmp_path, name))
        # Nothing of the search is kept per host (neither the index nor its vocabulary).
        assert list((tmp_path / name / "search_index").iterdir()) == []


# A host process ready to run one CLI command: it signals `ready`, waits for `go` (the barrier across
# processes), then runs the command as `flask` would.
DRIVER = """
import sys, time, traceback
from pathlib import Path
from app import create_app
app = create_app()
Path(sys.argv[1]).touch()
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.002)
res = app.test_cli_runner().invoke(args=sys.argv[3:])
sys.stdout.write(res.output)
if res.exc_info and not isinstance(res.exception, SystemExit):
    traceback.print_exception(*res.exc_info)
sys.exit(res.exit_code)
"""


def on_both_hosts_at_once(app: Flask, root: Path, args: list[str], **env: str) -> list[subprocess.CompletedProcess]:
    run = uuid.uuid4().hex[:8]
    go = root / f"go-{run}"
    procs, ready = [], []
    for name in ("host-a", "host-b"):
        flag = root / f"ready-{name}-{run}"
        procs.append(subprocess.Popen([sys.executable, "-c", DRIVER, str(flag), str(go), *args],
                                      env=host_env(app, root, name, **env), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
        ready.append(flag)
    for proc, flag in zip(procs, ready, strict=True):
        while not flag.exists():
            assert proc.poll() is None, proc.communicate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.01)
    go.touch()
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        out.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
    return out


def test_remind_started_on_both_hosts_at_once_mails_each_unit_once(app: Flask, tmp_path: Path) -> None:
    manual = make_manual()
    revision = revise(manual, "hq.tanto", "14日以内", "21日以内")
    approve_all(revision)
    overdue = db.session.query(Notice).filter_by(revision_id=revision.id, owner_copy=False).all()
    for notice in overdue:
        notice.due_date = today_jst() - timedelta(days=1)
    db.session.commit()
    assert len({n.unit_id for n in overdue}) == 7
    port = free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        mail = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port)}
        reminded = on_both_hosts_at_once(app, tmp_path, ["notices", "remind"], **mail)
        assert [r.returncode for r in reminded] == [0, 0], [r.stderr[-3000:] for r in reminded]
        counts = [int(r.stdout.split("督促 ")[1].split("件")[0]) for r in reminded]
        assert sum(counts) == 7, [r.stdout for r in reminded]  # each unit claimed by one host only
        sent = on_both_hosts_at_once(app, tmp_path, ["notices", "send"], **mail)
        assert [r.returncode for r in sent] == [0, 0], [r.stderr[-3000:] for r in sent]
    finally:
        controller.stop()
    reminders = [rcpts for rcpts, content in inbox.messages if b"<remind-" in content]
    heads = sorted(r for rcpts in reminders for r in rcpts)
    assert len(heads) == 7 and len(set(heads)) == 7 and all(".kacho@" in h for h in heads), heads
    again = on_both_hosts_at_once(app, tmp_path, ["notices", "remind"])
    assert [r.stdout.strip() for r in again] == ["督促 0件（送信は flask notices send）"] * 2  # not twice a day
