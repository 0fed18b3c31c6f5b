"""Load test (issue 7): `make serve` (gunicorn) on PostgreSQL, 200 simulated ward users reading and
searching while 5 本庁 units publish revisions and 2 approve rulings, for 2 minutes. Bounded in time
and count; only 127.0.0.1. Reports throughput, p50/p95/p99 per request kind, errors, and doctor.

    .venv/bin/python bench/load.py [--users 200] [--seconds 120] [--database postgresql+psycopg://postgres@127.0.0.1:5432/tebiki_load]
"""

from __future__ import annotations

import argparse
import html
import http.cookiejar
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(ROOT / ".venv" / "bin" / "flask")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Client:
    def __init__(self, base: str, stats: Stats) -> None:
        self.base = base
        self.stats = stats
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _NoRedirect())
        self.token = ""

    def request(self, kind: str, path: str, data: dict[str, str] | list[tuple[str, str]] | None = None
                ) -> tuple[int, str, str]:
        body = None
        if data is not None:
            pairs = list(data.items()) if isinstance(data, dict) else list(data)
            body = urllib.parse.urlencode([*pairs, ("csrf_token", self.token)]).encode()
        req = urllib.request.Request(self.base + path, data=body)
        t = time.perf_counter()
        try:
            with self.opener.open(req, timeout=30) as resp:
                status, text, location = resp.status, resp.read().decode("utf-8", "replace"), ""
        except urllib.error.HTTPError as err:
            status, text, location = err.code, err.read().decode("utf-8", "replace"), err.headers.get("Location", "")
        except OSError as err:
            status, text, location = 599, str(err), ""
        self.stats.add(kind, (time.perf_counter() - t) * 1000, status)
        m = CSRF.search(text)
        if m:
            self.token = m.group(1)
        return status, text, location

    def login(self, login: str) -> None:
        self.request("login", "/login")
        status, _, _ = self.request("login", "/login", {"login": login, "password": "tebiki-demo"})
        if status != 302:
            raise RuntimeError(f"login {login} failed: {status}")
        self.request("dashboard", "/dashboard")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)

    def add(self, kind: str, ms: float, status: int) -> None:
        with self.lock:
            self.times[kind].append(ms)
            if status >= 400:
                self.errors[f"{kind} {status}"] += 1


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p * len(s))) - 1)] if s else 0.0


def reader(base: str, stats: Stats, login: str, slugs: list[str], numbers: list[str], stop: float, rng: random.Random
           ) -> None:
    c = Client(base, stats)
    c.login(login)
    words = ["委任状", "転入届 期限", "国民健康保険 資格", "代理人の委任状に日付がない場合どうするか", "児童手当", "届",
             "マイナンバーカード", "減免 申請", "郵送 請求"]
    while time.time() < stop:
        choice = rng.random()
        if choice < 0.4:
            c.request("manual page", f"/manuals/{rng.choice(slugs)}")
        elif choice < 0.75:
            c.request("search", "/search?q=" + urllib.parse.quote(rng.choice(words)))
        elif choice < 0.9:
            c.request("ruling page", f"/rulings/{rng.choice(numbers)}")
        else:
            c.request("notices", "/notices/")
        time.sleep(rng.uniform(1.0, 4.0))


def publisher(base: str, stats: Stats, prefix: str, slug: str, stop: float, counter: list[int]) -> None:
    """One 本庁 unit: 担当 revises and submits, 係長 審査, 課長 決裁 — over and over."""
    tanto, chief, head = (Client(base, stats) for _ in range(3))
    tanto.login(f"{prefix}.tanto")
    chief.login(f"{prefix}.kakaricho")
    head.login(f"{prefix}.kacho")
    n = 0
    while time.time() < stop:
        n += 1
        tanto.request("manual page", f"/manuals/{slug}")
        status, _, location = tanto.request("open revision", f"/manuals/{slug}/revise", {})
        if status != 302:
            continue
        edit = urllib.parse.urlparse(location).path
        status, page, _ = tanto.request("editor", edit)
        body = re.search(r'<textarea[^>]*id="body"[^>]*>\r?\n?(.*?)</textarea>', page, re.S)
        title = re.search(r'id="title"[^>]*value="([^"]*)"', page)
        head_commit = re.search(r'id="head"[^>]*value="([0-9a-f]*)"', page)
        targets = re.findall(r'name="targets"[^>]*value="([^"]+)"[^>]*checked|checked[^>]*name="targets"[^>]*value="([^"]+)"',
                             page)
        if not (body and title and head_commit):
            stats.add("editor parse", 0, 500)
            continue
        text = html.unescape(body.group(1)) + f"\n負荷試験による追記 {prefix} {n}\n"
        form = {"title": html.unescape(title.group(1)), "review_months": "12", "effective": "2027-04-01",
                "reason": f"負荷試験 {prefix} {n}", "summary": "", "tags": "", "body": text, "head": head_commit.group(1),
                "then": "show"}
        data = list(form.items()) + [("targets", t[0] or t[1]) for t in targets]
        tanto.request("save draft", edit, data)
        rid = edit.split("/")[2]
        tanto.request("revision page", f"/revisions/{rid}")
        tanto.request("submit", f"/revisions/{rid}/submit", {"consult_unit": "0"})
        chief.request("revision page", f"/revisions/{rid}")
        chief.request("approve", f"/revisions/{rid}/approve", {"comment": ""})
        head.request("revision page", f"/revisions/{rid}")
        status, _, _ = head.request("publish", f"/revisions/{rid}/approve", {"comment": "", "notice_due_days": "14"})
        if status == 302:
            counter[0] += 1


def ruling_approver(base: str, stats: Stats, ward: str, prefix: str, slug: str, stop: float, counter: list[int]) -> None:
    asker, tanto, head = (Client(base, stats) for _ in range(3))
    asker.login(ward)
    tanto.login(f"{prefix}.tanto")
    head.login(f"{prefix}.kacho")
    n = 0
    while time.time() < stop:
        n += 1
        asker.request("inquiry form", f"/inquiries/new?manual={slug}")
        status, _, location = asker.request("file inquiry", "/inquiries/new", {
            "manual": slug, "anchor": "", "kind": "疑義照会", "urgency": "通常", "subject": f"負荷試験の照会 {prefix} {n}",
            "body": "窓口で判断に迷う事例です。受け付けてよいでしょうか。"})
        if status != 302:
            continue
        iid = urllib.parse.urlparse(location).path.split("/")[2]
        tanto.request("inquiry page", f"/inquiries/{iid}?raw=1")
        tanto.request("answer", f"/inquiries/{iid}/answer", {
            "answer": "受け付けて差し支えありません。", "basis": "手引き 第2章", "tags": "負荷試験", "share_all": "y",
            "submit_for_approval": "1"})
        head.request("inquiry page", f"/inquiries/{iid}?raw=1")
        status, _, _ = head.request("approve ruling", f"/inquiries/{iid}/approve", {"comment": ""})
        if status == 302:
            counter[0] += 1
        time.sleep(1.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--seconds", type=int, default=120)
    ap.add_argument("--port", type=int, default=5077)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/tebiki_load")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tebiki-load-"))
    env = {**os.environ, "DATABASE_URL": args.database, "TEBIKI_INSTANCE": str(tmp / "instance"),
           "MANUALS_REPO": str(tmp / "repo"), "SEARCH_INDEX_DIR": str(tmp / "index"), "HOST": "127.0.0.1",
           "PORT": str(args.port), "WEB_CONCURRENCY": str(args.workers), "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}
    if args.database.startswith("postgresql"):
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        url = make_url(args.database)
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {url.database} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {url.database}"))
        admin.dispose()
    for cmd in (["db", "upgrade"], ["seed", "demo", "--quiet"]):
        subprocess.run([FLASK, "--app", "app", *cmd], env=env, check=True, capture_output=True, cwd=ROOT)
    server = subprocess.Popen(["make", "--no-print-directory", "serve"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            raise SystemExit("server did not start")
        slugs = ["kokuho-shikaku", "jumin-idou", "juminhyo-koufu-dairinin", "jidou-teate-nintei", "koseki-todokede-shinsa",
                 "youkaigo-nintei-shinsei", "hoiku-riyou-moushikomi", "shizei-nouzei-soudan", "kokuho-hokenryo-genmen",
                 "seikatsu-hogo-shinsei"]
        numbers = [f"R2023-{i:03d}" for i in range(1, 10)] + [f"R2024-{i:03d}" for i in range(1, 10)]
        wards = [f"{o}.{s}.{p}" for o in ("aoba", "miyagino", "wakabayashi", "taihaku", "izumi")
                 for s in ("hoken", "koseki", "shogai", "hogo", "katei", "hoiku", "zeimu", "nozei", "machi", "somu")
                 for p in ("tanto", "kakaricho", "kacho")]
        wards = [w.replace("aoba.hoken.tanto", "aoba.tanto").replace("aoba.hoken.kacho", "aoba.kacho") for w in wards]
        stats = Stats()
        stop = time.time() + args.seconds
        published, rulings = [0], [0]
        threads = []
        for prefix, slug in (("hoken.hq", "kokuho-shikaku"), ("kaigo.hq", "youkaigo-nintei-shinsei"),
                             ("koseki.hq", "jumin-idou"), ("shogai.hq", "shougaisha-techou"),
                             ("unei.hq", "hoiku-riyou-moushikomi")):
            prefix = "hq" if prefix == "hoken.hq" else prefix
            threads.append(threading.Thread(target=publisher, args=(base, stats, prefix, slug, stop, published)))
        for ward, prefix, slug in (("izumi.hoken.tanto", "hq", "kokuho-shikaku"),
                                   ("taihaku.shogai.tanto", "kaigo.hq", "youkaigo-nintei-shinsei")):
            threads.append(threading.Thread(target=ruling_approver, args=(base, stats, ward, prefix, slug, stop, rulings)))
        for i in range(args.users):
            rng = random.Random(i)
            threads.append(threading.Thread(target=reader, args=(base, stats, wards[i % len(wards)], slugs, numbers,
                                                                 stop, rng)))
        started = time.time()
        for t in threads:
            t.daemon = True
            t.start()
            time.sleep(0.01)
        for t in threads:
            t.join(timeout=args.seconds + 120)
        elapsed = time.time() - started
        total = sum(len(v) for v in stats.times.values())
        print(f"{args.users} readers + 5 publishers + 2 ruling approvers, {elapsed:.0f} s, {args.workers} gunicorn workers")
        print(f"requests: {total:,}  throughput {total / elapsed:.1f} req/s  revisions published {published[0]}  "
              f"rulings published {rulings[0]}")
        print(f"{'kind':<16}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
        for kind, samples in sorted(stats.times.items(), key=lambda kv: -len(kv[1])):
            print(f"{kind:<16}{len(samples):>7}{statistics.median(samples):>9.0f}{pct(samples, .95):>9.0f}"
                  f"{pct(samples, .99):>9.0f}")
        print(f"errors: {sum(stats.errors.values())} {dict(stats.errors)}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    doctor = subprocess.run([FLASK, "--app", "app", "doctor"], env=env, capture_output=True, text=True, cwd=ROOT)
    print("doctor:", doctor.stdout.strip().splitlines()[-1] if doctor.stdout else doctor.stderr)


if __name__ == "__main__":
    sys.exit(main())
