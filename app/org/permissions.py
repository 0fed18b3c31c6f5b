"""The one place that answers "may this user do X (to this object)?".

Each capability registers its rules here with `@rule("name")`; services call `require()`
(raises PermissionDenied with a Japanese reason) and templates call `can()` to decide what
to show. A rule returns True, or a string saying in Japanese why not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.errors import PermissionDenied
from app.org.models import User

Rule = Callable[[User, Any], "bool | str"]
_RULES: dict[str, Rule] = {}


def rule(name: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        if name in _RULES:
            raise RuntimeError(f"permission rule {name!r} registered twice")
        _RULES[name] = fn
        return fn

    return register


def _check(user: User | None, action: str, obj: Any) -> bool | str:
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return "ログインが必要です。"
    try:
        fn = _RULES[action]
    except KeyError:  # a typo must never grant access
        raise RuntimeError(f"unknown permission {action!r}") from None
    return fn(user, obj)


def can(user: User | None, action: str, obj: Any = None) -> bool:
    return _check(user, action, obj) is True


def require(user: User | None, action: str, obj: Any = None) -> None:
    result = _check(user, action, obj)
    if result is not True:
        raise PermissionDenied(result if isinstance(result, str) else "この操作を行う権限がありません。")


# --- organisation and administration ---------------------------------------------------


@rule("admin.access")
def _admin_access(user: User, _obj: Any) -> bool | str:
    return user.is_admin or "システム管理者のみが利用できます。"


@rule("admin.users")
def _admin_users(user: User, _obj: Any) -> bool | str:
    return user.is_admin or "職員の管理はシステム管理者のみが行えます。"


@rule("admin.units")
def _admin_units(user: User, _obj: Any) -> bool | str:
    return user.is_admin or "組織の管理はシステム管理者のみが行えます。"


@rule("admin.audit")
def _admin_audit(user: User, _obj: Any) -> bool | str:
    return user.is_admin or "監査ログはシステム管理者のみが閲覧できます。"


@rule("user.deactivate")
def _user_deactivate(user: User, target: User) -> bool | str:
    if not user.is_admin:
        return "職員の無効化はシステム管理者のみが行えます。"
    if target is not None and target.id == user.id:
        return "自分自身のアカウントは無効にできません。"
    return True


# --- manuals and revisions ----------------------------------------------------------------


def _owner_member(user: User, manual: Any) -> bool:
    return user.is_hq and manual is not None and user.unit_id == manual.owner_unit_id


@rule("manual.create")
def _manual_create(user: User, _obj: Any) -> bool | str:
    return user.is_hq or "マニュアルの作成は本庁の制度所管課の職員のみが行えます。"


@rule("manual.edit")
def _manual_edit(user: User, manual: Any) -> bool | str:
    if _owner_member(user, manual):
        return True
    owner = manual.owner_unit.name if manual is not None else "所管課"
    return f"このマニュアルは{owner}の所管です。改正案の作成・編集は所管課の職員のみが行えます。"


@rule("revision.workspace")
def _revision_workspace(user: User, _obj: Any) -> bool | str:
    return True


@rule("revision.consulted")
def _revision_consulted(user: User, _obj: Any) -> bool | str:
    return user.is_ward or "意見照会は区役所・総合支所の課に届きます。"


@rule("revision.view")
def _revision_view(user: User, revision: Any) -> bool | str:
    """Drafts are for the owner unit, the approvers on its route, and (during 意見照会) the target wards."""
    if _owner_member(user, revision.manual) or user.is_admin:
        return True
    if any(step.unit_id == user.unit_id for step in revision.steps):
        return True
    if user.is_ward and user.unit.section in revision.manual.target_names and revision.consultation_deadline:
        return True  # a ward consulted on this draft keeps seeing it (and its comments)
    return "この改正案を閲覧する権限がありません（公布前の改正案は所管課と意見照会先のみが閲覧できます）。"


@rule("revision.edit")
def _revision_edit(user: User, revision: Any) -> bool | str:
    return _manual_edit(user, revision.manual)


@rule("revision.comment")
def _revision_comment(user: User, revision: Any) -> bool | str:
    if not user.is_ward or user.unit.section not in revision.manual.target_names:
        return "意見を提出できるのは、意見照会先の区役所・総合支所の課の職員のみです。"
    return True


@rule("revision.approve")
def _revision_approve(user: User, revision: Any) -> bool | str:
    step = revision.current_step
    if step is None:
        return "この改正案は承認待ちではありません。"
    if user.id == revision.drafter_id:
        return "起案者は自分の改正案を承認できません。"
    if user.unit_id != step.unit_id or user.position not in step.position_list:
        return f"この段階（{step.meaning}）の承認者は {step.unit.name} の{'・'.join(step.position_list)}です。"
    if any(s.actor_id == user.id for s in revision.steps if s.status == "approved"):
        return "同じ改正案の複数の段階を一人で承認することはできません。"
    return True


# --- inquiries and rulings ----------------------------------------------------------------


@rule("inquiry.create")
def _inquiry_create(user: User, _obj: Any) -> bool | str:
    return user.is_ward or "疑義照会・改善提案は区役所・総合支所の職員が行います。"


@rule("inquiry.inbox")
def _inquiry_inbox(user: User, _obj: Any) -> bool | str:
    return True


@rule("inquiry.view")
def _inquiry_view(user: User, inquiry: Any) -> bool | str:
    """Until it is published as a 判断事例, only the asking ward section and the owner unit see it."""
    if inquiry.is_published or user.is_admin:
        return True
    if user.unit_id in (inquiry.asking_unit_id, inquiry.owner_unit_id):
        return True
    return "この照会を閲覧する権限がありません（公表前の照会は、照会した課と所管課のみが閲覧できます）。"


@rule("inquiry.answer")
def _inquiry_answer(user: User, inquiry: Any) -> bool | str:
    if user.unit_id != inquiry.owner_unit_id:
        return f"回答できるのは所管課（{inquiry.owner_unit.name}）の職員のみです。"
    return True


@rule("inquiry.approve")
def _inquiry_approve(user: User, inquiry: Any) -> bool | str:
    if user.unit_id != inquiry.owner_unit_id or not user.is_head:
        return f"回答を決裁できるのは所管課（{inquiry.owner_unit.name}）の課長のみです。"
    if inquiry.answerer_id == user.id:
        return "自分が作成した回答案を決裁することはできません。"
    return True


# --- notices ----------------------------------------------------------------------------------


@rule("notice.confirm")
def _notice_confirm(user: User, notice: Any) -> bool | str:
    """周知済 is confirmed by the unit's 所属長, or a 係長 they delegated."""
    if notice.owner_copy:
        return "所管課あての写しは確認の対象ではありません。"
    if user.unit_id != notice.unit_id:
        return "周知の確認は、通知を受けた所属の所属長が行います。"
    if user.is_head:
        return True
    from sqlalchemy.orm import object_session

    from app.notices.inbox import is_delegate

    if user.position == "係長" and is_delegate(object_session(notice), user):  # type: ignore[arg-type]
        return True
    return "周知済の確認は所属長（課長）、または所属長から委任された係長が行います。"


@rule("notice.figures")
def _notice_figures(user: User, owner_unit_id: int | None) -> bool | str:
    """Confirmation matrices and usage figures: the publishing (owner) unit and the admin;
    without a unit given, any 本庁 unit (each sees its own publications)."""
    if user.is_admin or (owner_unit_id is not None and user.unit_id == owner_unit_id):
        return True
    if owner_unit_id is None and user.is_hq:
        return True
    return "周知状況・活用状況は所管課とシステム管理者が閲覧できます。"


@rule("notice.delegate")
def _notice_delegate(user: User, _obj: Any) -> bool | str:
    return (user.is_head and user.is_ward) or "確認の委任は区役所・総合支所の所属長が行います。"


# --- manual management and handovers ------------------------------------------------------


@rule("manual.manage")
def _manual_manage(user: User, manual: Any) -> bool | str:
    """Naming the 管理担当者: the owner unit's 課長 or 係長."""
    if _owner_member(user, manual) and user.is_chief_or_head:
        return True
    return "管理担当者を指定できるのは所管課の課長・係長です。"


@rule("manual.management")
def _manual_management(user: User, manual: Any) -> bool | str:
    """The management page (manager, review dates, review record): the owner unit and the admin."""
    return _owner_member(user, manual) or user.is_admin or "マニュアルの管理情報は所管課とシステム管理者が閲覧できます。"


@rule("manual.review")
def _manual_review(user: User, manual: Any) -> bool | str:
    if _owner_member(user, manual) and (user.id == manual.manager_id or user.is_chief_or_head):
        return True
    return "見直しを記録できるのは管理担当者と所管課の課長・係長です。"


@rule("checks.view")
def _checks_view(user: User, _obj: Any) -> bool | str:
    return user.is_admin or user.is_head or "点検結果は所属長とシステム管理者が確認できます。"


@rule("handover.start")
def _handover_start(user: User, target: Any) -> bool | str:
    """A handover is started by the person leaving, their 所属長, or the admin (and the staff import)."""
    if target is None or target.id == user.id or user.is_admin:
        return True
    if user.is_head and target.unit_id == user.unit_id:
        return True
    return "事務引継書を作成できるのは、本人・その所属長・システム管理者です。"


@rule("handover.view")
def _handover_view(user: User, handover: Any) -> bool | str:
    if user.id == handover.user_id or user.is_admin:
        return True
    if user.is_head and user.unit_id == handover.unit_id:
        return True
    if any(i.successor_id == user.id for i in handover.items) or handover.default_successor_id == user.id:
        return True
    return "この事務引継書を閲覧する権限がありません。"


@rule("handover.edit")
def _handover_edit(user: User, handover: Any) -> bool | str:
    return user.id == handover.user_id or "事務引継書を記入できるのは異動する本人です。"


@rule("handover.confirm")
def _handover_confirm(user: User, handover: Any) -> bool | str:
    if user.id == handover.user_id:
        return "異動する本人は自分の事務引継書を確認できません。"
    if user.is_head and user.unit_id == handover.unit_id:
        return True
    return f"事務引継書を確認できるのは{handover.unit.name}の所属長（課長）のみです。"


@rule("staff.import")
def _staff_import(user: User, _obj: Any) -> bool | str:
    return user.is_admin or "人事異動の取込はシステム管理者が行います。"
