"""Issue 5 / 17 benchmark: a revision reaching 7 offices × 10 sections × 40 users (2,800 recipients).

Measures creating all notices, per-person receipts and mail outbox rows for one publication (the
fan-out, committed), and the server time of the 本庁 confirmation matrix page for a 重要 revision with
two 理解度確認 questions, its receipts read / confirmed / passed and first and second attempts.

    .venv/bin/python bench/notices_bench.py
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import make_app, summary, timed  # noqa: E402


def main() -> None:
    app, _root = make_app("notices", MAIL_SERVER="127.0.0.1", MAIL_PORT=2525)
    from sqlalchemy import insert, select

    from app.extensions import db
    from app.manuals.importer import import_documents
    from app.notices import delivery as notice_delivery
    from app.notices.models import Answer, MailOutbox, Notice, Receipt
    from app.org import structure
    from app.org.models import WARD, Unit, User
    from app.wareki import today_jst

    rng = random.Random(3)
    with app.app_context():
        # Every office gets all 10 section kinds (the seeded 総合支所 lack a few).
        existing = {u.name for u in db.session.scalars(select(Unit))}
        for office in structure.WARD_OFFICES:
            for section in structure.SECTION_KINDS:
                if f"{office} {section}" not in existing:
                    db.session.add(Unit(kind=WARD, group_name=office, section=section, name=f"{office} {section}",
                                        sort_order=900))
        db.session.commit()
        units = list(db.session.scalars(select(Unit).where(Unit.kind == WARD)))
        pw = db.session.scalar(select(User.password_hash))
        rows, n = [], 0
        for unit in units:
            have = db.session.query(User).filter_by(unit_id=unit.id).count()
            for _ in range(40 - have):
                n += 1
                rows.append({"login": f"bench{n:05d}", "name": f"職員{n:05d}", "unit_id": unit.id, "position": "担当",
                             "is_admin": False, "active": True, "password_hash": pw, "session_version": 1,
                             "email": f"bench{n:05d}@city.example.lg.jp"})
        db.session.execute(insert(User), rows)
        db.session.commit()
        targets = ", ".join(structure.SECTION_KINDS)
        (manual,) = import_documents(db.session, [("all-sections.md", (
            f"---\ntitle: 全課共通 窓口事務の手引\nowner: 健康福祉局 保険年金課\ntargets: [{targets}]\n"
            "effective: 2024-04-01\nreview_months: 12\n---\n# 全課共通 窓口事務の手引\n\n## 1 目的\n本文\n"))])
        recipients = db.session.query(User).join(Unit).filter(Unit.kind == WARD, User.email.is_not(None)).count()
        print(f"{len(units)} ward sections, {recipients:,} ward recipients with mail")

        fanout_ms = []
        for i in range(5):
            pub = notice_delivery.Publication(
                kind="改正", title=manual.title, reason=f"第{i + 2}版の改正", summary="", owner_unit_id=manual.owner_unit_id,
                due_date=today_jst() + timedelta(days=14), manual=manual, revision_id=None, number=i + 2)
            t = time.perf_counter()
            created = notice_delivery.fan_out(db.session, pub, notice_delivery.ward_units(db.session, manual.target_names))
            db.session.commit()
            fanout_ms.append((time.perf_counter() - t) * 1000)
        outbox = db.session.query(MailOutbox).count()
        print(f"fan-out: {len(created)} notices + {outbox // 5:,} outbox rows per publication; "
              f"median {statistics.median(fanout_ms):.0f} ms, max {max(fanout_ms):.0f} ms (5 runs)")

        # A real revision notice for the matrix: link notices to a revision id like publishing does.
        from app.revisions.models import Question, Revision

        rev = Revision(manual_id=manual.id, kind="revise", state="published", number=9, reason="x", head_commit="",
                       drafter_id=db.session.scalar(select(User.id)), significance="major")
        db.session.add(rev)
        db.session.flush()
        qs = [Question(revision_id=rev.id, order=i, prompt=f"設問{i + 1}", choices="甲\n乙\n丙", correct=1,
                       explanation="1 目的を参照", anchor="1-目的", heading="1 目的") for i in range(2)]
        db.session.add_all(qs)
        db.session.commit()
        pub = notice_delivery.Publication(kind="改正", title=manual.title, reason="行列用", summary="",
                                  owner_unit_id=manual.owner_unit_id, due_date=today_jst() + timedelta(days=14),
                                  manual=manual, revision_id=rev.id, number=9, significance="major")
        created = notice_delivery.fan_out(db.session, pub, notice_delivery.ward_units(db.session, manual.target_names))
        db.session.commit()
        # Receipts exist for all 2,800 (written by the fan-out); about half read, a third confirmed,
        # a quarter passed, each with a first attempt (and a retry when it missed one).
        from app.wareki import now_utc

        now = now_utc()
        receipts = list(db.session.scalars(select(Receipt).where(Receipt.notice_id.in_([n.id for n in created]))))
        answers = []
        for r in receipts:
            x = rng.random()
            if x < 0.5:
                r.read_at = now
            if x < 0.33:
                r.acknowledged_at = now
                missed = rng.random() < 0.3
                for q in qs:
                    answers.append({"notice_id": r.notice_id, "user_id": r.user_id, "question_id": q.id, "attempt": 1,
                                    "choice": 0 if missed and q is qs[1] else 1, "correct": not (missed and q is qs[1]),
                                    "at": now})
                r.attempts = 1
                if x < 0.25:
                    r.passed_at = now
                    if missed:
                        r.attempts = 2
                        answers += [{"notice_id": r.notice_id, "user_id": r.user_id, "question_id": q.id, "attempt": 2,
                                     "choice": 1, "correct": True, "at": now} for q in qs]
        for notice in created:
            if not notice.owner_copy and rng.random() < 0.3:
                notice.status = "confirmed"
                notice.confirmed_by_name = "課長"
        db.session.execute(insert(Answer), answers)
        db.session.commit()
        print(f"{len(receipts):,} receipts, {len(answers):,} answers")
        rev_id = rev.id
        assert db.session.query(Notice).filter_by(revision_id=rev_id).count() == 71

    client = app.test_client()
    client.post("/login", data={"login": "hq.tanto", "password": "tebiki-demo"})
    url = f"/notices/matrix?revision={rev_id}"
    assert client.get(url).status_code == 200
    print(summary("matrix page (70 cells, 2,800 staff, 理解度確認)", timed(lambda: client.get(url), 200)))
    print(summary("matrix CSV export", timed(lambda: client.get(url + "&format=csv"), 50)))
    print(summary("matrix .xlsx export per person (2,800 rows)", timed(lambda: client.get(url + "&format=xlsx&people=1"), 10)))
    print(summary("usage page with the 改善 candidates", timed(lambda: client.get("/notices/usage"), 50)))


if __name__ == "__main__":
    main()
