"""`flask search QUERY [--kind K] [--limit N] [--json]` and `flask search reindex`."""

from __future__ import annotations

import json
import time

import click
from flask import Flask
from flask.cli import AppGroup

from app import uow
from app.commandline import init_storage
from app.extensions import db
from app.search.services import reindex, search, tidy_index


class QueryGroup(AppGroup):
    """`flask search 委任状` runs the query; `flask search reindex` the subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["query", *args]
        return super().parse_args(ctx, args)


group = QueryGroup("search", help="Search: `flask search QUERY [--kind K] [--limit N] [--json]` or `flask search reindex`.")


@group.command("reindex")
def search_reindex() -> None:
    """Rebuild the search index from git and the database."""
    init_storage()
    t = time.perf_counter()
    counts = uow.command(reindex)(db.session)
    tidy_index()  # after the commit: the old rows are reclaimed, the planner's statistics made afresh
    click.echo(f"検索インデックスを再構築しました: マニュアルの節 {counts.get('manual_sections', 0)}件、"
               f"判断事例 {counts.get('rulings', 0)}件（{time.perf_counter() - t:.1f}秒）")


@group.command("query", hidden=True)
@click.argument("text")
@click.option("--kind", type=click.Choice(["manual", "ruling"]), default=None)
@click.option("--limit", type=int, default=10)
@click.option("--json", "as_json", is_flag=True)
def search_query(text: str, kind: str | None, limit: int, as_json: bool) -> None:
    results = search(db.session, None, text, kind=kind, limit=limit, record=False)
    rows = [r.as_json() for r in results.results]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for row in rows:
        click.echo(f"{row['score']:8.3f}  [{row['kind']}] {row['id']}#{row['anchor']}  {row['title']}")
    if not rows:
        click.echo("該当なし")
    if results.rewritten:
        click.echo(f"（読みから「{results.rewritten}」として検索）")
    if results.suggestion:
        click.echo(f"もしかして: {results.suggestion}")


def init_app(app: Flask) -> None:
    app.cli.add_command(group)
