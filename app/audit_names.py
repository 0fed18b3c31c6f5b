"""The audit log as a reader sees it: each entry's action, target and details in Japanese, the
target named (the person, the manual's title …) rather than 「user #6」. One query per kind of
target for a whole page of entries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import ACTION_LABELS, DETAIL_LABELS, OBJECT_LABELS, AuditEntry
from app.handover.models import STATE_LABELS, VERDICTS, Handover, TransferRound
from app.manuals.models import Manual
from app.notices.models import Notice
from app.org.models import Unit, User
from app.revisions.models import Revision
from app.rulings.models import Inquiry
from app.wareki import wareki

# Codes stored as detail values, in words (per key: "revise" is 改正 as a kind, 改正が必要 as a verdict).
SOURCES = {"roster": "職員名簿", "directory": "ディレクトリ", "ldap": "ディレクトリ", "import": "人事異動の取込"}
VALUE_LABELS: dict[str, dict[str, str]] = {
    "verdict": VERDICTS,
    "status": STATE_LABELS,
    "kind": {"revise": "改正", "obsolete": "廃止", "new": "新規制定", "hq": "本庁", "ward": "区役所・総合支所"},
    "by": {"self": "本人", "head": "所属長", "import": "人事異動の取込"},
    "via": {"link": "設定用リンク", "local": "ローカルアカウント", **SOURCES},
    "source": SOURCES,
    "disposition": {"reflected": "反映した", "not_reflected": "反映しない"},
}

# The fields of a 職員情報変更 (`changes`), in words.
FIELD_LABELS: dict[str, str] = {
    "login": "ログインID", "name": "氏名", "unit_id": "所属", "position": "職", "is_admin": "システム管理者",
    "email": "メールアドレス", "employee_no": "職員番号", "local_login": "ローカルアカウント",
    "is_fixed_term": "会計年度任用職員", "duty_tags": "担当業務", "attributes": "属性",
}


@dataclass(frozen=True)
class Line:
    entry: AuditEntry
    action: str
    target: str
    details: list[tuple[str, str]]


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, "その他の操作")


def _value(value: Any, units: dict[int, str], key: str = "") -> str:
    if value is None or value == "":
        return "（なし）"
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, list | tuple):
        return "、".join(_value(v, units, key) for v in value) or "（なし）"
    if isinstance(value, str):
        return VALUE_LABELS.get(key, {}).get(value, value)
    return str(value)


def _changes(changes: dict[str, Any], units: dict[int, str]) -> str:
    parts = []
    for field, change in changes.items():
        label = FIELD_LABELS.get(field, "その他")
        if isinstance(change, list) and len(change) == 2:
            before, after = change
            if field == "unit_id":
                before, after = units.get(before, before), units.get(after, after)
            parts.append(f"{label}: {_value(before, units)} → {_value(after, units)}")
        else:
            parts.append(f"{label}: 変更")
    return "、".join(parts)


def _details(entry: AuditEntry, units: dict[int, str]) -> list[tuple[str, str]]:
    out = []
    for key, value in entry.details_dict.items():
        label = DETAIL_LABELS.get(key, "その他")
        text = _changes(value, units) if key == "changes" and isinstance(value, dict) else _value(value, units, key)
        out.append((label, text))
    return out


def _names(session: Session, kind: str, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    if kind == "user":
        return dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())
    if kind == "unit":
        return dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all())
    if kind == "manual":
        return {i: f"「{t}」" for i, t in session.execute(select(Manual.id, Manual.title).where(Manual.id.in_(ids)))}
    if kind == "revision":
        rows = session.execute(select(Revision.id, Manual.title).join(Manual, Manual.id == Revision.manual_id)
                               .where(Revision.id.in_(ids)))
        return {i: f"「{t}」の改正案（第{i}号）" for i, t in rows}
    if kind == "inquiry":
        inquiries = session.execute(select(Inquiry.id, Inquiry.number, Inquiry.subject).where(Inquiry.id.in_(ids)))
        return {i: f"{n} 「{s}」" if n else f"照会「{s}」" for i, n, s in inquiries}
    if kind == "notice":
        return {i: f"「{t}」" for i, t in session.execute(select(Notice.id, Notice.title).where(Notice.id.in_(ids)))}
    if kind == "handover":
        rows = session.execute(select(Handover.id, User.name).join(User, User.id == Handover.user_id)
                               .where(Handover.id.in_(ids)))
        return {i: f"{name}の事務引継書" for i, name in rows}
    if kind == "transfer_round":
        rounds = session.execute(select(TransferRound.id, TransferRound.name, TransferRound.effective_date)
                                 .where(TransferRound.id.in_(ids)))
        return {i: f"{name}（発令日 {wareki(day)}）" for i, name, day in rounds}
    return {}


NAMED = ("user", "unit", "manual", "revision", "inquiry", "notice", "handover", "transfer_round")


def lines(session: Session, entries: list[AuditEntry]) -> list[Line]:
    wanted: dict[str, set[int]] = defaultdict(set)
    unit_ids: set[int] = set()
    for e in entries:
        if e.object_id.isdigit():
            wanted[e.object_type].add(int(e.object_id))
        for change in (e.details_dict.get("changes") or {}).get("unit_id", []) if e.action == "user.update" else []:
            if isinstance(change, int):
                unit_ids.add(change)
    wanted["unit"] |= unit_ids
    names = {kind: _names(session, kind, ids) for kind, ids in wanted.items()}
    units = names.get("unit", {})
    out = []
    for e in entries:
        kind_label = OBJECT_LABELS.get(e.object_type, "")
        named = names.get(e.object_type, {}).get(int(e.object_id)) if e.object_id.isdigit() else None
        if named:
            target = named if e.object_type in ("manual", "revision", "inquiry", "notice", "handover") \
                else f"{kind_label} {named}"
        elif e.object_id and e.object_type in NAMED and e.object_id.isdigit():
            target = f"{kind_label}（番号 {e.object_id}、現在は登録なし）"
        elif e.object_id.isdigit():
            target = f"{kind_label}（番号 {e.object_id}）"
        else:
            target = kind_label
        action = action_label(e.action)
        meaning = e.details_dict.get("meaning") if e.action == "revision.approve" else None
        out.append(Line(e, f"承認（{meaning}）" if meaning else action, target, _details(e, units)))
    return out
