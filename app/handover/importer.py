"""人事異動 import (`flask staff import FILE` and the admin upload): columns
職員番号,氏名,異動前所属,異動後所属,職,発令日. Validated as a whole (every bad row listed, nothing
applied on error), previewed, then applied: the handovers are opened at once and each account
moves to its new unit on its 発令日 (`flask staff move-due`, run daily)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import audit, guard
from app.errors import Conflict, ValidationError
from app.handover import handovers, transfers
from app.handover.models import (
    StaffTransfer,
    TransferRound,
)
from app.manuals.models import ACTIVE, Manual
from app.org.models import POSITIONS, Unit, User
from app.org.permissions import require
from app.tables import as_date, blank, read_table, text
from app.wareki import now_utc, today_jst, wareki

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


def validate(session: Session, rows: list[dict[str, object]], *, replacing: TransferRound | None = None) -> Preview:
    """`replacing`: a round being corrected — its own pending transfers are not in the way."""
    users = {u.employee_no: u for u in session.scalars(select(User).where(User.employee_no.is_not(None)))}
    units = {u.name: u for u in session.scalars(select(Unit).where(Unit.active.is_(True)))}
    pending_q = transfers.pending().with_only_columns(StaffTransfer.user_id)
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
                                  .order_by(Manual.title_kana, Manual.title)):
        move = movers[manual.manager_id]  # type: ignore[index]
        if move.to_unit is None or move.to_unit.id != manual.owner_unit_id:
            losing.append((manual, move.user))
    return Preview(moves, losing, [m.user for m in moves], sorted({m.effective for m in moves}))


def read_file(path: str | Path) -> list[dict[str, object]]:
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"ファイル「{path}」がありません。")
    return read_table(path, COLUMNS)


def refuse_if_applied(session: Session, token: str) -> None:
    if session.scalar(select(TransferRound.id).where(TransferRound.upload_token == token)) is not None:
        raise Conflict("この人事異動ファイルはすでに反映されています。")


def apply(session: Session, actor: User | None, rows: list[dict[str, object]], *, file_name: str = "",
          name: str | None = None, token: str | None = None) -> TransferRound:
    """Open the handovers now; move the accounts whose 発令日 has come (the rest move on theirs).
    `token` names the upload: the round is inserted first under it (unique), so of two applies of
    the same upload at once the second waits for the first and is then refused."""
    if actor is not None:
        require(actor, "staff.import")
    if token is not None:
        refuse_if_applied(session, token)
    try:
        preview = validate(session, rows)
    except ValidationError:
        # Another request may have applied this upload after the check above (PostgreSQL reads each
        # statement afresh): its transfers then look like problems of this file. Say what happened.
        if token is not None:
            refuse_if_applied(session, token)
        raise
    first = preview.effective_dates[0]
    rnd = TransferRound(name=name or f"{wareki(first, with_seireki=False)} 発令の人事異動", effective_date=first, file_name=file_name,
                        rows=len(preview.moves), created_by_id=actor.id if actor else None, upload_token=token)
    session.add(rnd)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict("この人事異動ファイルはすでに反映されています。") from None
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
    """On the 発令日: each account follows its transfer (new unit and position, or deactivated). Safe
    on every host at once: each transfer is claimed by a guarded write (moved_at still empty), so an
    account moves once and is recorded once."""
    moved = 0
    for transfer in list(session.scalars(transfers.pending().where(StaffTransfer.effective_date <= today)
                                         .order_by(StaffTransfer.effective_date, StaffTransfer.id))):
        try:
            _move(session, transfer)
        except Conflict:
            continue  # another host moved it a moment ago
        moved += 1
    return moved


def _move(session: Session, transfer: StaffTransfer) -> None:
    guard.transition(session, transfer, StaffTransfer.moved_at.is_(None), "この異動はすでに発令済みです。",
                     moved_at=now_utc())
    user = transfer.user
    if transfer.to_unit_id is None:
        user.active = False
    else:
        user.unit_id = transfer.to_unit_id
        user.unit = transfer.to_unit  # type: ignore[assignment]
        user.position = transfer.position
    user.session_version += 1  # the next request logs in under the new post
    audit.record(session, None, "staff.move", "user", user.id, to=transfer.to_unit.name if transfer.to_unit else "退職",
                 position=transfer.position)


FOUND_ROUND = "ディレクトリ・職員名簿で見つかった異動"


def record_move(session: Session, actor: User | None, user: User, to_unit: Unit | None, position: str, *,
                source: str, today: date | None = None) -> StaffTransfer:
    """A change of post found by the directory (sync or sign-in) or the staff roster takes the same
    path as a 人事異動 row dated today: the handover of the post being left opens (filled in by the
    system), then the account moves (to_unit None: leaves, as 退職)."""
    today = today or today_jst()
    name = f"{FOUND_ROUND}（{wareki(today, with_seireki=False)}）"
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
