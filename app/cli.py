"""`flask` commands (names are relied on by scripts and the README)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app

from app.errors import TebikiError
from app.extensions import db


def _fail(err: TebikiError) -> None:
    db.session.rollback()
    click.echo(f"エラー: {err.message}", err=True)
    for detail in err.details:
        click.echo(f"  - {detail}", err=True)
    sys.exit(1)


class _QueryGroup(click.Group):
    """`flask search 委任状` runs the query; `flask search reindex` the subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["query", *args]
        return super().parse_args(ctx, args)


def init_storage() -> None:
    """The manuals repository and the search index directory (idempotent)."""
    from app.gitstore import init_repo

    init_repo(current_app.config["MANUALS_REPO"])
    Path(current_app.config["SEARCH_INDEX_DIR"]).mkdir(parents=True, exist_ok=True)


def register(app: Flask) -> None:
    @app.cli.command("init")
    def init_cmd() -> None:
        """Create the manuals repository and the search index directory."""
        init_storage()
        click.echo(f"マニュアルリポジトリ: {current_app.config['MANUALS_REPO']}")
        click.echo(f"検索インデックス: {current_app.config['SEARCH_INDEX_DIR']}")

    @app.cli.group("seed")
    def seed() -> None:
        """Demo and organisation data."""

    @seed.command("org")
    def seed_org() -> None:
        """Create the city's units (idempotent)."""
        from app.org.services import seed_org as do_seed

        init_storage()
        added = do_seed(db.session)
        db.session.commit()
        click.echo(f"所属を{added}件追加しました。" if added else "所属は登録済みです。")

    @seed.command("demo")
    @click.option("--quiet", is_flag=True, help="Do not print the demo logins.")
    @click.option("--if-empty", is_flag=True, help="Only when the database has no users yet.")
    def seed_demo(quiet: bool, if_empty: bool) -> None:
        """Organisation, demo users and demo content (idempotent)."""
        from sqlalchemy import func, select

        from app import seed as demo
        from app.org.models import User

        init_storage()
        if if_empty and db.session.scalar(select(func.count(User.id))):
            click.echo("データベースには既にデータがあるため、デモデータの投入は省略しました。")
        else:
            try:
                counts = demo.seed_demo(db.session)
            except TebikiError as err:
                _fail(err)
            db.session.commit()
            click.echo("デモデータ: " + "、".join(f"{k} {v}件追加" for k, v in counts.items()))
        if not quiet:
            click.echo("")
            click.echo(f"デモ用ログイン（パスワードはすべて {demo.DEMO_PASSWORD}）:")
            for acc in demo.KEY_USERS:
                click.echo(f"  {acc.login:<13} {acc.name}（{acc.unit} {acc.position}）— {acc.role}")
            click.echo("  ほかの所属の職員: <区>.<課>.<tanto|kakaricho|kacho>（例 izumi.hoken.kacho）")

    @app.cli.group("manuals")
    def manuals_group() -> None:
        """Manuals."""

    @manuals_group.command("import")
    @click.argument("directory", type=click.Path(file_okay=False))
    @click.option("--as", "as_login", default=None, help="Login recorded as drafter and approver.")
    def manuals_import(directory: str, as_login: str | None) -> None:
        """Import every *.md, and every *.docx with its <name>.yml, in DIRECTORY as published manuals (all or nothing)."""
        from sqlalchemy import select

        from app.manuals.importer import import_directory
        from app.org.models import User

        init_storage()
        as_user = None
        if as_login:
            as_user = db.session.scalar(select(User).where(User.login == as_login))
            if as_user is None:
                _fail(TebikiError(f"--as に指定した職員「{as_login}」は登録されていません。"))
        try:
            result = import_directory(db.session, directory, as_user=as_user)
        except TebikiError as err:
            _fail(err)
        imported = result.manuals
        for m in imported:
            click.echo(f"  {m.slug}: {m.title}（{m.owner_unit.name}）")
        click.echo(f"{len(imported)}件のマニュアルを第1版として登録しました。")
        if result.notes:
            click.echo("Word から取り込めなかったもの・確認が必要なこと:")
            for note in result.notes:
                click.echo(f"  {note}")
        for slug, (folder, count) in result.images.items():
            click.echo(f"  {slug}: 画像{count}点を {folder} に書き出しました"
                       "（本文からは files/… で参照。添付ファイルを版管理に登録する機能で取り込みます）。")

    @app.cli.group("search", cls=_QueryGroup)
    def search_group() -> None:
        """Search: `flask search QUERY [--kind K] [--limit N] [--json]` or `flask search reindex`."""

    @search_group.command("reindex")
    def search_reindex() -> None:
        """Rebuild the search index from git and the database."""
        import time

        from app.search.services import reindex

        init_storage()
        t = time.perf_counter()
        counts = reindex(db.session)
        click.echo(f"検索インデックスを再構築しました: マニュアルの節 {counts.get('manual_sections', 0)}件、"
                   f"判断事例 {counts.get('rulings', 0)}件（{time.perf_counter() - t:.1f}秒）")

    @search_group.command("query", hidden=True)
    @click.argument("text")
    @click.option("--kind", type=click.Choice(["manual", "ruling"]), default=None)
    @click.option("--limit", type=int, default=10)
    @click.option("--json", "as_json", is_flag=True)
    def search_query(text: str, kind: str | None, limit: int, as_json: bool) -> None:
        import json

        from app.search.services import search

        results = search(db.session, None, text, kind=kind, limit=limit, record=False)
        rows = [r.as_json() for r in results.results]
        if as_json:
            click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
            return
        for row in rows:
            click.echo(f"{row['score']:8.3f}  [{row['kind']}] {row['id']}#{row['anchor']}  {row['title']}")
        if not rows:
            click.echo("該当なし")

    @app.cli.group("rulings")
    def rulings_group() -> None:
        """判断事例."""

    @rulings_group.command("import")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--owner", default="総務局 コンプライアンス推進担当",
                  help="Owner unit of rows without 関連マニュアル.")
    def rulings_import(file: str, owner: str) -> None:
        """Import published rulings from .csv (UTF-8, BOM or not) or .xlsx (all or nothing)."""
        from app.rulings.importer import import_file

        init_storage()
        try:
            imported = import_file(db.session, file, owner_name=owner)
        except TebikiError as err:
            _fail(err)
        click.echo(f"{len(imported)}件の判断事例を登録しました（{imported[0].number} ほか）。")

    @app.cli.group("notices")
    def notices_group() -> None:
        """改正通知: mail delivery and reminders."""

    @notices_group.command("send")
    @click.option("--limit", type=int, default=500)
    def notices_send(limit: int) -> None:
        """Send queued mail (run after publishing and by a timer)."""
        from app.notices.services import send_queued

        try:
            result = send_queued(db.session, limit=limit)
        except TebikiError as err:
            _fail(err)
        click.echo(f"送信 {result.sent}件、再試行待ち {result.retried}件、送信不能 {result.failed}件")

    @notices_group.command("remind")
    def notices_remind() -> None:
        """Mail the 所属長 of units with overdue unconfirmed notices (once a day at most)."""
        from app.notices.services import remind

        n = remind(db.session)
        click.echo(f"督促 {n}件（送信は flask notices send）")

    @app.cli.group("staff")
    def staff_group() -> None:
        """人事異動."""

    @staff_group.command("import")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--dry-run", is_flag=True, help="Validate and show the preview only.")
    def staff_import(file: str, dry_run: bool) -> None:
        """Import a 人事異動 file: opens the handovers; accounts move on their 発令日 (all or nothing)."""
        from app.handover import importer

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
            _fail(err)
        db.session.commit()
        click.echo(f"反映しました: {rnd.name}（{rnd.rows}人、事務引継書を作成）")

    @staff_group.command("move-due")
    def staff_move_due() -> None:
        """Move the accounts whose 発令日 has come (run daily)."""
        from app.handover.importer import move_due
        from app.wareki import today_jst

        n = move_due(db.session, today_jst())
        db.session.commit()
        click.echo(f"{n}人の所属を発令日どおりに変更しました。")

    @app.cli.command("backup")
    @click.argument("directory", type=click.Path(file_okay=False))
    def backup_cmd(directory: str) -> None:
        """Back up the manuals repository (git bundle) and the database (portable JSON) with a manifest."""
        from app.backup import backup

        try:
            manifest = backup(db.session, directory)
        except TebikiError as err:
            _fail(err)
        rows = sum(manifest["counts"].values())  # type: ignore[union-attr]
        click.echo(f"バックアップしました: {directory}（{rows:,}行、参照 {manifest['refs']}件）")

    @app.cli.command("restore")
    @click.argument("directory", type=click.Path(file_okay=False, exists=True))
    def restore_cmd(directory: str) -> None:
        """Restore a backup into an empty instance, then rebuild the search index."""
        from app.backup import restore
        from app.search.services import reindex

        init_storage()
        try:
            counts = restore(db.session, directory)
        except TebikiError as err:
            _fail(err)
        reindexed = reindex(db.session)
        click.echo(f"復元しました（{sum(counts.values()):,}行）。検索インデックスを再構築しました: "
                   f"マニュアルの節 {reindexed['manual_sections']}件、判断事例 {reindexed['rulings']}件")

    @app.cli.command("doctor")
    @click.option("--repair", is_flag=True, help="Fix what can be fixed from the sources of truth.")
    def doctor(repair: bool) -> None:
        """Check git, the database and the drafts' refs agree."""
        from app.doctor import check

        findings = check(db.session, repair=repair)
        for f in findings:
            state = "修復済" if f.repaired else ("修復可" if f.repairable else "要確認")
            click.echo(f"[{state}] {f.kind}: {f.message}")
        left = [f for f in findings if not f.repaired]
        click.echo(f"問題 {len(findings)}件（未解決 {len(left)}件）")
        sys.exit(1 if left else 0)

    @app.cli.group("users")
    def users() -> None:
        """User accounts."""

    @users.command("create")
    @click.option("--login", required=True)
    @click.option("--name", required=True)
    @click.option("--unit", "unit_name", required=True, help='e.g. "健康福祉局 保険年金課" or "青葉区 保険年金課"')
    @click.option("--position", required=True, type=click.Choice(["担当", "係長", "課長"]))
    @click.option("--password", required=True)
    @click.option("--admin", is_flag=True)
    @click.option("--email", default=None)
    @click.option("--employee-no", default=None)
    def users_create(login: str, name: str, unit_name: str, position: str, password: str, admin: bool,
                     email: str | None, employee_no: str | None) -> None:
        """Create a user."""
        from app.org import services as org

        try:
            unit = org.find_unit(db.session, unit_name)
            user = org.create_user(db.session, None, login=login, name=name, unit=unit, position=position,
                                   password=password, is_admin=admin, email=email, employee_no=employee_no)
        except TebikiError as err:
            _fail(err)
        db.session.commit()
        click.echo(f"職員を登録しました: {user.login}（{user.name}、{unit.name} {position}{'、管理者' if admin else ''}）")
