"""`flask backup DIR` and `flask restore DIR`.

A backup is consistent and portable: a git bundle of every ref, the database as JSON lines per table
(readable on SQLite or PostgreSQL alike, independent of either's dump format), and a manifest with
row counts and SHA-256 checksums. The search index is not backed up: it is rebuilt after restore.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from datetime import date, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import Date, DateTime, LargeBinary, func, select, text
from sqlalchemy.orm import Session

from app.errors import ValidationError
from app.extensions import db
from app.gitstore import init_repo
from app.wareki import now_utc

FORMAT = "tebiki-backup/1"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _encode(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _migration_head(session: Session) -> str:
    try:
        return session.execute(text("SELECT version_num FROM alembic_version")).scalar() or ""
    except Exception:
        session.rollback()
        return ""


def backup(session: Session, directory: str | Path) -> dict[str, object]:
    out = Path(directory)
    if out.exists() and any(out.iterdir()):
        raise ValidationError(f"バックアップ先「{out}」は空のディレクトリにしてください（上書きしません）。")
    out.mkdir(parents=True, exist_ok=True)
    repo = current_app.config["MANUALS_REPO"]
    # One read transaction for every table: the rows are a consistent snapshot.
    counts: dict[str, int] = {}
    tables_dir = out / "db"
    tables_dir.mkdir()
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        # (SQLite: the transaction the engine begins is one snapshot — app.uow issues the BEGIN.)
        for table in db.metadata.sorted_tables:
            n = 0
            with open(tables_dir / f"{table.name}.jsonl", "w", encoding="utf-8") as f:
                for row in conn.execute(select(table).order_by(*table.primary_key.columns)).mappings():
                    f.write(json.dumps({k: _encode(v) for k, v in row.items()}, ensure_ascii=False) + "\n")
                    n += 1
            counts[table.name] = n
        # The bundle is taken inside the same snapshot window: refs the DB knows are all in it.
        bundle = out / "manuals.bundle"
        refs = subprocess.run(["git", "--git-dir", repo, "for-each-ref", "--format=%(refname)"], check=True,
                              capture_output=True, text=True).stdout.split()
        if refs:
            subprocess.run(["git", "--git-dir", repo, "bundle", "create", str(bundle), "--all"], check=True,
                           capture_output=True)
        conn.rollback()
    files = {p.relative_to(out).as_posix(): _sha256(p) for p in sorted(out.rglob("*")) if p.is_file()}
    manifest = {"format": FORMAT, "created_at": now_utc().isoformat(), "migration": _migration_head(session),
                "counts": counts, "refs": len(refs), "files": files}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def _decode(column, value: object) -> object:  # type: ignore[no-untyped-def]
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, DateTime) or getattr(kind, "impl", None) is not None and isinstance(kind.impl, DateTime):
        return datetime.fromisoformat(str(value))
    if isinstance(kind, Date):
        return date.fromisoformat(str(value))
    if isinstance(kind, LargeBinary):
        return base64.b64decode(str(value))
    return value


def restore(session: Session, directory: str | Path) -> dict[str, int]:
    src = Path(directory)
    manifest_path = src / "manifest.json"
    if not manifest_path.is_file():
        raise ValidationError(f"「{src}」に manifest.json がありません。バックアップのディレクトリを指定してください。")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ValidationError("バックアップの形式が違います。")
    bad = [name for name, digest in manifest["files"].items()
           if not (src / name).is_file() or _sha256(src / name) != digest]
    if bad:
        raise ValidationError("バックアップのファイルが壊れているか足りません。復元しませんでした。", details=bad)
    head = _migration_head(session)
    if head != manifest.get("migration"):
        raise ValidationError(f"データベースのスキーマ（{head or '未作成'}）がバックアップ（{manifest.get('migration')}）と"
                              "違います。先に flask db upgrade を実行してください。")
    from app.org.models import User

    if session.scalar(select(func.count(User.id))):
        raise ValidationError("復元先のデータベースが空ではありません。空のインスタンスに復元してください。")
    repo = Path(current_app.config["MANUALS_REPO"])
    if (repo / "HEAD").exists() and subprocess.run(["git", "--git-dir", str(repo), "for-each-ref"], capture_output=True,
                                                   text=True, check=True).stdout.strip():
        raise ValidationError("復元先のマニュアルリポジトリが空ではありません。")
    counts: dict[str, int] = {}
    for table in db.metadata.sorted_tables:
        rows = []
        path = src / "db" / f"{table.name}.jsonl"
        if path.exists():
            with open(path, encoding="utf-8") as f:
                for line in f:
                    data = json.loads(line)
                    rows.append({c.name: _decode(c, data.get(c.name)) for c in table.columns if c.name in data})
        for start in range(0, len(rows), 1000):
            session.execute(table.insert(), rows[start:start + 1000])
        counts[table.name] = len(rows)
        if counts[table.name] != manifest["counts"].get(table.name, 0):
            session.rollback()
            raise ValidationError(f"表「{table.name}」の件数がマニフェストと一致しません。復元を中止しました。")
    if db.engine.dialect.name == "postgresql":
        # Identity columns continue after the restored ids.
        for table in db.metadata.sorted_tables:
            pk = list(table.primary_key.columns)
            if len(pk) == 1 and pk[0].autoincrement and counts.get(table.name):
                session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk[0].name}'), "
                                     f"(SELECT max({pk[0].name}) FROM {table.name}))"))
    init_repo(repo)
    bundle = src / "manuals.bundle"
    if bundle.exists():
        subprocess.run(["git", "--git-dir", str(repo), "fetch", "--quiet", str(bundle), "refs/*:refs/*"], check=True,
                       capture_output=True)
    session.commit()
    return counts
