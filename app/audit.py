"""Append-only audit log: every state change writes one row in the same transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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
    "manual.create": "マニュアルの新規作成",
    "manual.import": "マニュアルの一括取込",
    "manual.manager": "管理担当者の変更",
    "manual.review": "定期見直し",
    "revision.create": "改正案の起案",
    "revision.consult": "意見照会の開始",
    "revision.comment": "意見の提出",
    "revision.comment_disposition": "意見への対応",
    "revision.submit": "決裁への回付",
    "revision.approve": "承認（審査・合議・決裁）",
    "revision.return": "差戻し",
    "revision.withdraw": "起案の取下げ",
    "revision.publish": "公布",
    "revision.conflict": "改正の競合",
    "revision.resolve": "競合の解消",
    "inquiry.create": "照会の登録",
    "inquiry.answer_draft": "回答案の保存",
    "inquiry.submit": "回答案の決裁への回付",
    "inquiry.approve": "回答の決裁",
    "inquiry.return": "回答案の差戻し",
    "inquiry.reflected": "マニュアルへの反映",
    "ruling.publish": "判断事例の公表",
    "ruling.import": "判断事例の一括取込",
    "ruling.recheck": "判断事例の再確認",
    "ruling.amend": "判断事例の改訂案",
    "ruling.amend_approve": "判断事例の改訂の決裁",
    "ruling.amend_return": "判断事例の改訂案の差戻し",
    "notice.confirm": "周知の確認",
    "notice.delegate": "周知確認の代行者指定",
    "notice.undelegate": "周知確認の代行者解除",
    "notice.acknowledge": "改正内容の確認（職員）",
    "notice.passed": "理解度確認の合格",
    "notice.withdraw": "周知済の取消し",
    "notice.campaign": "年次の再確認の設定",
    "revision.attach": "添付ファイル（様式・画像）の登録",
    "revision.detach": "添付ファイル（様式・画像）の削除",
    "search.synonyms": "検索の同義語の登録・変更",
    "search.synonyms_delete": "検索の同義語の削除",
    "handover.start": "事務引継書の作成開始",
    "handover.save": "事務引継書の保存",
    "handover.submit": "事務引継書の提出",
    "handover.return": "事務引継書の差戻し",
    "handover.confirm": "事務引継書の確認",
    "staff.import": "人事異動の登録",
    "staff.move": "異動の発令（所属の変更）",
}

# What an entry is about (the filter and the 対象 column).
OBJECT_LABELS: dict[str, str] = {
    "user": "職員", "unit": "所属", "manual": "マニュアル", "revision": "改正案", "inquiry": "照会・判断事例",
    "notice": "通知", "handover": "事務引継書", "transfer_round": "人事異動", "directory": "ディレクトリ",
    "directory_department": "ディレクトリの所属名", "system": "システム", "synonym": "検索の同義語",
}

# The detail keys, in the words of the page.
DETAIL_LABELS: dict[str, str] = {
    "added": "追加", "address": "接続元", "admin": "システム管理者", "after": "変更後", "before": "変更前",
    "by": "開始した人", "changes": "変更内容", "comment": "コメント", "commit": "コミット", "count": "件数",
    "deadline": "期限", "disposition": "対応", "dry_run": "確認のみ", "effective": "施行日", "file": "ファイル",
    "handover": "事務引継書", "kind": "種別", "login": "ログインID", "manual": "マニュアル", "meaning": "区分",
    "name": "名称", "note": "メモ", "number": "番号", "owner": "所管課", "person": "職員", "position": "職",
    "published_at": "公布日時", "reason": "理由", "repair": "修復", "round": "人事異動", "rows": "行数",
    "sessions": "終了したログイン", "share_all": "全区共有", "slug": "識別名", "slugs": "識別名",
    "source": "取込元", "status": "状態", "title": "名称", "to": "異動先", "transfers": "異動者数",
    "trusted_device": "確認済みの端末", "unit": "所属", "unmapped": "未対応の所属名", "value": "値",
    "verdict": "見直しの結果", "version": "版", "via": "経由",
}


# The time rows are written at: now, except while loading past history (the demo data's 2023–2025
# approvals are logged on the days they were given).
_WRITTEN_AT: ContextVar[datetime | None] = ContextVar("audit_written_at", default=None)


@contextmanager
def dated(when: datetime) -> Iterator[None]:
    token = _WRITTEN_AT.set(when)
    try:
        yield
    finally:
        _WRITTEN_AT.reset(token)


def record(
    session: Session,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: object = "",
    **details: Any,
) -> AuditEntry:
    entry = AuditEntry(
        at=_WRITTEN_AT.get() or now_utc(),
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
