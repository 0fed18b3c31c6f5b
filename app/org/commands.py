"""`flask users create …`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app import uow
from app.commandline import fail
from app.errors import TebikiError
from app.extensions import db
from app.org import services as org

group = AppGroup("users", help="User accounts.")


@group.command("create")
@click.option("--login", required=True)
@click.option("--name", required=True)
@click.option("--unit", "unit_name", required=True, help='e.g. "健康福祉局 保険年金課" or "青葉区 保険年金課"')
@click.option("--position", required=True, type=click.Choice(["担当", "係長", "課長"]))
@click.option("--password", required=True)
@click.option("--admin", is_flag=True)
@click.option("--email", default=None)
@click.option("--employee-no", default=None)
@uow.command
def users_create(login: str, name: str, unit_name: str, position: str, password: str, admin: bool,
                 email: str | None, employee_no: str | None) -> None:
    """Create a user."""
    try:
        unit = org.find_unit(db.session, unit_name)
        user = org.create_user(db.session, None, login=login, name=name, unit=unit, position=position,
                               password=password, is_admin=admin, email=email, employee_no=employee_no)
    except TebikiError as err:
        fail(err)
    click.echo(f"職員を登録しました: {user.login}（{user.name}、{unit.name} {position}{'、管理者' if admin else ''}）")


def init_app(app: Flask) -> None:
    app.cli.add_command(group)
