"""Helpers for `flask` commands: a refusal printed in Japanese (exit 1), the storage set-up."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from flask import current_app

from app.errors import TebikiError
from app.extensions import db
from app.gitstore import init_repo


def fail(err: TebikiError) -> NoReturn:
    db.session.rollback()
    click.echo(f"エラー: {err.message}", err=True)
    for detail in err.details:
        click.echo(f"  - {detail}", err=True)
    sys.exit(1)


def init_storage() -> None:
    """The manuals repository and the search index directory (idempotent)."""
    init_repo(current_app.config["MANUALS_REPO"])
    Path(current_app.config["SEARCH_INDEX_DIR"]).mkdir(parents=True, exist_ok=True)
