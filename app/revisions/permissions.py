"""Who may see, edit, comment on and approve a revision."""

from __future__ import annotations

from app.manuals.permissions import can_edit_manual, owner_member
from app.org.models import User
from app.org.permissions import rule
from app.revisions.models import Revision


@rule("revision.workspace")
def _revision_workspace(user: User, _obj: object) -> bool | str:
    return True


@rule("revision.consulted")
def _revision_consulted(user: User, _obj: object) -> bool | str:
    return user.is_ward or "意見照会は区役所・総合支所の課に届きます。"


@rule("revision.view")
def _revision_view(user: User, revision: Revision) -> bool | str:
    """Drafts are for the owner unit, the approvers on its route, and (during 意見照会) the target wards."""
    if owner_member(user, revision.manual) or user.is_admin:
        return True
    if any(step.unit_id == user.unit_id for step in revision.steps):
        return True
    if user.is_ward and user.unit.section in revision.manual.target_names and revision.consultation_deadline:
        return True  # a ward consulted on this draft keeps seeing it (and its comments)
    return "この改正案を閲覧する権限がありません（公布前の改正案は所管課と意見照会先のみが閲覧できます）。"


@rule("revision.edit")
def _revision_edit(user: User, revision: Revision) -> bool | str:
    return can_edit_manual(user, revision.manual)


@rule("revision.comment")
def _revision_comment(user: User, revision: Revision) -> bool | str:
    if not user.is_ward or user.unit.section not in revision.manual.target_names:
        return "意見を提出できるのは、意見照会先の区役所・総合支所の課の職員のみです。"
    return True


@rule("revision.approve")
def _revision_approve(user: User, revision: Revision) -> bool | str:
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
