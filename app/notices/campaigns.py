"""Campaigns: an annual re-confirmation of chosen manuals (e.g. 個人情報の取扱い). A campaign row is
the manual, the version to confirm, a due date and the targets; its notices, receipts, matrix,
理解度確認 (the version's approved questions) and reminders are the revision notices' own."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit
from app.errors import ValidationError
from app.manuals.models import Manual, ManualVersion
from app.notices.delivery import Publication, fan_out, ward_units
from app.notices.models import Campaign
from app.org import structure
from app.org.models import User
from app.org.permissions import require
from app.org.targeting import Audience
from app.revisions.models import MAJOR
from app.wareki import era_year, today_jst, wareki

KIND = "再確認"


def launch(session: Session, user: User, manual: Manual, *, due_date: date | None, sections: list[str] | None = None,
           audience: Audience | None = None) -> Campaign:
    require(user, "notice.campaign", manual.owner_unit_id)
    problems = []
    if not manual.is_published or manual.is_obsolete:
        problems.append("公布済みで廃止されていないマニュアルを選んでください。")
    if due_date is None or due_date <= today_jst():
        problems.append("再確認の期限は明日以降の日付にしてください。")
    sections = [s for s in (sections or manual.target_names) if s]
    unknown = [s for s in sections if s not in structure.SECTION_KINDS]
    if unknown or not sections:
        problems.append("対象の課を区役所の課の種類から1つ以上選んでください。")
    if problems:
        raise ValidationError("再確認を開始できません。", details=problems)
    assert due_date is not None
    audience = audience or Audience()
    version = session.scalar(select(ManualVersion).where(ManualVersion.manual_id == manual.id,
                                                         ManualVersion.number == manual.current_version))
    assert version is not None
    campaign = Campaign(manual_id=manual.id, revision_id=version.revision_id, number=version.number,
                        title=f"{manual.title}（{nendo(today_jst())}の再確認）", due_date=due_date,
                        sections="\n".join(sections), audience=json.dumps(audience.to_dict(), ensure_ascii=False),
                        owner_unit_id=manual.owner_unit_id, created_by_id=user.id)
    session.add(campaign)
    session.flush()
    pub = Publication(kind=KIND, title=campaign.title, reason=f"第{version.number}版の内容を、{wareki(due_date)}までに"
                      "各自あらためて確認してください。", summary="", due_date=due_date, owner_unit_id=manual.owner_unit_id,
                      manual=manual, number=version.number, effective_date=version.effective_date,
                      link=f"/manuals/{manual.slug}/v/{version.number}", significance=MAJOR,
                      audience=campaign.audience, campaign_id=campaign.id)
    fan_out(session, pub, ward_units(session, sections))
    audit.record(session, user, "notice.campaign", "manual", manual.id, due=due_date.isoformat(), number=version.number)
    return campaign


def campaigns(session: Session, user: User) -> list[Campaign]:
    """The owner unit's campaigns, newest first."""
    stmt = select(Campaign).order_by(Campaign.id.desc()).limit(50)
    if not user.is_admin:
        stmt = stmt.where(Campaign.owner_unit_id == user.unit_id)
    return list(session.scalars(stmt))


def manuals_to_choose(session: Session, user: User) -> list[Manual]:
    stmt = select(Manual).where(Manual.current_version > 0).order_by(Manual.title)
    if not user.is_admin:
        stmt = stmt.where(Manual.owner_unit_id == user.unit_id)
    return [m for m in session.scalars(stmt) if not m.is_obsolete]


def fiscal_year(day: date) -> int:
    """The city's 年度 (April to March)."""
    return day.year if day.month >= 4 else day.year - 1


def nendo(day: date) -> str:
    """「令和8年度」: the 年度 in 和暦, as the city writes it."""
    fy = fiscal_year(day)
    era = era_year(date(fy, 4, 1))
    return f"{era[0]}{'元' if era[1] == 1 else era[1]}年度" if era else f"{fy}年度"


def next_year(day: date) -> date:
    """The same due date a year later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def audience_of(campaign: Campaign) -> Audience:
    return Audience.from_dict(json.loads(campaign.audience) if campaign.audience else None)
