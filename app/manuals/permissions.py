"""Who may create, edit and manage manuals (registered in the one permission registry)."""

from __future__ import annotations

from app.manuals.models import Manual
from app.org.models import User
from app.org.permissions import rule


def owner_member(user: User, manual: Manual | None) -> bool:
    """A member of the unit that owns the manual (本庁)."""
    return user.is_hq and manual is not None and user.unit_id == manual.owner_unit_id


@rule("manual.create")
def _manual_create(user: User, _obj: object) -> bool | str:
    return user.is_hq or "マニュアルの作成は本庁の制度所管課の職員のみが行えます。"


@rule("manual.edit")
def can_edit_manual(user: User, manual: Manual) -> bool | str:
    if owner_member(user, manual):
        return True
    owner = manual.owner_unit.name if manual is not None else "所管課"
    return f"このマニュアルは{owner}の所管です。改正案の作成・編集は所管課の職員のみが行えます。"


@rule("manual.manage")
def _manual_manage(user: User, manual: Manual) -> bool | str:
    """Naming the 管理担当者: the owner unit's 課長 or 係長."""
    if owner_member(user, manual) and user.is_chief_or_head:
        return True
    return "管理担当者を指定できるのは所管課の課長・係長です。"


@rule("manual.management")
def _manual_management(user: User, manual: Manual) -> bool | str:
    """The management page (manager, review dates, review record): the owner unit and the admin."""
    return owner_member(user, manual) or user.is_admin or "マニュアルの管理情報は所管課とシステム管理者が閲覧できます。"


@rule("manual.review")
def _manual_review(user: User, manual: Manual) -> bool | str:
    if owner_member(user, manual) and (user.id == manual.manager_id or user.is_chief_or_head):
        return True
    return "見直しを記録できるのは管理担当者と所管課の課長・係長です。"
