"""Issue 14 benchmark: the cost of a page view on the real server, and what a worker holds.

Starts `gunicorn` (2 sync workers, as `make serve`) on a throw-away instance with 2,000 manuals and
the demo users, logs in as a ward user, then with 4 clients at once:
- views each of the 2,000 manuals once (distinct pages), then 1,000 random ones again;
- fetches the stylesheet 1,000 times with the session cookie;
- runs the search query mix of bench/search_queries.json.
Reports the server CPU per request (the workers' user + system time, from /proc, divided by the
requests served), requests per second, latency, and each worker's RSS and PSS after all that.

    .venv/bin/python bench/pageview_bench.py [--manuals 2000] [--database-url postgresql+psycopg://…]
        [--instance /tmp/tebiki-bench-pageview-…]   (measure again on an instance made before: SQLite only)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import make_app, manual_body  # noqa: E402

BIN = Path(sys.executable).parent
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def memory(pid: int) -> tuple[float, float]:
    """(RSS, PSS) in MB, from smaps_rollup."""
    text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    rss = int(re.search(r"^Rss:\s+(\d+)", text, re.M).group(1))  # type: ignore[union-attr]
    pss = int(re.search(r"^Pss:\s+(\d+)", text, re.M).group(1))  # type: ignore[union-attr]
    return rss / 1024, pss / 1024


def where(pid: int, top: int = 6) -> str:
    """The mappings holding most of a process's PSS (what its memory is)."""
    pss: dict[str, float] = {}
    name = "[anon]"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            parts = line.split(maxsplit=5)
            name = Path(parts[5]).name if len(parts) > 5 and parts[5].startswith("/") else (parts[5] if len(parts) > 5 else "[anon]")
        elif line.startswith("Pss:"):
            pss[name] = pss.get(name, 0.0) + int(line.split()[1]) / 1024
    return ", ".join(f"{k} {v:.1f}" for k, v in sorted(pss.items(), key=lambda kv: -kv[1])[:top])


def workers(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def run(session: requests.Session, base: str, paths: list[str], clients: int = 4) -> list[float]:
    """GET every path with `clients` threads at once; latencies in ms."""
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(paths)

    def worker() -> None:
        s = requests.Session()
        s.cookies.update(session.cookies)
        while True:
            with lock:
                if not queue:
                    return
                path = queue.pop()
            t = time.perf_counter()
            r = s.get(base + path, timeout=60)
            assert r.status_code == 200, (path, r.status_code)
            with lock:
                latencies.append((time.perf_counter() - t) * 1000)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def measure(label: str, master: int, session: requests.Session, base: str, paths: list[str]) -> None:
    pids = workers(master)
    before = sum(cpu_seconds(p) for p in pids)
    t = time.perf_counter()
    lat = sorted(run(session, base, paths))
    wall = time.perf_counter() - t
    cpu = sum(cpu_seconds(p) for p in pids) - before
    p95 = lat[int(0.95 * len(lat)) - 1]
    pss = "/".join(f"{memory(p)[1]:.0f}" for p in pids)
    print(f"{label:<36} n={len(paths):<5} CPU {cpu * 1000 / len(paths):6.2f} ms/req   {len(paths) / wall:7.1f} req/s"
          f"   p50 {statistics.median(lat):6.1f} ms   p95 {p95:6.1f} ms   worker PSS after {pss} MB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--manuals", type=int, default=2000)
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    ap.add_argument("--instance", type=Path, help="an instance this script made before (SQLite)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    rng = random.Random(7)
    if args.instance:
        root = args.instance
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{root / 'bench.db'}", "TEBIKI_INSTANCE": str(root / "instance"),
               "MANUALS_REPO": str(root / "repo"), "SEARCH_INDEX_DIR": str(root / "instance" / "index"),
               "SEARCH_BACKEND": "fts", "SECRET_KEY": "bench-secret", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}
    else:
        env = build(args, rng)
    serve(args, env, rng)


def build(args: argparse.Namespace, rng: random.Random) -> dict[str, str]:
    if args.database_url:
        os.environ["BENCH_DATABASE_URL"] = args.database_url
    app, root = make_app("pageview")
    from app.extensions import db
    from app.manuals.importer import import_documents
    from app.search.services import reindex, tidy_index

    owners = ["健康福祉局 保険年金課", "健康福祉局 介護保険課", "市民局 戸籍住民課", "こども若者局 運営支援課", "財政局 課税企画課"]
    with app.app_context():
        t = time.perf_counter()
        batch: list[tuple[str, str]] = []
        for i in range(args.manuals):
            title = f"事務処理要領 第{i:04d}号"
            batch.append((f"bench-{i:04d}.md", f"---\ntitle: {title}\nowner: {owners[i % len(owners)]}\n"
                          f"targets: [保険年金課]\neffective: 2024-04-01\nreview_months: 12\ntags: [ベンチ]\n---\n"
                          + manual_body(rng, title)))
            if len(batch) == 200:
                import_documents(db.session, batch)
                batch = []
        if batch:
            import_documents(db.session, batch)
        reindex(db.session)
        db.session.commit()
        tidy_index()  # as `flask search reindex` does
        print(f"instance: {args.manuals} manuals in {time.perf_counter() - t:.0f} s ({root})")
        env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
               "TEBIKI_INSTANCE": app.config["INSTANCE_DIR"], "MANUALS_REPO": app.config["MANUALS_REPO"],
               "SEARCH_INDEX_DIR": app.config["SEARCH_INDEX_DIR"], "SEARCH_BACKEND": app.config["SEARCH_BACKEND"],
               "SECRET_KEY": "bench-secret", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}
    return env


def serve(args: argparse.Namespace, env: dict[str, str], rng: random.Random) -> None:
    port = 18000 + rng.randrange(1000)
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(BIN / "gunicorn"), "-c", "python:app.gunicorn_conf", "--workers", str(args.workers), "--bind", f"127.0.0.1:{port}", "app.wsgi:app"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        s = requests.Session()
        html = s.get(base + "/login").text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
        s.post(base + "/login", data={"login": "aoba.tanto", "password": "tebiki-demo", "csrf_token": token})
        print("worker PSS after start: " + "/".join(f"{memory(p)[1]:.0f}" for p in workers(server.pid)) + " MB")
        run(s, base, ["/dashboard", "/manuals/bench-0000", "/search?q=受付"] * 4)  # warm both workers
        slugs = [f"/manuals/bench-{i:04d}" for i in range(args.manuals)]
        rng.shuffle(slugs)
        measure("manual page, 2,000 distinct", server.pid, s, base, slugs)
        measure("manual page, 1,000 random again", server.pid, s, base, [rng.choice(slugs) for _ in range(1000)])
        measure("stylesheet with the session cookie", server.pid, s, base, ["/static/tebiki.css"] * 1000)
        queries = [c["query"] for c in json.loads((Path(__file__).parent / "search_queries.json").read_text())]
        measure("search (the query mix)", server.pid, s, base,
                [f"/search?q={requests.utils.quote(q)}" for q in queries] * 3)
        total = 0.0
        for pid in workers(server.pid):
            rss, pss = memory(pid)
            total += pss
            print(f"worker {pid}: RSS {rss:6.1f} MB   PSS {pss:6.1f} MB   ({where(pid)})")
        rss, pss = memory(server.pid)
        print(f"master {server.pid}: RSS {rss:6.1f} MB   PSS {pss:6.1f} MB   (all processes together: PSS {total + pss:.1f} MB)")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
