"""`flask rulings import FILE`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app import uow
from app.commandline import fail, init_storage
from app.errors import TebikiError
from app.extensions import db
from app.rulings.importer import import_file

group = AppGroup("rulings", help="判断事例.")


@group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--owner", default="総務局 コンプライアンス推進担当", help="Owner unit of rows without 関連マニュアル.")
@uow.command
def rulings_import(file: str, owner: str) -> None:
    """Import published rulings from .csv (UTF-8, BOM or not) or .xlsx (all or nothing)."""
    init_storage()
    try:
        imported = import_file(db.session, file, owner_name=owner)
    except TebikiError as err:
        fail(err)
    click.echo(f"{len(imported)}件の判断事例を登録しました（{imported[0].number} ほか）。")


def init_app(app: Flask) -> None:
    app.cli.add_command(group)
