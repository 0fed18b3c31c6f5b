"""理解度確認: the approved questions of a notice's revision, answered by the people it is for after
they confirmed the content; every attempt is kept, a wrong answer shows its explanation, retry until
every answer is right (then the receipt is passed)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import audit
from app.errors import Conflict, ValidationError
from app.notices.models import Answer, Campaign, Notice
from app.notices.reading import own_receipt
from app.org.models import User
from app.revisions.models import Question
from app.wareki import now_utc


def question_revision(session: Session, notice: Notice) -> int | None:
    """The revision whose questions a notice asks: its own, or (a campaign) the version's."""
    if notice.revision_id:
        return notice.revision_id
    if notice.campaign_id:
        return session.scalar(select(Campaign.revision_id).where(Campaign.id == notice.campaign_id))
    return None


def questions_for(session: Session, notice: Notice) -> list[Question]:
    revision_id = question_revision(session, notice)
    if revision_id is None or not notice.needs_acknowledgement:
        return []
    return list(session.scalars(select(Question).where(Question.revision_id == revision_id).order_by(Question.order)))


@dataclass
class Marked:
    question: Question
    choice: int | None
    correct: bool


def last_attempt(session: Session, user: User, notice: Notice) -> list[Marked]:
    """The person's latest attempt, question by question (empty before the first)."""
    attempt = session.scalar(select(func.max(Answer.attempt)).where(Answer.notice_id == notice.id,
                                                                     Answer.user_id == user.id))
    if not attempt:
        return []
    answers = {a.question_id: a for a in session.scalars(select(Answer).where(
        Answer.notice_id == notice.id, Answer.user_id == user.id, Answer.attempt == attempt))}
    out = []
    for q in questions_for(session, notice):
        a = answers.get(q.id)
        out.append(Marked(q, a.choice if a else None, bool(a and a.correct)))
    return out


def answer(session: Session, user: User, notice: Notice, choices: dict[int, int | None],
           after: int | None = None) -> list[Marked]:
    """One attempt at every question (choices: question id → chosen index). `after` is the number of
    attempts the form was shown after: a form sent twice (a double click) counts once."""
    receipt = own_receipt(session, user, notice, "理解度確認の回答")
    # One attempt at a time per person: the receipt's row is locked and read afresh (PostgreSQL;
    # SQLite serialises writers already), so a double click on two servers is two attempts in turn —
    # the second sees the first (and is told when it passed) — never two answer sets under one number.
    session.refresh(receipt, with_for_update=True)
    questions = questions_for(session, notice)
    if not questions:
        raise ValidationError("この通知には理解度確認の設問はありません。")
    if receipt.acknowledged_at is None:
        raise ValidationError("新旧対照表を読んで「内容を確認しました」を押してから回答してください。")
    if receipt.passed_at is not None:
        raise ValidationError("理解度確認はすでに全問正解で完了しています。")
    if after is not None and after != receipt.attempts:
        raise Conflict("この回答はすでに受け付けています（同じ画面から二度送信されました）。"
                       "下の結果を確かめてから、必要ならもう一度回答してください。")
    missing = [i + 1 for i, q in enumerate(questions) if choices.get(q.id) is None]
    if missing:
        raise ValidationError("すべての設問に回答してください（未回答: " + "、".join(f"問{n}" for n in missing) + "）。")
    receipt.attempts += 1
    marked = []
    now = now_utc()
    for q in questions:
        choice = choices[q.id]
        if choice is None or not 0 <= choice < len(q.choice_list):
            raise ValidationError("選択肢の指定に誤りがあります。画面を読み込み直してください。")
        ok = choice == q.correct
        session.add(Answer(notice_id=notice.id, user_id=user.id, question_id=q.id, attempt=receipt.attempts,
                           choice=choice, correct=ok, at=now))
        marked.append(Marked(q, choice, ok))
    if all(m.correct for m in marked):
        receipt.passed_at = now
        audit.record(session, user, "notice.passed", "notice", notice.id, attempts=receipt.attempts)
    return marked
