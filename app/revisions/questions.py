"""Significance, audience and 理解度確認 questions of a revision (issue 17): drafted in the editor,
shown to every reviewer, frozen once the revision leaves the editable states, published with it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.markdown import split_sections
from app.org.targeting import Audience
from app.revisions.models import MAX_QUESTIONS, MINOR, SIGNIFICANCE_LABELS, Question, Revision


@dataclass
class QuestionDraft:
    prompt: str
    choices: list[str]
    correct: int | None  # index from 0
    explanation: str
    anchor: str = ""


@dataclass
class Understanding:
    """What the editor submits besides the text."""

    significance: str = MINOR
    audience: Audience = field(default_factory=Audience)
    questions: list[QuestionDraft] = field(default_factory=list)


def from_form(form: Any) -> Understanding:
    """The editor's fields: significance, audience_*, and q{n}_prompt / q{n}_choices (a line each) /
    q{n}_correct (1-based) / q{n}_explanation / q{n}_anchor for n = 1..5; a question left blank is none."""
    drafts = []
    for n in range(1, MAX_QUESTIONS + 1):
        prompt = (form.get(f"q{n}_prompt") or "").strip()
        choices = [c.strip() for c in (form.get(f"q{n}_choices") or "").replace("\r\n", "\n").split("\n") if c.strip()]
        if not prompt and not choices:
            continue
        raw = (form.get(f"q{n}_correct") or "").strip()
        correct = int(raw) - 1 if raw.isdigit() else None
        drafts.append(QuestionDraft(prompt, choices, correct, (form.get(f"q{n}_explanation") or "").strip(),
                                    (form.get(f"q{n}_anchor") or "").strip()))
    return Understanding(form.get("significance") or MINOR, Audience.from_form(form), drafts)


def problems(u: Understanding, body: str) -> list[str]:
    out = []
    if u.significance not in SIGNIFICANCE_LABELS:
        out.append("重要度は 軽微・重要・緊急 のいずれかを選んでください。")
    if u.questions and u.significance == MINOR:
        out.append("理解度確認の設問は、重要度が「重要」または「緊急」の改正に付けます。")
    anchors = {s.anchor for s in split_sections(body) if s.anchor}
    for i, q in enumerate(u.questions, start=1):
        if not q.prompt or len(q.prompt) > 500:
            out.append(f"問{i}: 設問文を500文字以内で入力してください。")
        if not 2 <= len(q.choices) <= 6 or any(len(c) > 200 for c in q.choices):
            out.append(f"問{i}: 選択肢は1行に1つ、2〜6個（各200文字以内）入力してください。")
        if q.correct is None or not 0 <= q.correct < len(q.choices):
            out.append(f"問{i}: 正解の選択肢を番号（1〜{max(len(q.choices), 2)}）で指定してください。")
        if not q.explanation or len(q.explanation) > 2000:
            out.append(f"問{i}: 解説（誤答した人に表示します）を2000文字以内で入力してください。")
        if not q.anchor:
            out.append(f"問{i}: 解説が引用する本文の節を選んでください。")
        elif q.anchor not in anchors:
            out.append(f"問{i}: 引用する節「{q.anchor}」が本文にありません。節を選び直してください。")
    return out


def apply(session: Session, revision: Revision, u: Understanding, body: str) -> bool:
    """Store them on the revision (the caller checked the state); True if anything changed."""
    before = snapshot(session, revision)
    headings = {s.anchor: s.heading for s in split_sections(body) if s.anchor}
    revision.significance = u.significance
    revision.audience = "" if u.audience.everyone else json.dumps(u.audience.to_dict(), ensure_ascii=False)
    session.execute(delete(Question).where(Question.revision_id == revision.id))
    for i, q in enumerate(u.questions):
        session.add(Question(revision_id=revision.id, order=i, prompt=q.prompt, choices="\n".join(q.choices),
                             correct=q.correct or 0, explanation=q.explanation, anchor=q.anchor,
                             heading=headings.get(q.anchor, "")))
    session.flush()
    return snapshot(session, revision) != before


def snapshot(session: Session, revision: Revision) -> tuple:
    return (revision.significance, revision.audience, tuple(
        (q.prompt, q.choices, q.correct, q.explanation, q.anchor) for q in questions_of(session, revision)))


def questions_of(session: Session, revision: Revision) -> list[Question]:
    return list(session.scalars(select(Question).where(Question.revision_id == revision.id).order_by(Question.order)))


def audience_of(revision: Revision) -> Audience:
    return Audience.from_dict(json.loads(revision.audience) if revision.audience else None)


def describe(session: Session, revision: Revision) -> str:
    """For the 決裁 record: what the approvers approve besides the text."""
    n = len(questions_of(session, revision))
    return f"重要度: {revision.significance_label}・対象者: {audience_of(revision).label()}" + (
        f"・理解度確認 {n}問" if n else "")


def ready_problems(session: Session, revision: Revision, body: str) -> list[str]:
    """Checked again before 決裁 (the body may have lost a cited section since)."""
    qs = questions_of(session, revision)
    u = Understanding(revision.significance, audience_of(revision), [
        QuestionDraft(q.prompt, q.choice_list, q.correct, q.explanation, q.anchor) for q in qs])
    return problems(u, body)
