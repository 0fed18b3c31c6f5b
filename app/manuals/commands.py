"""`flask manuals import DIR`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from app import uow
from app.commandline import fail, init_storage
from app.errors import TebikiError
from app.extensions import db
from app.manuals.importer import import_dir
from app.org.models import User

group = AppGroup("manuals", help="Manuals.")


@group.command("import")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--as", "as_login", default=None, help="Login recorded as drafter and approver.")
@uow.command
def manuals_import(directory: str, as_login: str | None) -> None:
    """Import every *.md in DIRECTORY as a published manual (all or nothing)."""
    init_storage()
    as_user = None
    if as_login:
        as_user = db.session.scalar(select(User).where(User.login == as_login))
        if as_user is None:
            fail(TebikiError(f"--as に指定した職員「{as_login}」は登録されていません。"))
    try:
        imported = import_dir(db.session, directory, as_user=as_user)
    except TebikiError as err:
        fail(err)
    for m in imported:
        click.echo(f"  {m.slug}: {m.title}（{m.owner_unit.name}）")
    click.echo(f"{len(imported)}件のマニュアルを第1版として登録しました。")


def init_app(app: Flask) -> None:
    app.cli.add_command(group)
