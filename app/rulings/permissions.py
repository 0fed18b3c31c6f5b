"""Who may file, see, answer and approve inquiries and rulings."""

from __future__ import annotations

from app.org.models import User
from app.org.permissions import rule
from app.rulings.models import Inquiry


@rule("inquiry.create")
def _inquiry_create(user: User, _obj: object) -> bool | str:
    return user.is_ward or "疑義照会・改善提案は区役所・総合支所の職員が行います。"


@rule("inquiry.inbox")
def _inquiry_inbox(user: User, _obj: object) -> bool | str:
    return True


@rule("inquiry.view")
def _inquiry_view(user: User, inquiry: Inquiry) -> bool | str:
    """Until it is published as a 判断事例, only the asking ward section and the owner unit see it."""
    if inquiry.is_published or user.is_admin:
        return True
    if user.unit_id in (inquiry.asking_unit_id, inquiry.owner_unit_id):
        return True
    return "この照会を閲覧する権限がありません（公表前の照会は、照会した課と所管課のみが閲覧できます）。"


@rule("inquiry.answer")
def _inquiry_answer(user: User, inquiry: Inquiry) -> bool | str:
    if user.unit_id != inquiry.owner_unit_id:
        return f"回答できるのは所管課（{inquiry.owner_unit.name}）の職員のみです。"
    return True


@rule("inquiry.approve")
def _inquiry_approve(user: User, inquiry: Inquiry) -> bool | str:
    if user.unit_id != inquiry.owner_unit_id or not user.is_head:
        return f"回答を決裁できるのは所管課（{inquiry.owner_unit.name}）の課長のみです。"
    if inquiry.answerer_id == user.id:
        return "自分が作成した回答案を決裁することはできません。"
    return True
