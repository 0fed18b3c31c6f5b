"""Relevance of search on the demo manuals and rulings: graded nDCG@10, P@1 and recall@10 per group
of the judged queries in bench/search_queries.json.

Groups: variant spellings, keyword, sentence, one-character (short); governing (keyword queries
whose governing manual section, grade 2, must be first — measured with one-line 附則 sections added
to several manuals, as a revision does), reading (hiragana / katakana / half width), typo (scored on
what one click on 「もしかして」 gives; the expected suggestion is checked too), junk (must return
nothing: nDCG and P@1 are 1 only for an empty list) and question (the matching ruling, grade 2).
`relevant` is a list (grade 1 each) or {key: grade}. P@1: the first result has the top grade.

    .venv/bin/python bench/search_eval.py [-v] [--whoosh]
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
# A revision that only adds the date a manual comes into force: a one-line section whose manual
# title holds every keyword (the case issue 18 saw win 「国保 喪失」).
SUPPLEMENT = "\n\n## 第{n}章 附則\n\nこの手引きは、令和9年4月1日から施行する。\n"
SUPPLEMENTED = ["kokuho-shikaku", "jidou-teate-nintei", "shizei-nouzei-soudan", "youkaigo-nintei-shinsei",
                "juminhyo-koufu-dairinin", "shougaisha-techou", "kokuho-hokenryo-genmen"]


def grades(case: dict) -> dict[str, int]:
    rel = case["relevant"]
    return dict(rel) if isinstance(rel, dict) else {k: 1 for k in rel}


def ndcg(ranked: list[str], judged: dict[str, int], k: int = 10) -> float:
    dcg = sum((2 ** judged.get(key, 0) - 1) / math.log2(i + 2) for i, key in enumerate(ranked[:k]))
    ideal = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(sorted(judged.values(), reverse=True)[:k]))
    return dcg / ideal if ideal else 0.0


def add_supplements(session) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from app.gitstore import store
    from app.manuals.models import Manual
    from app.search import services as search

    for slug in SUPPLEMENTED:
        manual = session.scalar(select(Manual).where(Manual.slug == slug))
        text = store().read(manual.current_commit, manual.path) or ""
        chapters = text.count("\n## ")
        docs = search.manual_docs(manual, text.rstrip() + SUPPLEMENT.format(n=chapters + 1))
        search.get_index().upsert(docs, replace_prefixes=[f"manual:{slug}#"])


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

    def ranked_for(query: str) -> tuple[list[str], str | None]:
        res = search.search(db.session, None, query, limit=10, record=False)
        keys = [f"{r.hit.kind}:{r.hit.ref}" + (f"#{r.hit.anchor}" if r.hit.kind == "manual" else "")
                for r in res.results]
        return keys, getattr(res, "suggestion", None)

    cases = json.loads(QUERIES.read_text(encoding="utf-8"))
    with app.app_context(), app.test_request_context():
        seed_demo_manuals(db.session)
        import_file(db.session, DEMO_DIR / "rulings" / "rulings.csv")
        search.reindex(db.session)
        add_supplements(db.session)
        per_kind: dict[str, list[tuple[float, float, float]]] = {}
        for case in cases:
            ranked, suggestion = ranked_for(case["query"])
            note = ""
            if case["kind"] == "typo":
                note = f" suggestion {suggestion!r}" + ("" if suggestion == case.get("suggest") else " (expected "
                                                         f"{case.get('suggest')!r})")
                if suggestion:
                    ranked, _ = ranked_for(suggestion)
            judged = grades(case)
            if case["kind"] == "junk":
                score = p1 = recall = float(not ranked)
            else:
                score = ndcg(ranked, judged)
                top = max(judged.values())
                p1 = float(bool(ranked) and judged.get(ranked[0], 0) == top)
                recall = len(set(judged) & set(ranked)) / len(judged)
            per_kind.setdefault(case["kind"], []).append((score, p1, recall))
            if verbose or recall < 1 or p1 < 1:
                mark = "  " if recall == 1 and p1 == 1 else "! "
                print(f"{mark}[{case['kind']}] {case['query']}: nDCG {score:.2f} P@1 {p1:.0f} recall {recall:.2f}{note}")
                for key in sorted(set(judged) - set(ranked)):
                    print(f"      missed {key}")
                if ranked and (p1 < 1 or verbose):
                    print(f"      first {ranked[0]}")
    print(f"\nbackend: {backend}")
    all_scores = [s for v in per_kind.values() for s in v]
    for kind, scores in [*sorted(per_kind.items()), ("all", all_scores)]:
        n = len(scores)
        print(f"{kind:<10} n={n:<3} nDCG@10 {sum(s[0] for s in scores) / n:.3f}   P@1 {sum(s[1] for s in scores) / n:.3f}"
              f"   recall@10 {sum(s[2] for s in scores) / n:.3f}")


if __name__ == "__main__":
    main()
