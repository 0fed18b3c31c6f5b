"""Who in a section a notice is for (issue 17): everyone, 係長以上, people with a duty tag (窓口, 審査 …),
with or without the 会計年度任用職員. One small query the notice fan-out can embed:

    audience = Audience(min_position="係長", duty_tags=("窓口",), fixed_term="exclude")
    stmt = members_query([unit.id for unit in target_units], audience)          # Select[User]
    ids = member_ids(unit_ids, audience)                                        # Select of User.id, as a subquery
    audience.label()  →  "係長以上・担当業務「窓口」・会計年度任用職員を除く"
    Audience.from_dict(revision.audience_json) / audience.to_dict()             # to store it with a revision
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.errors import ValidationError
from app.org.models import POSITIONS, User, UserDuty

FIXED_TERM = ("include", "exclude", "only")


@dataclass(frozen=True)
class Audience:
    min_position: str | None = None  # None: every position; "係長": 係長 and 課長; "課長": 課長 only
    duty_tags: tuple[str, ...] = field(default_factory=tuple)  # any of these tags (empty: no condition)
    fixed_term: str = "include"  # 会計年度任用職員: include / exclude / only

    def __post_init__(self) -> None:
        problems = []
        if self.min_position is not None and self.min_position not in POSITIONS:
            problems.append(f"職「{self.min_position}」は 担当・係長・課長 のいずれかにしてください。")
        if self.fixed_term not in FIXED_TERM:
            problems.append("会計年度任用職員は「含める」「除く」「だけ」のいずれかにしてください。")
        if problems:
            raise ValidationError("通知の対象者の条件に誤りがあります。", details=problems)

    @property
    def everyone(self) -> bool:
        return self.min_position in (None, POSITIONS[0]) and not self.duty_tags and self.fixed_term == "include"

    def label(self) -> str:
        if self.everyone:
            return "所属の全員"
        parts = []
        if self.min_position and self.min_position != POSITIONS[0]:
            parts.append("課長のみ" if self.min_position == POSITIONS[-1] else f"{self.min_position}以上")
        if self.duty_tags:
            parts.append("担当業務「" + "」「".join(self.duty_tags) + "」")
        parts.append({"include": "", "exclude": "会計年度任用職員を除く", "only": "会計年度任用職員のみ"}[self.fixed_term])
        return "・".join(p for p in parts if p)

    def to_dict(self) -> dict[str, Any]:
        return {"min_position": self.min_position, "duty_tags": list(self.duty_tags), "fixed_term": self.fixed_term}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Audience:
        data = data or {}
        return cls(min_position=data.get("min_position") or None,
                   duty_tags=tuple(sorted({str(t).strip() for t in data.get("duty_tags") or [] if str(t).strip()})),
                   fixed_term=data.get("fixed_term") or "include")

    @classmethod
    def from_form(cls, form: Any) -> Audience:
        """The targeting fields of the revision editor and the campaign form (templates/revisions/_audience_fields.html)."""
        tags = re.split(r"[,、，;\s]+", form.get("audience_duties") or "")
        return cls(min_position=form.get("audience_position") or None,
                   duty_tags=tuple(sorted({t.strip()[:30] for t in tags if t.strip()})),
                   fixed_term=form.get("audience_fixed_term") or "include")

    def matches(self, user: User) -> bool:
        """The same rule for one account (e.g. to explain why someone got no notice)."""
        if not user.active:
            return False
        if self.min_position and POSITIONS.index(user.position) < POSITIONS.index(self.min_position):
            return False
        if self.duty_tags and not set(self.duty_tags) & set(user.duty_tags):
            return False
        if self.fixed_term == "exclude" and user.is_fixed_term:
            return False
        return not (self.fixed_term == "only" and not user.is_fixed_term)


def _where(stmt: Select, unit_ids: Iterable[int] | Select, audience: Audience) -> Select:
    units = unit_ids if isinstance(unit_ids, Select) else list(unit_ids)
    stmt = stmt.where(User.active.is_(True), User.unit_id.in_(units))
    if audience.min_position and audience.min_position != POSITIONS[0]:
        stmt = stmt.where(User.position.in_(POSITIONS[POSITIONS.index(audience.min_position):]))
    if audience.duty_tags:
        stmt = stmt.where(User.id.in_(select(UserDuty.user_id).where(UserDuty.tag.in_(audience.duty_tags))))
    if audience.fixed_term == "exclude":
        stmt = stmt.where(User.is_fixed_term.is_(False))
    elif audience.fixed_term == "only":
        stmt = stmt.where(User.is_fixed_term.is_(True))
    return stmt


def members_query(unit_ids: Iterable[int] | Select, audience: Audience | None = None) -> Select:
    """Active members of these units matching the audience (Select[User], ordered by unit and login)."""
    return _where(select(User), unit_ids, audience or Audience()).order_by(User.unit_id, User.login)


def member_ids(unit_ids: Iterable[int] | Select, audience: Audience | None = None) -> Select:
    """The same as a Select of User.id (for `Notice.user_id.in_(…)` or an INSERT … SELECT)."""
    return _where(select(User.id), unit_ids, audience or Audience())


def member_select(columns: Iterable[Any], unit_ids: Iterable[int] | Select, audience: Audience | None = None
                  ) -> Select:
    """The same with other columns (e.g. `(User.id, literal(notice_id))` for an INSERT … SELECT)."""
    return _where(select(*columns), unit_ids, audience or Audience())


def members(session: Session, unit_ids: Iterable[int] | Select, audience: Audience | None = None) -> list[User]:
    return list(session.scalars(members_query(unit_ids, audience)))


def duty_tag_choices(session: Session) -> list[str]:
    """Every duty tag in use, for the selects of the revision form and the user form."""
    return list(session.scalars(select(UserDuty.tag).distinct().order_by(UserDuty.tag)))
