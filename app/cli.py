"""The shared `flask` commands (each domain registers its own in its `commands` module):
init, seed, doctor, backup and restore."""

from __future__ import annotations

import sys
from contextlib import nullcontext

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from app import backup as backups
from app import seed as demo
from app import uow, uploads
from app.commandline import fail, init_storage
from app.doctor import check
from app.errors import TebikiError
from app.extensions import db
from app.gitstore import store
from app.manuals import rendering
from app.org.models import User
from app.org.services import seed_org as do_seed_org
from app.search.services import reindex


@click.command("init")
def init_cmd() -> None:
    """Create the manuals repository and the search index directory."""
    init_storage()
    click.echo(f"マニュアルリポジトリ: {current_app.config['MANUALS_REPO']}")
    click.echo(f"検索インデックス: {current_app.config['SEARCH_INDEX_DIR']}")


@click.group("seed")
def seed() -> None:
    """Demo and organisation data."""


@seed.command("org")
@uow.command
def seed_org() -> None:
    """Create the city's units (idempotent)."""
    init_storage()
    added = do_seed_org(db.session)
    click.echo(f"所属を{added}件追加しました。" if added else "所属は登録済みです。")


@seed.command("demo")
@click.option("--quiet", is_flag=True, help="Do not print the demo logins.")
@click.option("--if-empty", is_flag=True, help="Only when the database has no users yet.")
@uow.command
def seed_demo(quiet: bool, if_empty: bool) -> None:
    """Organisation, demo users and demo content (idempotent)."""
    init_storage()
    if if_empty and db.session.scalar(select(func.count(User.id))):
        click.echo("データベースには既にデータがあるため、デモデータの投入は省略しました。")
    else:
        try:
            counts = demo.seed_demo(db.session)
        except TebikiError as err:
            fail(err)
        click.echo("デモデータ: " + "、".join(f"{k} {v}件追加" for k, v in counts.items()))
    if not quiet:
        click.echo("")
        click.echo(f"デモ用ログイン（パスワードはすべて {demo.DEMO_PASSWORD}）:")
        for acc in demo.KEY_USERS:
            click.echo(f"  {acc.login:<13} {acc.name}（{acc.unit} {acc.position}）— {acc.role}")
        click.echo("  ほかの所属の職員: <区>.<課>.<tanto|kakaricho|kacho>（例 izumi.hoken.kacho）")


@click.command("backup")
@click.argument("directory", type=click.Path(file_okay=False))
def backup_cmd(directory: str) -> None:
    """Back up the manuals repository (git bundle) and the database (portable JSON) with a manifest."""
    try:
        manifest = backups.backup(db.session, directory)
    except TebikiError as err:
        fail(err)
    counts: dict[str, int] = manifest["counts"]  # type: ignore[assignment]
    rows = sum(counts.values())
    click.echo(f"バックアップしました: {directory}（{rows:,}行、参照 {manifest['refs']}件）")


@click.command("restore")
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
@uow.command
def restore_cmd(directory: str) -> None:
    """Restore a backup into an empty instance, then rebuild the search index."""
    init_storage()
    try:
        counts = backups.restore(db.session, directory)
    except TebikiError as err:
        fail(err)
    reindexed = reindex(db.session)
    click.echo(f"復元しました（{sum(counts.values()):,}行）。検索インデックスを再構築しました: "
               f"マニュアルの節 {reindexed['manual_sections']}件、判断事例 {reindexed['rulings']}件")


@click.command("doctor")
@click.option("--repair", is_flag=True, help="Fix what can be fixed from the sources of truth.")
def doctor(repair: bool) -> None:
    """Check git, the database, the drafts' refs and what is derived from them agree."""
    with uow.writing() if repair else nullcontext():
        findings = check(db.session, repair=repair)
        db.session.commit()
    for f in findings:
        state = "修復済" if f.repaired else ("修復可" if f.repairable else "要確認")
        click.echo(f"[{state}] {f.kind}: {f.message}")
    left = [f for f in findings if not f.repaired]
    click.echo(f"問題 {len(findings)}件（未解決 {len(left)}件）")
    sys.exit(1 if left else 0)


@click.command("maintenance")
def maintenance_cmd() -> None:
    """Upkeep (a daily timer, safe on every host): pack the repository's loose objects and refs; make
    the page files an upgrade's new renderer has not made yet (app/manuals/rendering.py)."""
    result = store().maintain()
    click.echo(f"マニュアルリポジトリを整理しました: 未パックのオブジェクト {result['loose_before']:,} → "
               f"{result['loose_after']:,}（パック {result['packs']}）")
    click.echo(f"閲覧ページを用意しました: 新しく作成 {rendering.prepare_all(db.session)}件")


@click.group("uploads")
def uploads_group() -> None:
    """Uploaded files waiting for their preview."""


@uploads_group.command("sweep")
def uploads_sweep() -> None:
    """Remove uploads nobody came back for within a day (run daily)."""
    click.echo(f"1日以上経過したアップロードファイルを{uploads.sweep()}件削除しました。")


def init_app(app: Flask) -> None:
    for command in (init_cmd, seed, backup_cmd, restore_cmd, doctor, uploads_group, maintenance_cmd):
        app.cli.add_command(command)
