"""理解度確認 figures for 本庁: first-attempt results per question, ward office and section, and the
改善 candidates — a question most ward offices get wrong marks a passage that needs rewriting.

Only first attempts count: a retry after reading the explanation says nothing about the text."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.manuals.models import Manual
from app.notices import quiz, reading
from app.notices.models import Answer, Notice
from app.org.models import Unit
from app.revisions.models import Question, Revision

CORRECT = func.sum(case((Answer.correct.is_(True), 1), else_=0))


def mostly_wrong(answered: int, correct: int) -> bool:
    """A ward office gets a question wrong when half or more of its people missed it at first."""
    return answered > 0 and (answered - correct) * 2 >= answered


def is_candidate(offices: dict[str, tuple[int, int]]) -> bool:
    """Most ward offices that answered got it wrong."""
    wrong = sum(1 for a, c in offices.values() if mostly_wrong(a, c))
    return bool(offices) and wrong * 2 > len(offices)


@dataclass
class QuestionResult:
    question: Question
    by_office: dict[str, tuple[int, int]] = field(default_factory=dict)  # office → (answered, correct)
    by_section: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)

    @property
    def answered(self) -> int:
        return sum(a for a, _ in self.by_office.values())

    @property
    def correct(self) -> int:
        return sum(c for _, c in self.by_office.values())

    @property
    def rate(self) -> float | None:
        return self.correct / self.answered if self.answered else None

    @property
    def wards_wrong(self) -> int:
        return sum(1 for a, c in self.by_office.values() if mostly_wrong(a, c))

    @property
    def candidate(self) -> bool:
        return is_candidate(self.by_office)


@dataclass
class Results:
    questions: list[QuestionResult]


def results(session: Session, notices: list[Notice]) -> Results:
    ward = [n for n in notices if not n.owner_copy]
    questions = quiz.questions_for(session, ward[0]) if ward else []
    found = {q.id: QuestionResult(q) for q in questions}
    if not found:
        return Results([])
    per: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for qid, office, section, answered, correct in session.execute(
            select(Answer.question_id, Unit.group_name, Unit.section, func.count(Answer.id), CORRECT)
            .join(Notice, Notice.id == Answer.notice_id).join(Unit, Unit.id == Notice.unit_id)
            .where(Answer.notice_id.in_([n.id for n in ward]), Answer.attempt == 1)
            .group_by(Answer.question_id, Unit.group_name, Unit.section)):
        r = found.get(qid)
        if r is None:
            continue
        r.by_section[(office, section)] = (answered, int(correct or 0))
        per[qid][office][0] += answered
        per[qid][office][1] += int(correct or 0)
    for qid, offices in per.items():
        found[qid].by_office = {o: (a, c) for o, (a, c) in offices.items()}
    return Results(list(found.values()))


def result_rows(res: Results) -> list[list[object]]:
    rows: list[list[object]] = [["理解度確認（初回の回答）", "区役所・総合支所", "課", "回答者数", "初回正答数", "初回正答率"]]
    for i, r in enumerate(res.questions, start=1):
        for (office, section), (a, c) in sorted(r.by_section.items()):
            rows.append([f"問{i} {r.question.prompt}", office, section, a, c, f"{c / a:.0%}" if a else ""])
    return rows


def people_rows(session: Session, notices: list[Notice]) -> list[list[object]]:
    """Every person the notices are for, with the step they reached (for the .xlsx export)."""
    rows: list[list[object]] = [["区役所・総合支所", "課", "氏名", "職", "状態", "既読", "確認", "理解度確認", "回答回数"]]
    for n in notices:
        if n.owner_copy:
            continue
        for u, r in reading.people(session, n):
            rows.append([n.unit.group_name, n.unit.section, u.name, u.position, reading.PERSON_LABELS[reading.person_state(r)],
                         *(t.strftime("%Y-%m-%d %H:%M") if t else "" for t in (r.read_at, r.acknowledged_at, r.passed_at)),
                         r.attempts])
    return rows


@dataclass
class Candidate:
    title: str
    slug: str
    number: int | None
    prompt: str
    heading: str
    anchor: str
    rate: float
    wards_wrong: int
    wards: int


def candidates(session: Session, owner_unit_id: int | None) -> list[Candidate]:
    """Questions most ward offices got wrong at first, for the 改善 list beside the zero-result searches."""
    stmt = (select(Answer.question_id, Unit.group_name, func.count(Answer.id), CORRECT)
            .join(Notice, Notice.id == Answer.notice_id).join(Unit, Unit.id == Notice.unit_id)
            .join(Question, Question.id == Answer.question_id).join(Revision, Revision.id == Question.revision_id)
            .join(Manual, Manual.id == Revision.manual_id).where(Answer.attempt == 1)
            .group_by(Answer.question_id, Unit.group_name))
    if owner_unit_id is not None:
        stmt = stmt.where(Manual.owner_unit_id == owner_unit_id)
    per: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)
    for qid, office, answered, correct in session.execute(stmt):
        per[qid][office] = (answered, int(correct or 0))
    flagged = [qid for qid, offices in per.items() if is_candidate(offices)]
    out = []
    for q, revision in session.execute(select(Question, Revision).join(Revision, Revision.id == Question.revision_id)
                                       .where(Question.id.in_(flagged))):
        offices = per[q.id]
        answered = sum(a for a, _ in offices.values())
        out.append(Candidate(revision.manual.title, revision.manual.slug, revision.number, q.prompt, q.heading, q.anchor,
                             sum(c for _, c in offices.values()) / answered,
                             sum(1 for a, c in offices.values() if mostly_wrong(a, c)), len(offices)))
    return sorted(out, key=lambda c: c.rate)
