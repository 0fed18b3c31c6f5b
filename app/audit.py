"""Append-only audit log: every state change writes one row in the same transaction."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Integer, String, Text, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.errors import TebikiError
from app.extensions import Model, UTCDateTime
from app.wareki import now_utc

if TYPE_CHECKING:
    from app.org.models import User


class AuditEntry(Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # Snapshot of the actor's name: the log must read the same after a rename or transfer.
    actor_name: Mapped[str] = mapped_column(String(100), default="システム")
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32), index=True)
    object_id: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")

    @property
    def details_dict(self) -> dict[str, Any]:
        return json.loads(self.details or "{}")


# Japanese labels for the admin page; unknown actions fall back to the code.
ACTION_LABELS: dict[str, str] = {
    "auth.login": "ログイン",
    "auth.login_failed": "ログイン失敗",
    "auth.locked": "アカウントロック",
    "auth.logout": "ログアウト",
    "user.create": "職員登録",
    "user.update": "職員情報変更",
    "user.deactivate": "職員無効化",
    "user.reactivate": "職員再有効化",
    "user.password": "パスワード変更",
    "user.unlock": "ログイン制限解除",
    "user.sessions_ended": "ログインの強制終了",
    "user.password_link": "パスワード設定用リンク発行",
    "auth.throttled": "ログイン試行（待ち時間中）",
    "auth.directory_down": "ディレクトリに接続できずログイン不可",
    "directory.sync": "ディレクトリ同期",
    "directory.map": "所属の対応付け",
    "staff.roster": "職員名簿の取込",
    "staff.found_move": "異動の検出（ディレクトリ・名簿）",
    "staff.cancel": "人事異動の取消（個人）",
    "staff.cancel_round": "人事異動の取消",
    "staff.correct": "人事異動の訂正（個人）",
    "staff.correct_round": "人事異動の訂正",
    "handover.cancel": "事務引継書の削除（異動の取消）",
    "unit.create": "所属登録",
    "unit.update": "所属変更",
    "unit.deactivate": "所属無効化",
    "unit.reactivate": "所属再有効化",
    "seed.org": "組織データ投入",
    "seed.demo": "デモデータ投入",
}


def record(
    session: Session,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: object = "",
    **details: Any,
) -> AuditEntry:
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        actor_name=actor.name if actor is not None else "システム",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details=json.dumps(details, ensure_ascii=False, default=str, sort_keys=True),
    )
    session.add(entry)
    return entry


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, _ctx: object, _instances: object) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry):
            raise TebikiError("監査ログは変更・削除できません。")


def search(
    session: Session,
    *,
    action: str | None = None,
    actor_id: int | None = None,
    object_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
):
    """The query behind the admin page (newest first); the caller paginates."""
    q = select(AuditEntry).order_by(AuditEntry.id.desc())
    if action:
        q = q.where(AuditEntry.action == action)
    if actor_id:
        q = q.where(AuditEntry.actor_id == actor_id)
    if object_type:
        q = q.where(AuditEntry.object_type == object_type)
    if since:
        q = q.where(AuditEntry.at >= since)
    if until:
        q = q.where(AuditEntry.at < until)
    return q
