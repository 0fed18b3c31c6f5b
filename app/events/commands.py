"""`flask events run`: reactions left by a crash or a failing consumer, and decided publications
whose completion was interrupted (a timer, every few minutes, on any number of hosts)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app import events, uow
from app.extensions import db
from app.revisions import publishing

group = AppGroup("events", help="Durable reactions (outbox).")


@group.command("run")
@click.option("--limit", type=int, default=1000)
@uow.command
def events_run(limit: int) -> None:
    """Complete interrupted publications, then run due reactions."""
    for line in publishing.complete_pending(db.session):
        click.echo(line)
    db.session.commit()  # the reactions run in their own sessions: this one must not hold the lock
    result = events.run_due(limit=limit)
    click.echo(f"処理 {result.done}件、失敗（後で再試行） {result.failed}件")


def init_app(app: Flask) -> None:
    app.cli.add_command(group)
