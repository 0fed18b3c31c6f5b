"""Shared set-up for benchmarks: a throw-away instance (SQLite file or BENCH_DATABASE_URL) with
the organisation and demo users, and realistic generated manual text."""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from flask import Flask

from app import create_app
from app.extensions import db

SUBJECTS = ["国民健康保険", "後期高齢者医療", "児童手当", "介護保険", "住民異動", "戸籍届出", "個人住民税", "市税の納付",
            "生活保護", "障害福祉サービス", "保育施設の利用", "母子健康手帳", "印鑑登録", "証明書交付", "特別障害者手当"]
ACTIONS = ["受付", "審査", "決定", "通知", "交付", "変更届", "取消し", "再交付", "還付", "減免", "照会", "引継ぎ"]
DOCUMENTS = ["申請書", "届出書", "本人確認書類", "委任状", "個人番号カード", "在留カード", "世帯全員の住民票", "所得証明書",
             "診断書", "口座の通帳", "戸籍謄本", "資格確認書"]
PHRASES = [
    "窓口では、{doc}の記載内容と{doc2}を照合し、相違がある場合は申請者に確認する。",
    "{subject}の{action}は、原則として{n}日以内に処理し、処理が遅れる場合はその理由を記録する。",
    "代理人による{action}の場合は、{doc}のほか委任状の提出を求め、委任事項と日付を確認する。",
    "郵送による{action}は、到達日を受付日とし、{doc}の写しを添付させる。",
    "{subject}システムへの入力後、係員以外の職員が入力内容を確認し、確認欄に押印する。",
    "疑義がある場合は、本庁の所管課に疑義照会を行い、回答を得てから{action}する。",
    "{doc}に不備がある場合は、補正を求め、補正の内容と日時を経過記録に残す。",
    "{n}か月を経過しても{action}がない場合は、文書で督促し、その写しを保管する。",
]


def sentence(rng: random.Random) -> str:
    return rng.choice(PHRASES).format(doc=rng.choice(DOCUMENTS), doc2=rng.choice(DOCUMENTS), subject=rng.choice(SUBJECTS),
                                      action=rng.choice(ACTIONS), n=rng.choice([5, 7, 10, 14, 30, 60]))


def manual_body(rng: random.Random, title: str, target_chars: int = 10_000) -> str:
    parts = [f"# {title}\n"]
    chapter = 0
    while sum(len(p) for p in parts) < target_chars:
        chapter += 1
        parts.append(f"\n## 第{chapter}章 {rng.choice(SUBJECTS)}の{rng.choice(ACTIONS)}\n")
        for sec in range(1, rng.randint(2, 4)):
            parts.append(f"\n### {sec} {rng.choice(ACTIONS)}の手順\n\n")
            parts.append("".join(sentence(rng) for _ in range(rng.randint(2, 5))) + "\n\n")
            parts += [f"{i}. {sentence(rng)}\n" for i in range(1, rng.randint(3, 6))]
        parts.append("\n| 書類 | 確認事項 | 備考 |\n|---|---|---|\n")
        parts += [f"| {rng.choice(DOCUMENTS)} | {rng.choice(ACTIONS)}の確認 | {rng.choice(['原本', '写し可', '省略可'])} |\n"
                  for _ in range(rng.randint(2, 5))]
    return "".join(parts)


def make_app(name: str, **extra: object) -> tuple[Flask, Path]:
    root = Path(tempfile.mkdtemp(prefix=f"tebiki-bench-{name}-"))
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{root / 'bench.db'}"
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_DIR": str(root / "instance"),
        "MANUALS_REPO": str(root / "repo"), "SEARCH_INDEX_DIR": str(root / "instance" / "index"),
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "WTF_CSRF_ENABLED": False, **extra,
    })
    with app.app_context():
        from flask_migrate import upgrade
        from sqlalchemy import text

        if url.startswith("postgresql"):
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        upgrade()
        from app.commandline import init_storage
        from app.seed import seed_demo_users

        init_storage()
        from app.org.services import seed_org

        seed_org(db.session)
        seed_demo_users(db.session)
        db.session.commit()
    return app, root


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def summary(label: str, samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(round(0.95 * len(samples))) - 1)]
    return f"{label:<34} n={len(samples):<4} median {statistics.median(samples):7.1f} ms   p95 {p95:7.1f} ms"
