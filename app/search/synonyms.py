"""The synonym / 表記ゆれ table the admin keeps (管理 > 検索の同義語).

Stored in the database; every process uses the current table (a cheap check per search or index
write, `ensure_current`). An empty table means the default one (analysis.SYNONYMS, which the
migration also seeded). A change is audited and, after the commit, re-indexes only the manuals and
rulings whose text holds one of the words changed — bounded by what the change touches, not a full
rebuild — so documents and queries are analysed alike again (services.reindex_containing).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import audit, events
from app.errors import Conflict, NotFound, ValidationError
from app.org.models import User
from app.org.permissions import require
from app.search import analysis
from app.search import permissions as _rules  # noqa: F401  (registers search.synonyms)
from app.search.models import KIND_LABELS, SYNONYM, VARIANT, SynonymGroup
from app.wareki import now_utc

TOPIC = "search.synonyms_changed"
DEFAULT_KINDS = {"住民票の写し": VARIANT}
_loaded: list[object] = [None]  # the table version this process analyses with


def _version(session: Session) -> tuple[Any, ...]:
    return tuple(session.execute(select(func.count(SynonymGroup.id), func.max(SynonymGroup.id),
                                        func.max(SynonymGroup.updated_at))).one())


def table(session: Session) -> dict[str, tuple[str, ...]]:
    rows = list(session.scalars(select(SynonymGroup)))
    if not rows:
        return dict(analysis.SYNONYMS)
    return {g.canonical: tuple(g.variant_list) for g in rows}


def ensure_current(session: Session) -> None:
    """Analyse with the table as it is in the database now (reloads only when it changed)."""
    version = _version(session)
    if version != _loaded[0]:
        analysis.set_synonyms(table(session))
        _loaded[0] = version


def groups(session: Session) -> list[SynonymGroup]:
    """The table for the admin page; the default table (not yet stored) when none is."""
    rows = list(session.scalars(select(SynonymGroup).order_by(SynonymGroup.canonical)))
    if rows:
        return rows
    return [SynonymGroup(canonical=k, variants="\n".join(v), kind=DEFAULT_KINDS.get(k, SYNONYM))
            for k, v in analysis.SYNONYMS.items()]


def split_words(text: str) -> list[str]:
    words = re.split(r"[\n,、，\s]+", unicodedata.normalize("NFKC", text or ""))
    return list(dict.fromkeys(w.strip() for w in words if w.strip()))


def _store_defaults(session: Session) -> bool:
    """Store the default table before its first change; True when this call stored it."""
    if session.scalar(select(func.count(SynonymGroup.id))):
        return False
    try:
        with session.begin_nested():  # another admin's first change at the same moment stored it first
            for canonical, variants in analysis.SYNONYMS.items():
                session.add(SynonymGroup(canonical=canonical, variants="\n".join(variants),
                                         kind=DEFAULT_KINDS.get(canonical, SYNONYM)))
    except IntegrityError:
        return False
    return True


def _lock_table(session: Session) -> None:
    """Changes of the table one at a time: every stored group's row locked and read afresh
    (PostgreSQL; SQLite serialises writers already), so what follows — the group looked up, the
    clash check, the columns compared — sees what a save committed meanwhile, never a mix of two."""
    session.scalars(select(SynonymGroup).order_by(SynonymGroup.id).with_for_update()
                    .execution_options(populate_existing=True)).all()


def _taken(canonical: str) -> str:
    return (f"「{canonical}」の組は、この画面を開いた後に他の管理者が登録しています（または登録済みです）。"
            "入力した内容は保存していません。下の一覧の「編集」から内容を確かめて直してください。")


def save(session: Session, user: User, canonical: str, variants: str, kind: str = SYNONYM,
         group_id: int | None = None, stamp: str | None = None) -> SynonymGroup:
    """Add a group, or change group `group_id` as it was when its form was opened (`stamp`)."""
    require(user, "search.synonyms")
    canonical = unicodedata.normalize("NFKC", canonical or "").strip()
    words = [w for w in split_words(variants) if w != canonical]
    if not canonical:
        raise ValidationError("正規形（検索で使う語）を入力してください。")
    if len(canonical) > 100 or any(len(w) > 100 for w in words):
        raise ValidationError("語は100文字以内で入力してください。")
    if not words:
        raise ValidationError("同じ意味として扱う語を1つ以上入力してください。")
    if kind not in KIND_LABELS:
        raise ValidationError("種類を選んでください。")
    defaults_stored = _store_defaults(session)
    _lock_table(session)
    group = session.get(SynonymGroup, group_id, populate_existing=True) if group_id else session.scalar(
        select(SynonymGroup).where(SynonymGroup.canonical == canonical))
    if group_id and group is None:
        raise NotFound("指定の同義語が見つかりません。")
    if group is not None and group_id and stamp and stamp != group.stamp:
        raise Conflict(f"「{group.canonical}」の組は、編集画面を開いた後に他の管理者が変更しています。入力した内容は"
                       "保存していません。下の一覧で今の内容を確かめてから、もう一度編集してください。")
    if not group_id and group is not None and not defaults_stored:
        # 「組を追加」 of a word that has a group: another admin added it since this form was opened
        # (or it was there already). Replacing its words silently would lose theirs.
        raise Conflict(_taken(canonical))
    for other in session.scalars(select(SynonymGroup)):
        if group is not None and other.id == group.id:
            continue
        taken = {other.canonical, *other.variant_list}
        clash = sorted(taken & {canonical, *words})
        if clash:
            raise ValidationError(f"「{'」「'.join(clash)}」は「{other.canonical}」の組ですでに使われています。")
    before = (group.canonical, group.variant_list) if group is not None else None
    if group is None:
        group = SynonymGroup(canonical=canonical)
        session.add(group)
    group.canonical, group.variants, group.kind = canonical, "\n".join(words), kind
    group.updated_at, group.updated_by_id = now_utc(), user.id
    session.flush()
    changed = sorted({*words, *(before[1] if before else [])} | ({before[0]} if before else set()) | {canonical})
    audit.record(session, user, "search.synonyms", "synonym", group.id, canonical=canonical, variants=words,
                 kind=kind, before=before[1] if before else None)
    events.emit(session, TOPIC, words=changed)
    return group


def delete(session: Session, user: User, group_id: int) -> None:
    require(user, "search.synonyms")
    _store_defaults(session)
    _lock_table(session)  # two deletes at once: the second finds it gone
    group = session.get(SynonymGroup, group_id, populate_existing=True)
    if group is None:  # a second click, or another admin a moment ago: back to the table, told so
        raise Conflict("指定の同義語の組は見つかりません（すでに削除されています）。")
    words = [group.canonical, *group.variant_list]
    audit.record(session, user, "search.synonyms_delete", "synonym", group.id, canonical=group.canonical,
                 variants=group.variant_list)
    session.delete(group)
    session.flush()
    events.emit(session, TOPIC, words=words)
