"""Relevance of search on the demo manuals and rulings: nDCG@10 and recall@10 over the judged
queries in bench/search_queries.json (variant spellings, keywords, sentences, one-character).

    .venv/bin/python bench/search_eval.py [-v] [--backend fts|whoosh|postgres] [--database-url URL]

`--backend postgres` needs a PostgreSQL database (`--database-url`, or BENCH_DATABASE_URL): its
schema is dropped and rebuilt, so give it a database of its own.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import make_app  # noqa: E402

QUERIES = Path(__file__).resolve().parent / "search_queries.json"


def ndcg(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, key in enumerate(ranked[:k]) if key in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


def bench_backend(backend: str, database_url: str | None) -> str:
    """The backend name, with the database it needs (BENCH_DATABASE_URL is what make_app reads)."""
    backend = "fts" if backend == "fts5" else backend
    if database_url:
        os.environ["BENCH_DATABASE_URL"] = database_url
    if backend == "postgres" and not os.environ.get("BENCH_DATABASE_URL", "").startswith("postgresql"):
        sys.exit("--backend postgres には --database-url postgresql+psycopg://… が必要です")
    return backend


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-v", dest="verbose", action="store_true")
    ap.add_argument("--whoosh", action="store_true", help="the same as --backend whoosh")
    ap.add_argument("--backend", choices=["fts", "fts5", "whoosh", "postgres"], default=None)
    ap.add_argument("--database-url", default=None, help="PostgreSQL URL (its schema is dropped)")
    args = ap.parse_args()
    verbose = args.verbose
    backend = bench_backend(args.backend or ("whoosh" if args.whoosh else "fts"), args.database_url)
    app, _root = make_app("eval", SEARCH_BACKEND=backend)
    from app.extensions import db
    from app.rulings.importer import import_file
    from app.search import services as search
    from app.seed import DEMO_DIR, seed_demo_manuals

    cases = json.loads(QUERIES.read_text(encoding="utf-8"))
    with app.app_context(), app.test_request_context():
        seed_demo_manuals(db.session)
        import_file(db.session, DEMO_DIR / "rulings" / "rulings.csv")
        search.reindex(db.session)
        per_kind: dict[str, list[tuple[float, float]]] = {}
        for case in cases:
            results = search.search(db.session, None, case["query"], limit=10, record=False).results
            ranked = [f"{r.hit.kind}:{r.hit.ref}" + (f"#{r.hit.anchor}" if r.hit.kind == "manual" else "")
                      for r in results]
            relevant = set(case["relevant"])
            score = ndcg(ranked, relevant)
            recall = len(relevant & set(ranked)) / len(relevant)
            per_kind.setdefault(case["kind"], []).append((score, recall))
            if verbose or recall < 1:
                mark = "  " if recall == 1 else "! "
                print(f"{mark}[{case['kind']}] {case['query']}: nDCG {score:.2f} recall {recall:.2f}")
                if verbose or recall < 1:
                    for key in sorted(relevant - set(ranked)):
                        print(f"      missed {key}")
    print(f"\nbackend: {backend}")
    all_scores = [s for v in per_kind.values() for s in v]
    for kind, scores in sorted(per_kind.items()):
        print(f"{kind:<9} n={len(scores):<3} nDCG@10 {sum(s for s, _ in scores) / len(scores):.3f}"
              f"   recall@10 {sum(r for _, r in scores) / len(scores):.3f}")
    print(f"{'all':<9} n={len(all_scores):<3} nDCG@10 {sum(s for s, _ in all_scores) / len(all_scores):.3f}"
          f"   recall@10 {sum(r for _, r in all_scores) / len(all_scores):.3f}")


if __name__ == "__main__":
    main()
