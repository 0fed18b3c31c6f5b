"""Issue 4 benchmark: 2,000 manuals (~10 KB, split into sections) + 20,000 rulings, generated with
varied vocabulary. Reports index build time, index size and query latency p50/p95 over 200 mixed
queries (short keywords, several words, sentences).

    .venv/bin/python bench/search_bench.py [--manuals 2000] [--rulings 20000] [--backend fts|whoosh|postgres]
        [--database-url postgresql+psycopg://…]   (its schema is dropped: a database of its own)
        [--reuse /tmp/tebiki-bench-search-…]   (query again an instance made before: no generation)
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ACTIONS, DOCUMENTS, SUBJECTS, make_app, manual_body, sentence, summary  # noqa: E402
from bench.search_eval import bench_backend  # noqa: E402

QUESTIONS = [
    "{doc}の提出がない場合、{action}してよいか", "{subject}の{action}で{doc}の写しは認められるか",
    "代理人が{doc}を持参した場合の{action}の取扱いは", "{n}日を過ぎた{subject}の{action}は受理できるか",
    "郵送で{action}の申し込みがあった場合どうするか", "{doc}の有効期限が切れている場合の{action}",
]


def ruling_text(rng: random.Random) -> tuple[str, str, str]:
    q = rng.choice(QUESTIONS).format(doc=rng.choice(DOCUMENTS), subject=rng.choice(SUBJECTS),
                                     action=rng.choice(ACTIONS), n=rng.choice([14, 30, 60]))
    body = q + "。" + "".join(sentence(rng) for _ in range(rng.randint(1, 3)))
    answer = rng.choice(["受け付けて差し支えない。", "受理できない。", "条件付きで受け付ける。"]) + "".join(
        sentence(rng) for _ in range(rng.randint(1, 3)))
    return q, body, answer


def index_size(app) -> int:  # type: ignore[no-untyped-def]
    if app.config["SEARCH_BACKEND"] == "postgres":
        from sqlalchemy import text

        from app.extensions import db
        from app.search.pg_backend import ALL_TABLES as TABLES

        return sum(db.session.execute(text(f"SELECT pg_total_relation_size('{t}')")).scalar_one() for t in TABLES)
    return sum(p.stat().st_size for p in Path(app.config["SEARCH_INDEX_DIR"]).rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--manuals", type=int, default=2000)
    ap.add_argument("--rulings", type=int, default=20000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--backend", choices=["fts", "fts5", "whoosh", "postgres"], default="fts")
    ap.add_argument("--database-url", default=None, help="PostgreSQL URL for the data (and the postgres index)")
    ap.add_argument("--reuse", type=Path, help="the folder of an instance this script made before (same database)")
    args = ap.parse_args()
    args.backend = bench_backend(args.backend, args.database_url)
    rng = random.Random(7)
    if args.reuse:
        from app import create_app

        root = args.reuse
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{root / 'bench.db'}"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_DIR": str(root / "instance"),
                          "MANUALS_REPO": str(root / "repo"), "SEARCH_INDEX_DIR": str(root / "instance" / "index"),
                          "SEARCH_BACKEND": args.backend})
        run_queries(app, args)
        return
    app, root = make_app("search", SEARCH_BACKEND=args.backend)
    print(f"instance: {root}")
    from app.extensions import db
    from app.manuals.importer import import_documents
    from app.org.models import Unit
    from app.rulings.models import ANSWERED, Inquiry
    from app.search import services as search

    owners = ["健康福祉局 保険年金課", "健康福祉局 介護保険課", "市民局 戸籍住民課", "こども若者局 運営支援課", "財政局 課税企画課"]
    with app.app_context():
        t = time.perf_counter()
        batch = []
        for i in range(args.manuals):
            title = f"{rng.choice(SUBJECTS)}{rng.choice(ACTIONS)}事務の手引 第{i:04d}号"
            batch.append((f"m-{i:04d}.md", f"---\ntitle: {title}\nowner: {owners[i % 5]}\ntargets: [保険年金課]\n"
                          f"effective: 2024-04-01\nreview_months: 12\ntags: [{rng.choice(SUBJECTS)}]\n---\n"
                          + manual_body(rng, title)))
            if len(batch) == 250:
                import_documents(db.session, batch)
                batch = []
        if batch:
            import_documents(db.session, batch)
        wards = list(db.session.query(Unit).filter_by(kind="ward"))
        hq = {u.name: u for u in db.session.query(Unit).filter_by(kind="hq")}
        for i in range(args.rulings):
            subject, body, answer = ruling_text(rng)
            unit = rng.choice(wards)
            owner = hq[owners[i % 5]]
            asked = date(2022, 1, 1) + timedelta(days=rng.randrange(1300))
            db.session.add(Inquiry(
                kind="疑義照会", subject=subject[:200], body=body, answer=answer, basis="規則第3条", owner_unit_id=owner.id,
                asking_unit_id=unit.id, status=ANSWERED, asked_on=asked, answered_on=asked + timedelta(days=7),
                share_all=True, number=f"R{asked.year}-{i:05d}", tags=rng.choice(SUBJECTS), imported=True))
            if i % 5000 == 4999:
                db.session.commit()
        db.session.commit()
        print(f"generated {args.manuals} manuals and {args.rulings} rulings in {time.perf_counter() - t:.0f} s")

        t = time.perf_counter()
        counts = search.reindex(db.session)
        db.session.commit()
        search.tidy_index()  # as `flask search reindex` does
        build = time.perf_counter() - t
        size = index_size(app)
        print(f"[{args.backend}] full reindex: {build:.1f} s for {counts['manual_sections']:,} sections + {counts['rulings']:,} rulings;"
              f" index size {size / 1e6:.0f} MB")
    run_queries(app, args)


def run_queries(app, args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    from app.extensions import db
    from app.search import services as search

    rng = random.Random(11)  # the same query mix whether the instance is new or reused
    with app.app_context():
        short = [rng.choice(SUBJECTS) for _ in range(60)] + [rng.choice(DOCUMENTS) for _ in range(20)] + ["課", "届"] * 5
        several = [f"{rng.choice(SUBJECTS)} {rng.choice(ACTIONS)} {rng.choice(DOCUMENTS)}" for _ in range(50)]
        sentences = [ruling_text(rng)[0] for _ in range(args.queries - len(short) - len(several))]
        queries = [("short", q) for q in short] + [("words", q) for q in several] + [("sentence", q) for q in sentences]
        rng.shuffle(queries)
        with app.test_request_context():
            search.search(db.session, None, "warm up", record=False)
            times: dict[str, list[float]] = {"short": [], "words": [], "sentence": []}
            with_facets: list[float] = []
            for kind, q in queries:
                t0 = time.perf_counter()
                search.search(db.session, None, q, limit=20, record=False)
                times[kind].append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                search.search(db.session, None, q, limit=21, record=False, facets=True)
                with_facets.append((time.perf_counter() - t0) * 1000)
        print()
        for kind, samples in times.items():
            print(summary(f"query: {kind}", samples))
        print(summary("query: all 200 (top 20 + snippets)", [x for v in times.values() for x in v]))
        print(summary("search page query (+ facets)", with_facets))


if __name__ == "__main__":
    main()
