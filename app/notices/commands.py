"""`flask notices send` and `flask notices remind` (timers)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app import uow
from app.commandline import fail
from app.errors import TebikiError
from app.extensions import db
from app.notices.mail import remind, send_queued

group = AppGroup("notices", help="改正通知: mail delivery and reminders.")


@group.command("send")
@click.option("--limit", type=int, default=500)
@uow.command
def notices_send(limit: int) -> None:
    """Send queued mail (run after publishing and by a timer)."""
    try:
        result = send_queued(db.session, limit=limit)
    except TebikiError as err:
        fail(err)
    click.echo(f"送信 {result.sent}件、再試行待ち {result.retried}件、送信不能 {result.failed}件")


@group.command("remind")
@uow.command
def notices_remind() -> None:
    """Mail the 所属長 of units with overdue unconfirmed notices (once a day per unit, on any number of hosts)."""
    n = remind(db.session)
    click.echo(f"督促 {n}件（送信は flask notices send）")


def init_app(app: Flask) -> None:
    app.cli.add_command(group)
