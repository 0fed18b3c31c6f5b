"""`flask directory sync [--dry-run]` (a daily timer) and `flask roster import FILE [--dry-run]`."""

from __future__ import annotations

import time
from contextlib import nullcontext
from pathlib import Path

import click
from flask import Flask

from app import jobs, tables, uow
from app.commandline import fail
from app.directory import roster
from app.directory.services import sync
from app.errors import TebikiError
from app.extensions import db
from app.org import passwords
from app.wareki import wareki


def init_app(app: Flask) -> None:
    @app.cli.group("directory")
    def directory_group() -> None:
        """The city's directory (LDAP / Active Directory)."""

    @directory_group.command("sync")
    @click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
    @click.option("--allow-mass-deactivation", is_flag=True,
                  help="Deactivate even when more than 10% of the directory accounts are missing.")
    @uow.command
    def sync_cmd(dry_run: bool, allow_mass_deactivation: bool) -> None:
        """Create, update, move and deactivate accounts to match the directory."""
        started = time.perf_counter()
        try:
            with nullcontext() if dry_run else jobs.single_run(db.session, "directory.sync"):
                report = sync(db.session, None, dry_run=dry_run, allow_mass_deactivation=allow_mass_deactivation)
        except TebikiError as err:
            fail(err)
        for key, value in report.counts().items():
            click.echo(f"  {key}: {value:,}")
        for department, n in report.unmapped.most_common(100):
            click.echo(f"  対応付けできない所属: {department}（{n}人）— 管理 →「ディレクトリ連携」で対応付けてください")
        for problem in report.problems[:100]:
            click.echo(f"  問題: {problem}")
        if dry_run:
            db.session.rollback()
            click.echo(f"確認のみ（--dry-run）: 何も変更していません（{time.perf_counter() - started:.1f}秒）。")
            return
        db.session.commit()
        click.echo(f"ディレクトリと同期しました（{time.perf_counter() - started:.1f}秒）。")

    @app.cli.group("roster")
    def roster_group() -> None:
        """職員名簿 (staff roster) import."""

    @roster_group.command("import")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--dry-run", is_flag=True, help="Validate and show the preview only.")
    @click.option("--links", "links", type=click.Path(dir_okay=False), default=None,
                  help="Write the password-setting links of new accounts to this .csv / .xlsx.")
    @uow.command
    def roster_import(file: str, dry_run: bool, links: str | None) -> None:
        """Create and update accounts from a staff roster (all or nothing)."""
        try:
            rows = roster.read_file(file)
            preview = roster.validate(db.session, rows)
            for key, value in preview.counts().items():
                click.echo(f"  {key}: {value:,}人")
            if dry_run:
                click.echo("確認のみ（--dry-run）: 何も反映していません。")
                return
            result = roster.apply(db.session, None, rows, file_name=Path(file).name)
            issued = passwords.issue_for_new_accounts(db.session, None) if links else []
        except TebikiError as err:
            fail(err)
        db.session.commit()
        click.echo(f"職員名簿を反映しました（新規 {len(result.created):,}人）。")
        if links:
            out = [["ログインID", "氏名", "所属", "パスワード設定用リンク", "有効期限"]]
            out += [[u.login, u.name, u.unit.name, url, wareki(exp)] for u, url, exp in issued]
            data = tables.to_xlsx(out) if links.endswith(".xlsx") else tables.to_csv(out)
            Path(links).write_bytes(data)
            click.echo(f"パスワード設定用リンク {len(issued):,}件を {links} に書き出しました（本人に渡してください）。")
