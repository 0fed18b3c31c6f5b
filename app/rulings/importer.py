"""`flask rulings import FILE` (.csv UTF-8 with or without BOM, or .xlsx): published rulings.
All or nothing; every bad row is reported with its row number (the header is row 1)."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit, events
from app.errors import ValidationError
from app.manuals.models import Manual
from app.org.models import WARD, Unit, User
from app.rulings.models import ANSWERED, QUESTION, Inquiry
from app.rulings.numbering import advance_counters
from app.tables import as_date, blank, read_table, text
from app.wareki import now_utc

COLUMNS = ["番号", "件名", "照会内容", "回答", "根拠", "照会元", "照会日", "回答日", "関連マニュアル", "タグ"]
NUMBER_RE = re.compile(r"^R\d{4}-\d{3,5}$")
DEFAULT_OWNER = "総務局 コンプライアンス推進担当"


def read_rows(path: Path) -> list[dict[str, object]]:
    return read_table(path, COLUMNS)


def import_rulings(session: Session, rows: list[dict[str, object]], *, owner_name: str = DEFAULT_OWNER,
                   as_user: User | None = None) -> list[Inquiry]:
    units = {u.name: u for u in session.scalars(select(Unit).where(Unit.kind == WARD))}
    offices: dict[str, list[Unit]] = {}
    for ward_unit in units.values():
        offices.setdefault(ward_unit.group_name, []).append(ward_unit)
    manuals = {m.slug: m for m in session.scalars(select(Manual))}
    existing = set(session.scalars(select(Inquiry.number).where(Inquiry.number.is_not(None))))
    default_owner = session.scalar(select(Unit).where(Unit.name == owner_name))
    problems: list[str] = []
    seen: dict[str, int] = {}
    rulings: list[Inquiry] = []
    for i, row in enumerate(rows, start=2):
        if blank(row):
            continue
        errs: list[str] = []
        number = text(row["番号"])
        if not NUMBER_RE.match(number):
            errs.append(f"番号「{number}」は R2025-014 の形式で書いてください")
        elif number in existing:
            errs.append(f"番号「{number}」は既に登録されています")
        elif number in seen:
            errs.append(f"番号「{number}」が{seen[number]}行目と重複しています")
        seen.setdefault(number, i)
        for col in ("件名", "照会内容", "回答"):
            if not text(row[col]):
                errs.append(f"{col}がありません")
        asked, answered = as_date(row["照会日"]), as_date(row["回答日"])
        if asked is None:
            errs.append(f"照会日「{text(row['照会日'])}」は日付（YYYY-MM-DD）で書いてください")
        if answered is None:
            errs.append(f"回答日「{text(row['回答日'])}」は日付（YYYY-MM-DD）で書いてください")
        if asked and answered and answered < asked:
            errs.append("回答日が照会日より前です")
        slug = text(row["関連マニュアル"])
        manual = manuals.get(slug) if slug else None
        if slug and manual is None:
            errs.append(f"関連マニュアル「{slug}」は登録されていません")
        source = " ".join(text(row["照会元"]).replace("\u3000", " ").split())
        unit = units.get(source)
        if unit is None and source in offices:
            # Only the office is known: the section that uses the manual, else its 総務課.
            wanted = (manual.target_names if manual else []) + ["総務課"]
            unit = next((u for w in wanted for u in offices[source] if u.section == w), offices[source][0])
        if unit is None:
            errs.append(f"照会元「{source}」は区役所・総合支所またはその課ではありません")
        owner = manual.owner_unit if manual else default_owner
        if owner is None:
            errs.append(f"所管課「{owner_name}」は登録されていません")
        if errs:
            problems += [f"{i}行目: {e}" for e in errs]
            continue
        assert unit is not None and owner is not None and asked and answered
        rulings.append(Inquiry(
            kind=QUESTION, subject=text(row["件名"])[:200], body=text(row["照会内容"]), manual=manual,
            manual_version=manual.current_version if manual else None, asking_unit=unit, asking_unit_id=unit.id,
            owner_unit=owner, owner_unit_id=owner.id, status=ANSWERED, asked_on=asked, answered_on=answered,
            answer=text(row["回答"]), basis=text(row["根拠"]), share_all=True, number=number,
            number_year=int(number[1:5]), number_seq=int(number.split("-")[1]),
            tags="\n".join(t.strip() for t in re.split(r"[;；]", text(row["タグ"])) if t.strip()),
            published_at=now_utc(), imported=True,
        ))
    if problems:
        raise ValidationError(f"取込を中止しました（{len(problems)}件の問題）。何も登録していません。", details=problems)
    if not rulings:
        raise ValidationError("取り込む行がありません。")
    session.add_all(rulings)
    session.flush()
    advance_counters(session, {(r.number_year, r.number_seq) for r in rulings})  # type: ignore[misc]
    audit.record(session, as_user, "ruling.import", "inquiry", "", count=len(rulings))
    # Past rulings are indexed but not announced as news to every ward.
    events.emit(session, "ruling.imported", ruling_ids=[r.id for r in rulings])
    return rulings


def import_file(session: Session, path: str | Path, **kw: object) -> list[Inquiry]:
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"ファイル「{path}」がありません。")
    return import_rulings(session, read_rows(path), **kw)  # type: ignore[arg-type]
