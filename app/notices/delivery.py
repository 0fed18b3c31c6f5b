"""Delivery of notices on every publication: one notice per target unit (the matching section in
every ward office, plus the owner unit's copy) and — when MAIL_SERVER is set — one mail per
recipient, written in the reaction's transaction (an outbox: `flask notices send` delivers it).

The reactions are registered here; the publishers (revisions, rulings) never import this module.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app import events
from app.manuals.models import Manual
from app.notices import reading
from app.notices.models import CONFIRMED, PENDING, QUEUED, SUPERSEDED, MailOutbox, Notice, Receipt
from app.org.models import HEAD, WARD, Unit, User
from app.revisions.models import KIND_LABELS, MINOR, SIGNIFICANCE_LABELS, URGENT, URGENT_DUE_DAYS, Revision
from app.rulings.models import Inquiry
from app.wareki import now_utc, to_jst, today_jst, wareki

DUE_DAYS = 14


def ward_units(session: Session, sections: list[str]) -> list[Unit]:
    return list(session.scalars(select(Unit).where(
        Unit.kind == WARD, Unit.active.is_(True), Unit.section.in_(sections)).order_by(Unit.sort_order)))


@dataclass
class Publication:
    kind: str  # 制定 / 改正 / 廃止 / 判断事例
    title: str
    reason: str
    summary: str
    due_date: date
    owner_unit_id: int
    manual: Manual | None = None
    revision_id: int | None = None
    ruling_id: int | None = None
    number: int | None = None
    effective_date: date | None = None
    link: str = ""  # path of the page to read (新旧対照表 or the ruling)
    at: datetime | None = None  # when it was published (the notice is dated then, even if delivered late)
    significance: str = MINOR
    audience: str = ""  # app.org.targeting.Audience as JSON ("" = everyone in the section)
    campaign_id: int | None = None


def fan_out(session: Session, pub: Publication, units: list[Unit]) -> list[Notice]:
    """Notices for every target unit and the owner's copy, and their mail, in the caller's transaction."""
    status = PENDING
    if pub.manual is not None and pub.revision_id is not None and pub.number is not None:
        # A newer version supersedes the older pending notices of the same manual; a version
        # recorded late (after a newer one, by a repair) is born superseded.
        session.execute(update(Notice).where(
            Notice.manual_id == pub.manual.id, Notice.revision_id.is_not(None), Notice.status == PENDING,
            Notice.number < pub.number,
        ).values(status=SUPERSEDED).execution_options(synchronize_session=False))
        newer = session.scalar(select(Notice.id).where(
            Notice.manual_id == pub.manual.id, Notice.revision_id.is_not(None), Notice.number > pub.number).limit(1))
        if newer is not None:
            status = SUPERSEDED
    common = dict(kind=pub.kind, manual_id=pub.manual.id if pub.manual else None, revision_id=pub.revision_id,
                  ruling_id=pub.ruling_id, number=pub.number, title=pub.title, reason=pub.reason, summary=pub.summary,
                  effective_date=pub.effective_date, due_date=pub.due_date, created_at=pub.at or now_utc(),
                  significance=pub.significance, audience=pub.audience, campaign_id=pub.campaign_id)
    notices = [Notice(unit_id=u.id, owner_copy=False, status=status, **common) for u in units]
    notices.append(Notice(unit_id=pub.owner_unit_id, owner_copy=True, status=CONFIRMED, **common))
    session.add_all(notices)
    session.flush()
    reading.add_receipts(session, notices)
    if current_app.config.get("MAIL_SERVER") and status == PENDING:
        _queue_mail(session, pub, notices)
    return notices


def _queue_mail(session: Session, pub: Publication, notices: list[Notice]) -> None:
    by_unit = {n.unit_id: n for n in notices}
    # The people each notice is for, the 所属長 who confirms it, and the owner unit (its copy).
    targeted = select(Receipt.user_id).where(Receipt.notice_id.in_([n.id for n in notices]))
    owner = [n.unit_id for n in notices if n.owner_copy]
    recipients = session.execute(select(User.id, User.unit_id, User.email, User.name).where(
        User.unit_id.in_(by_unit), User.active.is_(True), User.email.is_not(None),
        User.id.in_(targeted) | (User.position == HEAD) | User.unit_id.in_(owner)))
    base = current_app.config["BASE_URL"].rstrip("/")
    domain = current_app.config["MAIL_FROM"].split("@")[-1]
    rows = []
    for user_id, unit_id, email, name in recipients:
        notice = by_unit[unit_id]
        rows.append({
            "notice_id": notice.id, "user_id": user_id, "to_addr": email,
            "subject": f"【手引】{pub.kind}通知: {pub.title}",
            "body": mail_body(pub, notice, name, base),
            "message_id": f"<notice-{notice.id}-{user_id}-{uuid.uuid4().hex[:8]}@{domain}>",
            "status": QUEUED, "attempts": 0, "next_attempt_at": now_utc(), "last_error": "", "created_at": now_utc(),
        })
    if rows:
        session.execute(insert(MailOutbox), rows)


def mail_body(pub: Publication, notice: Notice, name: str, base: str) -> str:
    lines = [f"{name} 様", "", f"{pub.title} について{pub.kind}の通知があります。", ""]
    if pub.number:
        lines.append(f"版: 第{pub.number}版")
    if pub.effective_date:
        lines.append(f"施行日: {wareki(pub.effective_date)}")
    if pub.significance != MINOR:
        lines.append(f"重要度: {SIGNIFICANCE_LABELS[pub.significance]}（各自が新旧対照表を読み「内容を確認しました」を押してください）")
    if pub.reason:
        lines.append(f"改正理由: {pub.reason}")
    if pub.summary:
        lines.append(f"概要: {pub.summary}")
    if not notice.owner_copy:
        lines.append(f"周知確認の期限: {wareki(notice.due_date)}")
    lines += ["", "内容の確認（新旧対照表）:", f"{base}/notices/{notice.id}/read", "",
              "所属長は、所属職員への周知を確認したら「周知済」の確認をしてください。", "", "-- 手引（Tebiki）"]
    return "\n".join(lines)


def announce_revision(session: Session, revision_id: int, number: int) -> list[Notice]:
    revision = session.get(Revision, revision_id)
    if revision is None:
        return []
    manual = revision.manual
    days = revision.notice_due_days
    if revision.significance == URGENT:
        days = min(days, URGENT_DUE_DAYS)
    pub = Publication(
        kind=KIND_LABELS[revision.kind], title=manual.title, reason=revision.reason, summary=revision.summary,
        due_date=to_jst(revision.published_at or now_utc()).date() + timedelta(days=days),
        significance=revision.significance, audience=revision.audience,
        owner_unit_id=manual.owner_unit_id, manual=manual, revision_id=revision.id, number=number,
        effective_date=revision.effective_date, link=f"/manuals/{manual.slug}/compare?new={number}",
        at=revision.published_at)
    return fan_out(session, pub, ward_units(session, manual.target_names))


def announce_rulings(session: Session, ruling_ids: list[int], *, amended: bool = False) -> int:
    n = 0
    for ruling in session.scalars(select(Inquiry).where(Inquiry.id.in_(ruling_ids))):
        sections = ruling.manual.target_names if ruling.manual else (
            [s for s in ruling.notice_sections.split("\n") if s] or ["総務課"])
        pub = Publication(
            kind="判断事例", title=f"{ruling.number} {ruling.subject}" + ("（改訂）" if amended else ""),
            reason=ruling.answer[:200], summary="", due_date=today_jst() + timedelta(days=DUE_DAYS),
            owner_unit_id=ruling.owner_unit_id, manual=ruling.manual, ruling_id=ruling.id,
            link=f"/rulings/{ruling.number}", at=None if amended else ruling.published_at)
        fan_out(session, pub, ward_units(session, sections))
        n += 1
    return n


@events.consumer("manual.published", "notices")
def _on_manual_published(session: Session, data: dict[str, Any]) -> None:
    announce_revision(session, data["revision_id"], data["number"])


@events.consumer("ruling.published", "notices")
def _on_ruling_published(session: Session, data: dict[str, Any]) -> None:
    announce_rulings(session, data["ruling_ids"], amended=bool(data.get("amended")))
