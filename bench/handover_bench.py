"""Issue 6 benchmark: a 人事異動 file of 1,500 rows over a city of 10,000 users and 2,000 manuals.

Measures validation + preview, apply (handovers filled in, accounts moved on the 発令日), and the server
time of the admin's handover dashboard for the round.

    .venv/bin/python bench/handover_bench.py
"""

from __future__ import annotations

import csv
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import make_app, summary, timed  # noqa: E402


def main() -> None:
    app, root = make_app("handover")
    from sqlalchemy import insert, select, update

    from app.extensions import db
    from app.handover import importer
    from app.manuals.importer import import_documents
    from app.manuals.models import Manual
    from app.org.models import HQ, Unit, User
    from app.wareki import today_jst

    rng = random.Random(11)
    with app.app_context():
        units = list(db.session.scalars(select(Unit)))
        hq_units = [u for u in units if u.kind == HQ]
        pw = db.session.scalar(select(User.password_hash))
        have = db.session.query(User).count()
        rows = []
        for n in range(have, 10_000):
            unit = rng.choice(units)
            rows.append({"login": f"u{n:05d}", "name": f"職員 {n:05d}", "employee_no": f"{200000 + n}", "unit_id": unit.id,
                         "position": rng.choice(["担当"] * 6 + ["係長"] * 3 + ["課長"]), "is_admin": False, "active": True,
                         "password_hash": pw, "session_version": 1,
                         "email": f"u{n:05d}@city.example.lg.jp"})
        db.session.execute(insert(User), rows)
        db.session.commit()
        batch = []
        for i in range(2000):
            owner = hq_units[i % len(hq_units)]
            batch.append((f"m-{i:04d}.md", f"---\ntitle: 手引 第{i:04d}号\nowner: {owner.name}\ntargets: [保険年金課]\n"
                          "effective: 2024-04-01\nreview_months: 12\n---\n# 手引\n\n## 1 目的\n本文\n"))
            if len(batch) == 500:
                import_documents(db.session, batch)
                batch = []
        # Managers: staff of the owner unit.
        staff_by_unit: dict[int, list[int]] = {}
        for uid, unit_id in db.session.execute(select(User.id, User.unit_id)):
            staff_by_unit.setdefault(unit_id, []).append(uid)
        for mid, owner_id in db.session.execute(select(Manual.id, Manual.owner_unit_id)):
            db.session.execute(update(Manual).where(Manual.id == mid).values(manager_id=rng.choice(staff_by_unit[owner_id])))
        db.session.commit()
        print(f"{db.session.query(User).count():,} users, {db.session.query(Manual).count():,} manuals")

        movers = rng.sample(list(db.session.scalars(select(User).where(User.employee_no.is_not(None)))), 1500)
        path = root / "idou.csv"
        day = today_jst().isoformat()
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(importer.COLUMNS)
            for u in movers:
                to = rng.choice([x for x in units if x.id != u.unit_id])
                w.writerow([u.employee_no, u.name, u.unit.name, to.name, u.position, day])
        t = time.perf_counter()
        preview = importer.validate(db.session, importer.read_file(path))
        validate_s = time.perf_counter() - t
        print(f"validate + preview of 1,500 rows: {validate_s:.2f} s "
              f"({len(preview.manuals_losing_manager)} manuals lose their manager)")
        t = time.perf_counter()
        rnd = importer.apply(db.session, None, importer.read_file(path), file_name="idou.csv")
        db.session.commit()
        apply_s = time.perf_counter() - t
        print(f"apply (1,500 handovers filled in, accounts moved on the 発令日 = today): {apply_s:.2f} s")
        round_id = rnd.id

    client = app.test_client()
    client.post("/login", data={"login": "admin", "password": "tebiki-demo"})
    url = f"/admin/handovers?round={round_id}"
    assert client.get(url).status_code == 200
    print(summary("admin handover dashboard", timed(lambda: client.get(url), 200)))


if __name__ == "__main__":
    main()
