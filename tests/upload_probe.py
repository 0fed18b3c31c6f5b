"""A worker in its own process: uploads FILE to the 人事異動 import through HTTP and reports the time
and the rise of its peak memory (RSS) as JSON. Used by tests/test_uploads.py (peak RSS can only be
measured cleanly in a fresh process)."""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def upload(client, path: Path):  # type: ignore[no-untyped-def]
    from tests.conftest import csrf_token

    with open(path, "rb") as f:
        resp = client.post("/admin/staff-import", data={"file": (f, path.name), "csrf_token": csrf_token(client, "/dashboard")},
                           content_type="multipart/form-data")
    assert resp.status_code == 302, resp.status_code
    return client.get(resp.headers["Location"])


def main(bomb: str, warmup: str) -> None:
    root = Path(tempfile.mkdtemp(prefix="tebiki-probe-"))
    from flask_migrate import upgrade

    from app import create_app
    from app.commandline import init_storage
    from app.extensions import db
    from app.org.services import seed_org
    from app.seed import seed_demo_users
    from tests.conftest import login, make_config

    app = create_app(make_config(f"sqlite:///{root / 'probe.db'}", root))
    with app.app_context():
        upgrade()
        init_storage()
        seed_org(db.session)
        seed_demo_users(db.session)
        db.session.commit()
    client = app.test_client()
    login(client, "admin")
    upload(client, Path(warmup))  # a worker that has parsed a spreadsheet before (openpyxl loaded)
    before = peak_rss_mb()
    t = time.perf_counter()
    resp = upload(client, Path(bomb))
    elapsed = time.perf_counter() - t
    page = resp.get_data(as_text=True)
    print(json.dumps({"status": resp.status_code, "seconds": round(elapsed, 3),
                      "rss_rise_mb": round(peak_rss_mb() - before, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
                      "page_kb": len(page) // 1024, "message": page}, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
