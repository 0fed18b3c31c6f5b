"""Who may confirm 周知, delegate it, and read the figures."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import object_session

from app.notices.models import ConfirmDelegate, Notice
from app.org.models import CHIEF, User
from app.org.permissions import rule


def is_delegate(user: User, notice: Notice) -> bool:
    """The fact the rule needs, read from this domain's own table through the notice's session."""
    session = object_session(notice)
    return session is not None and session.scalar(select(ConfirmDelegate.id).where(
        ConfirmDelegate.unit_id == user.unit_id, ConfirmDelegate.user_id == user.id)) is not None


@rule("notice.confirm")
def _notice_confirm(user: User, notice: Notice) -> bool | str:
    """周知済 is confirmed by the unit's 所属長, or a 係長 they delegated."""
    if notice.owner_copy:
        return "所管課あての写しは確認の対象ではありません。"
    if user.unit_id != notice.unit_id:
        return "周知の確認は、通知を受けた所属の所属長が行います。"
    if user.is_head:
        return True
    if user.position == CHIEF and is_delegate(user, notice):
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
def _notice_delegate(user: User, _obj: object) -> bool | str:
    return (user.is_head and user.is_ward) or "確認の委任は区役所・総合支所の所属長が行います。"


@rule("notice.withdraw")
def _notice_withdraw(user: User, notice: Notice) -> bool | str:
    """A 周知済 is taken back by whoever confirmed it, or the unit's 所属長."""
    if notice.owner_copy or user.unit_id != notice.unit_id:
        return "周知済の取消しは、通知を受けた所属で行います。"
    if user.id == notice.confirmed_by_id or user.is_head:
        return True
    return "周知済を取り消せるのは、確認した本人か所属長（課長）です。"


@rule("notice.campaign")
def _notice_campaign(user: User, owner_unit_id: int | None) -> bool | str:
    """An annual re-confirmation of a manual is started by its owner unit's 係長・課長 (or the admin)."""
    if user.is_admin or (user.is_hq and user.is_chief_or_head and (owner_unit_id is None or user.unit_id == owner_unit_id)):
        return True
    return "再確認の実施は、マニュアルの所管課の係長・課長が行います。"
