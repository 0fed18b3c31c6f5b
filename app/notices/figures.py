"""Figures for 本庁: per publication the matrix of ward offices × sections, and the owner unit's
recent publications with their confirmation progress."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.notices.inbox import is_overdue, publication_of
from app.notices.models import CONFIRMED, PENDING, SUPERSEDED, Notice, Receipt
from app.org.models import User
from app.org.permissions import require
from app.org.services import ward_offices
from app.wareki import to_jst, today_jst

STATUS_LABELS = {"unread": "未読", "read": "既読のみ", "confirmed": "周知済", "overdue": "期限超過",
                 "superseded": "失効（新しい改正あり）"}


@dataclass
class Cell:
    """One section: its 周知 state, and how many of the people it is for reached each step."""

    notice: Notice
    readers: int
    members: int
    acknowledged: int = 0
    passed: int = 0

    @property
    def people(self) -> dict[str, int]:
        """未読 / 既読 / 確認済 / 理解度確認済, each person counted once at the step they reached."""
        return {"unread": self.members - self.readers, "read": self.readers - self.acknowledged,
                "acknowledged": self.acknowledged - self.passed, "passed": self.passed}

    @property
    def state(self) -> str:
        if self.notice.status == CONFIRMED:
            return "confirmed"
        if self.notice.status == SUPERSEDED:
            return "superseded"
        if is_overdue(self.notice):
            return "overdue"
        return "read" if self.readers else "unread"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.state]


@dataclass
class Matrix:
    offices: list[str]
    sections: list[str]
    cells: dict[tuple[str, str], Cell]
    notices: list[Notice]

    def totals(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for cell in self.cells.values():
            counts[cell.state] += 1
        return dict(counts)


def publication_notices(session: Session, *, revision_id: int | None = None, ruling_id: int | None = None,
                        campaign_id: int | None = None) -> list[Notice]:
    return list(session.scalars(select(Notice).where(publication_of(revision_id, ruling_id, campaign_id))
                                .order_by(Notice.id)))


def matrix(session: Session, user: User, *, revision_id: int | None = None, ruling_id: int | None = None,
           campaign_id: int | None = None) -> Matrix:
    notices = publication_notices(session, revision_id=revision_id, ruling_id=ruling_id, campaign_id=campaign_id)
    if not notices:
        raise NotFound("この公布の通知はありません。")
    owner_copy = next(n for n in notices if n.owner_copy)  # every publication has the owner unit's copy
    require(user, "notice.figures", owner_copy.unit_id)
    ward = [n for n in notices if not n.owner_copy]
    ids = [n.id for n in ward]
    # One grouped query over the receipts, whatever the number of people.
    counts = {row[0]: row[1:] for row in session.execute(
        select(Receipt.notice_id, func.count(Receipt.id), func.count(Receipt.read_at), func.count(Receipt.acknowledged_at),
               func.count(Receipt.passed_at)).join(User, User.id == Receipt.user_id)
        .where(Receipt.notice_id.in_(ids), User.active.is_(True)).group_by(Receipt.notice_id))}  # who left: not counted
    cells = {}
    for n in ward:
        members, readers, acknowledged, passed = counts.get(n.id, (0, 0, 0, 0))
        cells[(n.unit.group_name, n.unit.section)] = Cell(n, readers, members, acknowledged, passed)
    sections = list(dict.fromkeys(n.unit.section for n in ward))
    return Matrix(ward_offices(session), sections, cells, notices)


def matrix_rows(m: Matrix) -> list[list[object]]:
    """The matrix as rows for CSV / Excel: one row per ward office × section."""
    rows: list[list[object]] = [["区役所・総合支所", "課", "状態", "既読人数", "対象者数", "確認者", "確認日時", "期限",
                                 "未読", "既読", "確認済", "理解度確認済"]]
    for office in m.offices:
        for section in m.sections:
            cell = m.cells.get((office, section))
            if cell is None:
                continue
            n = cell.notice
            rows.append([office, section, cell.label, cell.readers, cell.members, n.confirmed_by_name,
                         to_jst(n.confirmed_at).strftime("%Y-%m-%d %H:%M") if n.confirmed_at else "",
                         n.due_date.isoformat() if n.due_date else "", *cell.people.values()])
    return rows


def sent_publications(session: Session, user: User, limit: int = 50) -> list[tuple[Notice, dict[str, int]]]:
    """The owner unit's recent publications with confirmation progress (three queries, whatever the
    number of publications)."""
    copies = list(session.scalars(select(Notice).where(Notice.owner_copy.is_(True), Notice.unit_id == user.unit_id)
                                  .order_by(Notice.created_at.desc()).limit(limit)))
    revision_ids = [c.revision_id for c in copies if c.revision_id]
    ruling_ids = [c.ruling_id for c in copies if c.ruling_id and not c.revision_id]
    campaign_ids = [c.campaign_id for c in copies if c.campaign_id]
    mine = Notice.owner_copy.is_(False) & (Notice.revision_id.in_(revision_ids) | Notice.campaign_id.in_(campaign_ids) | (
        Notice.revision_id.is_(None) & Notice.ruling_id.in_(ruling_ids)))
    key = (Notice.revision_id, Notice.ruling_id, Notice.campaign_id)
    counts: dict[tuple[int | None, int | None, int | None], dict[str, int]] = defaultdict(dict)

    def of(revision_id: int | None, ruling_id: int | None, campaign_id: int | None) -> tuple:
        return (revision_id, None if revision_id else ruling_id, campaign_id)

    for revision_id, ruling_id, campaign_id, status, n in session.execute(
            select(*key, Notice.status, func.count(Notice.id)).where(mine).group_by(*key, Notice.status)):
        counts[of(revision_id, ruling_id, campaign_id)][status] = n
    for revision_id, ruling_id, campaign_id, n in session.execute(
            select(*key, func.count(Notice.id)).where(mine, Notice.status == PENDING, Notice.due_date < today_jst())
            .group_by(*key)):
        counts[of(revision_id, ruling_id, campaign_id)]["overdue"] = n
    return [(c, {"overdue": 0, **counts.get(of(c.revision_id, c.ruling_id, c.campaign_id), {})}) for c in copies]
