"""Who may change how search reads words."""

from __future__ import annotations

from typing import Any

from app.org.models import User
from app.org.permissions import rule


@rule("search.synonyms")
def _synonyms(user: User, _obj: Any) -> bool | str:
    return user.is_admin or "検索の同義語・表記ゆれの表はシステム管理者が管理します。"
