"""Issue 3 benchmark: 2,000 manuals of ~10 KB and one manual with 300 revisions.

Measures the server time (request in, response out, through the whole Flask stack) of the manual
page, the history page, the 新旧対照表 and a publish (the final 決裁 that merges into main).

    .venv/bin/python bench/manuals_bench.py [--manuals 2000] [--revisions 300]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import make_app, manual_body, summary, timed  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--manuals", type=int, default=2000)
    ap.add_argument("--revisions", type=int, default=300)
    ap.add_argument("--samples", type=int, default=200)
    args = ap.parse_args()
    rng = random.Random(42)
    app, root = make_app("manuals")
    from app.extensions import db
    from app.manuals.document import parse
    from app.manuals.importer import import_documents
    from app.org.models import User
    from app.revisions import base, drafting, route
    from app.wareki import today_jst

    owners = ["健康福祉局 保険年金課", "健康福祉局 介護保険課", "市民局 戸籍住民課", "こども若者局 運営支援課", "財政局 課税企画課"]
    with app.app_context():
        users = {u.login: u for u in db.session.query(User)}
        t = time.perf_counter()
        batch: list[tuple[str, str]] = []
        for i in range(args.manuals):
            title = f"事務処理要領 第{i:04d}号"
            text = (f"---\ntitle: {title}\nowner: {owners[i % len(owners)]}\ntargets: [保険年金課]\n"
                    f"effective: 2024-04-01\nreview_months: 12\ntags: [ベンチ]\n---\n" + manual_body(rng, title))
            batch.append((f"bench-{i:04d}.md", text))
            if len(batch) == 200:
                import_documents(db.session, batch)
                batch = []
        if batch:
            import_documents(db.session, batch)
        print(f"imported {args.manuals} manuals in {time.perf_counter() - t:.1f} s "
              f"(~{len(text) / 1024:.1f} KB each)")

        from app.manuals.models import Manual

        big = db.session.query(Manual).filter_by(slug="bench-0000").one()
        tanto, chief, head = users["hq.tanto"], users["hq.kakaricho"], users["hq.kacho"]
        publish_ms: list[float] = []
        t = time.perf_counter()
        for n in range(args.revisions):
            revision = drafting.open_revision(db.session, tanto, big)
            doc = parse(base.current_text(revision))
            lines = doc.body.split("\n")
            k = rng.randrange(5, len(lines))
            lines[k] = lines[k] + f"（第{n + 2}版で追記）"
            drafting.save_draft(db.session, tanto, revision, drafting.DraftFields(
                title=doc.title, targets=doc.targets, tags=doc.tags, effective=today_jst(),
                review_months=doc.review_months, body="\n".join(lines), reason=f"第{n + 2}版の改正"),
                expected_head=revision.head_commit)
            route.submit(db.session, tanto, revision)
            route.approve(db.session, chief, revision)
            db.session.commit()
            t0 = time.perf_counter()
            # The final 決裁 as its request does it: merge, decision + intent, CAS of main, record,
            # commit, then the reactions (index, notices, ruling flags) right after the commit.
            route.approve(db.session, head, revision)
            db.session.commit()
            publish_ms.append((time.perf_counter() - t0) * 1000)
        print(f"published {args.revisions} revisions of one manual in {time.perf_counter() - t:.1f} s")
        print(summary("publish (final 決裁, 2,300 commits)", publish_ms[len(publish_ms) // 3:]))

    client = app.test_client()
    client.post("/login", data={"login": "aoba.tanto", "password": "tebiki-demo"})
    slugs = [f"bench-{i:04d}" for i in range(args.manuals)]
    last = args.revisions + 1

    def get(url: str) -> None:
        resp = client.get(url)
        assert resp.status_code == 200, (url, resp.status_code)

    # Warm-up (first requests pay for imports and caches).
    for url in ("/manuals/bench-0001", "/manuals/bench-0000/history", "/manuals/bench-0000/compare"):
        get(url)
    print()
    print(summary("manual page (random of 2,000)", timed(lambda: get(f"/manuals/{rng.choice(slugs)}"), args.samples)))
    print(summary("manual page (300-revision manual)", timed(lambda: get("/manuals/bench-0000"), args.samples)))
    print(summary("history page (300 versions)", timed(lambda: get("/manuals/bench-0000/history"), args.samples)))
    print(summary("新旧対照表 (random adjacent pair)", timed(
        lambda: get(f"/manuals/bench-0000/compare?new={rng.randint(2, last)}"), args.samples)))
    print(summary("新旧対照表 (v1 → v301)", timed(lambda: get(f"/manuals/bench-0000/compare?old=1&new={last}"), 50)))
    print(f"\nrepository: {root}/repo")


if __name__ == "__main__":
    main()
