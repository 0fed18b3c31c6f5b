"""`flask manuals import DIR`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from app import uow
from app.commandline import fail, init_storage
from app.documents.bulk import import_directory
from app.errors import TebikiError
from app.extensions import db
from app.org.models import User

group = AppGroup("manuals", help="Manuals.")


@group.command("import")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--as", "as_login", default=None, help="Login recorded as drafter and approver.")
@uow.command
def manuals_import(directory: str, as_login: str | None) -> None:
    """Import every *.md, and every *.docx with its <name>.yml, in DIRECTORY as published manuals (all or nothing)."""
    init_storage()
    as_user = None
    if as_login:
        as_user = db.session.scalar(select(User).where(User.login == as_login))
        if as_user is None:
            fail(TebikiError(f"--as に指定した職員「{as_login}」は登録されていません。"))
    try:
        result = import_directory(db.session, directory, as_user=as_user)
    except TebikiError as err:
        fail(err)
    for m in result.manuals:
        click.echo(f"  {m.slug}: {m.title}（{m.owner_unit.name}）")
    click.echo(f"{len(result.manuals)}件のマニュアルを第1版として登録しました。")
    if result.notes:
        click.echo("Word から取り込めなかったもの・確認が必要なこと:")
        for note in result.notes:
            click.echo(f"  {note}")
    for slug, count in result.images.items():
        click.echo(f"  {slug}: 画像{count}点を添付ファイル（manuals/{slug}/files/）として第1版に登録しました。")


def init_app(app: Flask) -> None:
    app.cli.add_command(group)
