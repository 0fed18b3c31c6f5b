"""Who may see the checks, write, confirm and import 事務引継書 and 人事異動."""

from __future__ import annotations

from app.handover.models import Handover
from app.org.models import User
from app.org.permissions import rule


@rule("checks.view")
def _checks_view(user: User, _obj: object) -> bool | str:
    return user.is_admin or user.is_head or "点検結果は所属長とシステム管理者が確認できます。"


@rule("handover.start")
def _handover_start(user: User, target: User | None) -> bool | str:
    """A handover is started by the person leaving, their 所属長, or the admin (and the staff import)."""
    if target is None or target.id == user.id or user.is_admin:
        return True
    if user.is_head and target.unit_id == user.unit_id:
        return True
    return "事務引継書を作成できるのは、本人・その所属長・システム管理者です。"


@rule("handover.view")
def _handover_view(user: User, handover: Handover) -> bool | str:
    if user.id == handover.user_id or user.is_admin:
        return True
    if user.is_head and user.unit_id == handover.unit_id:
        return True
    if any(i.successor_id == user.id for i in handover.items) or handover.default_successor_id == user.id:
        return True
    return "この事務引継書を閲覧する権限がありません。"


@rule("handover.edit")
def _handover_edit(user: User, handover: Handover) -> bool | str:
    return user.id == handover.user_id or "事務引継書を記入できるのは異動する本人です。"


@rule("handover.confirm")
def _handover_confirm(user: User, handover: Handover) -> bool | str:
    if user.id == handover.user_id:
        return "異動する本人は自分の事務引継書を確認できません。"
    if user.is_head and user.unit_id == handover.unit_id:
        return True
    return f"事務引継書を確認できるのは{handover.unit.name}の所属長（課長）のみです。"


@rule("staff.import")
def _staff_import(user: User, _obj: object) -> bool | str:
    return user.is_admin or "人事異動の取込はシステム管理者が行います。"
