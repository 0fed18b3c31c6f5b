"""Correcting or cancelling a registered 人事異動 round before its 発令日, with the handovers it
opened."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit
from app.errors import Conflict, ValidationError
from app.handover import handovers
from app.handover.importer import Move, Preview, move_due, validate
from app.handover.models import (
    CONFIRMED,
    Handover,
    StaffTransfer,
    TransferRound,
)
from app.org.models import User
from app.org.permissions import require
from app.tables import blank, text
from app.wareki import now_utc, today_jst, wareki


def transfers_of(session: Session, rnd: TransferRound) -> list[StaffTransfer]:
    return list(session.scalars(select(StaffTransfer).where(StaffTransfer.round_id == rnd.id)
                                .order_by(StaffTransfer.id)))


def _drop_handovers(session: Session, transfer: StaffTransfer) -> tuple[int, int]:
    """The handovers a withdrawn transfer opened: removed unless the 所属長 already confirmed them
    (a confirmed one is a record of what was handed over and stays). Returns (removed, kept)."""
    removed = kept = 0
    for handover in session.scalars(select(Handover).where(Handover.transfer_id == transfer.id)):
        if handover.status == CONFIRMED:
            kept += 1
            continue
        audit.record(session, None, "handover.cancel", "handover", handover.id, person=handover.user.login,
                     status=handover.status, round=transfer.round_id)
        session.delete(handover)
        removed += 1
    return removed, kept


def cancel_transfer(session: Session, actor: User, transfer: StaffTransfer, *, reason: str = "") -> tuple[int, int]:
    """Withdraw one person's move before it happened, with the handover it opened."""
    require(actor, "staff.import")
    if transfer.cancelled_at is not None:
        raise Conflict(f"{transfer.user.name}さんの異動は既に取り消されています。")
    if transfer.moved_at is not None:
        raise Conflict(f"{transfer.user.name}さんは発令日（{wareki(transfer.effective_date)}）を過ぎて既に所属を移したため、"
                       "取り消せません。職員の編集画面で所属を戻してください。")
    transfer.cancelled_at = now_utc()
    result = _drop_handovers(session, transfer)
    rnd = session.get(TransferRound, transfer.round_id)
    if rnd is not None:
        rnd.rows = max(0, rnd.rows - 1)
    audit.record(session, actor, "staff.cancel", "user", transfer.user_id, round=transfer.round_id,
                 to=transfer.to_unit.name if transfer.to_unit else "退職", reason=reason.strip())
    return result


def cancel_round(session: Session, actor: User, rnd: TransferRound, *, reason: str = "") -> tuple[int, int, int]:
    """Withdraw a whole 内示 before its 発令日. Returns (transfers, handovers removed, confirmed kept)."""
    require(actor, "staff.import")
    if rnd.cancelled_at is not None:
        raise Conflict("この人事異動は既に取り消されています。")
    live = [t for t in transfers_of(session, rnd) if t.cancelled_at is None]
    moved = [t for t in live if t.moved_at is not None]
    if moved:
        raise Conflict(f"発令日を過ぎて既に所属を移した職員が{len(moved)}人いるため、まとめて取り消せません。"
                       "まだ発令されていない行を1人ずつ取り消してください。",
                       details=[f"{t.user.name}（{wareki(t.effective_date, with_seireki=False)} 発令）" for t in moved[:20]])
    removed = kept = 0
    for transfer in live:
        r, k = cancel_transfer(session, actor, transfer, reason=reason)
        removed, kept = removed + r, kept + k
    rnd.cancelled_at = now_utc()
    audit.record(session, actor, "staff.cancel_round", "transfer_round", rnd.id, transfers=len(live), reason=reason.strip())
    return len(live), removed, kept


@dataclass
class Correction:
    """What a corrected 内示 file changes in a registered round."""

    round: TransferRound
    preview: Preview
    added: list[Move] = field(default_factory=list)
    changed: list[tuple[StaffTransfer, Move]] = field(default_factory=list)
    removed: list[StaffTransfer] = field(default_factory=list)
    unchanged: list[StaffTransfer] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"追加": len(self.added), "変更": len(self.changed), "取消": len(self.removed),
                "変更なし": len(self.unchanged)}


def _same(transfer: StaffTransfer, move: Move) -> bool:
    return ((transfer.to_unit_id or None) == (move.to_unit.id if move.to_unit else None)
            and transfer.position == move.position and transfer.effective_date == move.effective)


def plan_correction(session: Session, rnd: TransferRound, rows: list[dict[str, object]]) -> Correction:
    """Compare a corrected file with the round: every row checked as on import; moves already made
    must stay as they were."""
    if rnd.cancelled_at is not None:
        raise Conflict("取り消された人事異動は訂正できません。新しく取り込んでください。")
    current = {t.user_id: t for t in transfers_of(session, rnd) if t.cancelled_at is None}
    moved_rows = {uid: t for uid, t in current.items() if t.moved_at is not None}
    # People already moved by this round are in their new unit now: their rows are not checked again.
    moved_numbers = {t.user.employee_no or "" for t in moved_rows.values()}
    checked = [(i, r) for i, r in enumerate(rows, start=2) if not blank(r) and text(r.get("職員番号")) not in moved_numbers]
    checkable = [r for _, r in checked]
    problems: list[str] = []
    moves: list[Move] = []
    if checkable:
        try:
            moves = validate(session, checkable, replacing=rnd).moves
        except ValidationError as err:
            if err.details:
                problems += err.details
            elif err.message != "取り込む異動がありません。":
                problems.append(err.message)
    # Row numbers of validate() count only the checked rows: map them back to the file's rows.
    numbers = [i for i, _ in checked]
    for move in moves:
        move.row = numbers[move.row - 2]
    problems = [_renumber(p, numbers) for p in problems]
    listed = {text(r.get("職員番号")) for r in rows if not blank(r)}
    for t in moved_rows.values():
        if (t.user.employee_no or "") not in listed:
            problems.append(f"{t.user.name}さん（{t.user.employee_no}）は既に発令済みのため、訂正ファイルから外せません")
    if problems:
        raise ValidationError(f"訂正を中止しました（{len(problems)}件の問題）。何も変更していません。", details=problems)
    correction = Correction(rnd, Preview(moves))
    by_user = {m.user.id: m for m in moves}
    for uid, t in current.items():
        if t.moved_at is not None:
            correction.unchanged.append(t)
        elif uid not in by_user:
            correction.removed.append(t)
        elif _same(t, by_user[uid]):
            correction.unchanged.append(t)
        else:
            correction.changed.append((t, by_user[uid]))
    correction.added = [m for uid, m in by_user.items() if uid not in current]
    if not (correction.added or correction.changed or correction.removed):
        raise ValidationError("訂正ファイルの内容は登録済みの人事異動と同じです。変更はありません。")
    return correction


def _renumber(problem: str, numbers: list[int]) -> str:
    head, sep, rest = problem.partition("行目: ")
    if sep and head.isdigit() and 2 <= int(head) < len(numbers) + 2:
        return f"{numbers[int(head) - 2]}行目: {rest}"
    return problem


def apply_correction(session: Session, actor: User, rnd: TransferRound, rows: list[dict[str, object]], *,
                     file_name: str = "") -> Correction:
    """Replace the round's pending moves by the corrected file: new rows open their handovers,
    changed rows keep theirs (due on the new 発令日), withdrawn rows lose theirs."""
    require(actor, "staff.import")
    correction = plan_correction(session, rnd, rows)
    for transfer in correction.removed:
        cancel_transfer(session, actor, transfer, reason="訂正ファイルにない")
    for transfer, move in correction.changed:
        transfer.to_unit_id = move.to_unit.id if move.to_unit else None
        transfer.to_unit = move.to_unit
        transfer.position, transfer.effective_date = move.position, move.effective
        for handover in session.scalars(select(Handover).where(Handover.transfer_id == transfer.id)):
            handover.due_date = move.effective
        audit.record(session, actor, "staff.correct", "user", transfer.user_id, round=rnd.id,
                     to=move.to_unit.name if move.to_unit else "退職", position=move.position,
                     effective=move.effective.isoformat())
    for move in correction.added:
        transfer = StaffTransfer(round_id=rnd.id, user_id=move.user.id, from_unit_id=move.from_unit.id,
                                 to_unit_id=move.to_unit.id if move.to_unit else None, position=move.position,
                                 effective_date=move.effective)
        session.add(transfer)
        session.flush()
        handovers.start(session, actor, move.user, started_by="import", due=move.effective, round_id=rnd.id,
                        transfer_id=transfer.id)
        rnd.rows += 1
    live = [t for t in transfers_of(session, rnd) if t.cancelled_at is None]
    if live:
        rnd.effective_date = min(t.effective_date for t in live)
    rnd.corrected_at = now_utc()
    if file_name:
        rnd.file_name = file_name[:200]
    audit.record(session, actor, "staff.correct_round", "transfer_round", rnd.id, file=file_name, **correction.counts())
    move_due(session, today_jst())
    return correction
