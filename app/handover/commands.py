"""`flask staff import FILE [--dry-run]` and `flask staff move-due` (the 発令日 job)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from app import uow
from app.commandline import fail
from app.errors import TebikiError
from app.extensions import db
from app.handover import importer
from app.wareki import today_jst

group = AppGroup("staff", help="人事異動.")


@group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Validate and show the preview only.")
@uow.command
def staff_import(file: str, dry_run: bool) -> None:
    """Import a 人事異動 file: opens the handovers; accounts move on their 発令日 (all or nothing)."""
    try:
        rows = importer.read_file(file)
        preview = importer.validate(db.session, rows)
        for key, value in importer.summary(preview).items():
            click.echo(f"  {key}: {value}")
        for manual, user in preview.manuals_losing_manager[:50]:
            click.echo(f"  管理担当者が不在になる: {manual.title}（{user.name}）")
        if dry_run:
            click.echo("確認のみ（--dry-run）: 何も反映していません。")
            return
        rnd = importer.apply(db.session, None, rows, file_name=Path(file).name)
    except TebikiError as err:
        fail(err)
    click.echo(f"反映しました: {rnd.name}（{rnd.rows}人、事務引継書を作成）")


@group.command("move-due")
@uow.command
def staff_move_due() -> None:
    """Move the accounts whose 発令日 has come (run daily)."""
    n = importer.move_due(db.session, today_jst())
    click.echo(f"{n}人の所属を発令日どおりに変更しました。")


def init_app(app: Flask) -> None:
    app.cli.add_command(group)
