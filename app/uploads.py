"""Uploaded files waiting for their preview / apply (人事異動, 職員名簿): stored under a random token
in instance/uploads (the client's file name never becomes a path), removed when applied or
refused, and swept after a day when nobody came back for them (`flask uploads sweep`, and at
every new upload)."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from flask import current_app
from werkzeug.datastructures import FileStorage

from app.errors import NotFound, ValidationError

TABLE_SUFFIXES = (".csv", ".xlsx")
MAX_AGE_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[a-f0-9]{24}$")


def upload_dir() -> Path:
    path = Path(current_app.config["INSTANCE_DIR"]) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save(upload: FileStorage | None, kind: str, suffixes: tuple[str, ...] = TABLE_SUFFIXES) -> str:
    """Store an upload for `kind` ("staff", "roster" …); returns its token."""
    suffix = Path(upload.filename or "").suffix.lower() if upload else ""
    if not upload or suffix not in suffixes:
        raise ValidationError(f"取り込めるのは {' と '.join(suffixes)} のファイルです。")
    sweep()
    token = secrets.token_hex(12)
    upload.save(upload_dir() / f"{kind}-{token}{suffix}")
    return token


def path_of(token: str, kind: str, suffixes: tuple[str, ...] = TABLE_SUFFIXES) -> Path:
    """The stored file, or NotFound (also for a malformed token: never a path from the URL)."""
    if _TOKEN.match(token or ""):
        for suffix in suffixes:
            path = upload_dir() / f"{kind}-{token}{suffix}"
            if path.is_file():
                return path
    raise NotFound("アップロードしたファイルが見つかりません（取込済みか、1日を過ぎて削除されました）。もう一度選んでください。")


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def sweep(max_age: float = MAX_AGE_SECONDS) -> int:
    """Remove uploads older than `max_age` seconds; returns how many."""
    cutoff = time.time() - max_age
    removed = 0
    for path in upload_dir().iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # another worker swept it first
            continue
    return removed
