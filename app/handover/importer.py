"""人事異動 import (`flask staff import FILE` and the admin upload): columns
職員番号,氏名,異動前所属,異動後所属,職,発令日. Validated as a whole (every bad row listed, nothing
applied on error), previewed, then applied: the handovers are opened at once and each account
moves to its new unit on its 発令日 (`flask staff move-due`, run daily)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app import audit
from app.errors import Conflict, ValidationError
from app.handover import services as handovers
from app.handover.models import CONFIRMED, Handover, StaffTransfer, TransferRound
from app.manuals.models import ACTIVE, Manual
from app.org.models import POSITIONS, Unit, User
from app.org.permissions import require
from app.tables import as_date, blank, read_table, text
from app.wareki import now_utc, today_jst

COLUMNS = ["職員番号", "氏名", "異動前所属", "異動後所属", "職", "発令日"]
RETIRE = ("退職", "退職等")


@dataclass
class Move:
    row: int
    user: User
    from_unit: Unit
    to_unit: Unit | None  # None: leaves (退職)
    position: str
    effective: date

    @property
    def changes_post(self) -> bool:
        return self.to_unit is None or self.to_unit.id != self.from_unit.id or self.position != self.user.position


@dataclass
class Preview:
    moves: list[Move]
    manuals_losing_manager: list[tuple[Manual, User]] = field(default_factory=list)
    handovers: list[User] = field(default_factory=list)
    effective_dates: list[date] = field(default_factory=list)


def _norm(name: str) -> str:
    return " ".join(name.replace("\u3000", " ").split())


def _pending() -> Select:
    return select(StaffTransfer).where(StaffTransfer.moved_at.is_(None), StaffTransfer.cancelled_at.is_(None))


def validate(session: Session, rows: list[dict[str, object]], *, replacing: TransferRound | None = None) -> Preview:
    """`replacing`: a round being corrected — its own pending transfers are not in the way."""
    users = {u.employee_no: u for u in session.scalars(select(User).where(User.employee_no.is_not(None)))}
    units = {u.name: u for u in session.scalars(select(Unit).where(Unit.active.is_(True)))}
    pending_q = _pending().with_only_columns(StaffTransfer.user_id)
    if replacing is not None:
        pending_q = pending_q.where(StaffTransfer.round_id != replacing.id)
    pending = set(session.scalars(pending_q))
    problems: list[str] = []
    moves: list[Move] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(rows, start=2):
        if blank(row):
            continue
        errs = []
        number = text(row["職員番号"])
        user = users.get(number)
        if not number:
            errs.append("職員番号がありません")
        elif user is None:
            errs.append(f"職員番号「{number}」の職員は登録されていません")
        elif number in seen:
            errs.append(f"職員番号「{number}」が{seen[number]}行目と重複しています")
        elif not user.active:
            errs.append(f"職員番号「{number}」の職員は退職等により無効になっています")
        elif user.id in pending:
            errs.append(f"職員番号「{number}」の職員には、まだ発令されていない異動が既に登録されています")
        seen.setdefault(number, i)
        name = _norm(text(row["氏名"]))
        if user is not None and name != _norm(user.name):
            errs.append(f"氏名「{name}」が職員番号「{number}」の職員（{user.name}）と一致しません")
        before = _norm(text(row["異動前所属"]))
        from_unit = units.get(before)
        if from_unit is None:
            errs.append(f"異動前所属「{before}」は登録されていません")
        elif user is not None and from_unit.id != user.unit_id:
            errs.append(f"異動前所属「{before}」が現在の所属（{user.unit.name}）と一致しません")
        after = _norm(text(row["異動後所属"]))
        to_unit = None
        if after not in RETIRE:
            to_unit = units.get(after)
            if to_unit is None:
                errs.append(f"異動後所属「{after}」は登録されていません（退職の場合は「退職」）")
        position = text(row["職"])
        if position not in POSITIONS:
            errs.append(f"職「{position}」は 担当・係長・課長 のいずれかにしてください")
        effective = as_date(row["発令日"])
        if effective is None:
            errs.append(f"発令日「{text(row['発令日'])}」は日付（2027-04-01、令和9年4月1日、R9.4.1 など）で書いてください"
                        "（存在しない日付は使えません）")
        if errs:
            problems += [f"{i}行目: {e}" for e in errs]
            continue
        assert user is not None and from_unit is not None and effective is not None
        move = Move(i, user, from_unit, to_unit, position, effective)
        if not move.changes_post:
            problems.append(f"{i}行目: 異動前と異動後の所属・職が同じです")
            continue
        moves.append(move)
    if problems:
        raise ValidationError(f"人事異動の取込を中止しました（{len(problems)}件の問題）。何も反映していません。",
                              details=problems)
    if not moves:
        raise ValidationError("取り込む異動がありません。")
    movers = {m.user.id: m for m in moves}
    losing = []
    for manual in session.scalars(select(Manual).where(Manual.manager_id.in_(movers), Manual.status == ACTIVE)
                                  .order_by(Manual.title)):
        move = movers[manual.manager_id]  # type: ignore[index]
        if move.to_unit is None or move.to_unit.id != manual.owner_unit_id:
            losing.append((manual, move.user))
    return Preview(moves, losing, [m.user for m in moves], sorted({m.effective for m in moves}))


def read_file(path: str | Path) -> list[dict[str, object]]:
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"ファイル「{path}」がありません。")
    return read_table(path, COLUMNS)


def apply(session: Session, actor: User | None, rows: list[dict[str, object]], *, file_name: str = "",
          name: str | None = None) -> TransferRound:
    """Open the handovers now; move the accounts whose 発令日 has come (the rest move on theirs)."""
    if actor is not None:
        require(actor, "staff.import")
    preview = validate(session, rows)
    first = preview.effective_dates[0]
    rnd = TransferRound(name=name or f"{first.isoformat()} 発令の人事異動", effective_date=first, file_name=file_name,
                        rows=len(preview.moves), created_by_id=actor.id if actor else None)
    session.add(rnd)
    session.flush()
    for move in preview.moves:
        transfer = StaffTransfer(round_id=rnd.id, user_id=move.user.id, from_unit_id=move.from_unit.id,
                                 to_unit_id=move.to_unit.id if move.to_unit else None, position=move.position,
                                 effective_date=move.effective)
        session.add(transfer)
        session.flush()
        handovers.start(session, actor or move.user, move.user, started_by="import", due=move.effective,
                        round_id=rnd.id, transfer_id=transfer.id)
    audit.record(session, actor, "staff.import", "transfer_round", rnd.id, rows=len(preview.moves), file=file_name)
    move_due(session, today_jst())
    return rnd


def move_due(session: Session, today: date) -> int:
    """On the 発令日: each account follows its transfer (new unit and position, or deactivated)."""
    moved = 0
    for transfer in session.scalars(_pending().where(StaffTransfer.effective_date <= today)
                                    .order_by(StaffTransfer.effective_date, StaffTransfer.id)):
        _move(session, transfer)
        moved += 1
    return moved


def _move(session: Session, transfer: StaffTransfer) -> None:
    user = transfer.user
    if transfer.to_unit_id is None:
        user.active = False
    else:
        user.unit_id = transfer.to_unit_id
        user.unit = transfer.to_unit  # type: ignore[assignment]
        user.position = transfer.position
    user.session_version += 1  # the next request logs in under the new post
    transfer.moved_at = now_utc()
    audit.record(session, None, "staff.move", "user", user.id, to=transfer.to_unit.name if transfer.to_unit else "退職",
                 position=transfer.position)


FOUND_ROUND = "ディレクトリ・職員名簿で見つかった異動"


def record_move(session: Session, actor: User | None, user: User, to_unit: Unit | None, position: str, *,
                source: str, today: date | None = None) -> StaffTransfer:
    """A change of post found by the directory (sync or sign-in) or the staff roster takes the same
    path as a 人事異動 row dated today: the handover of the post being left opens (filled in by the
    system), then the account moves (to_unit None: leaves, as 退職)."""
    today = today or today_jst()
    name = f"{FOUND_ROUND}（{today.isoformat()}）"
    rnd = session.scalar(select(TransferRound).where(TransferRound.name == name))
    if rnd is None:
        rnd = TransferRound(name=name, effective_date=today, file_name=source, rows=0,
                            created_by_id=actor.id if actor else None)
        session.add(rnd)
        session.flush()
    rnd.rows += 1
    transfer = StaffTransfer(round_id=rnd.id, user_id=user.id, from_unit_id=user.unit_id,
                             to_unit_id=to_unit.id if to_unit else None, position=position, effective_date=today)
    session.add(transfer)
    session.flush()
    handovers.start(session, actor or user, user, started_by="import", due=today, round_id=rnd.id,
                    transfer_id=transfer.id)
    _move(session, transfer)
    audit.record(session, actor, "staff.found_move", "user", user.id, source=source,
                 to=to_unit.name if to_unit else "退職", position=position)
    return transfer


def summary(preview: Preview) -> dict[str, int]:
    by_kind: dict[str, int] = defaultdict(int)
    for m in preview.moves:
        by_kind["退職" if m.to_unit is None else ("所属内" if m.to_unit.id == m.from_unit.id else "転出")] += 1
    return {"異動者": len(preview.moves), "管理担当者が不在になるマニュアル": len(preview.manuals_losing_manager),
            "作成する事務引継書": len(preview.handovers), **by_kind}



# --- correcting and cancelling a registered round (before its 発令日) ------------------------------------


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
        raise Conflict(f"{transfer.user.name}さんは発令日（{transfer.effective_date.isoformat()}）を過ぎて既に所属を移したため、"
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
                       details=[f"{t.user.name}（{t.effective_date.isoformat()} 発令）" for t in moved[:20]])
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


def incoming(session: Session, unit_id: int, round_id: int | None) -> list[User]:
    """People moving into the unit by a pending transfer (of the same round when one is given): they
    can be chosen as 後任者 before they arrive."""
    stmt = _pending().where(StaffTransfer.to_unit_id == unit_id)
    if round_id:
        stmt = stmt.where(StaffTransfer.round_id == round_id)
    return [t.user for t in session.scalars(stmt.order_by(StaffTransfer.id)) if t.user.active]
