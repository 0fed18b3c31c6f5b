"""Accounts that follow the directory: department → unit mapping, titles → positions, applying one
directory entry to an account (at sign-in and in the sync), and the sync itself. Callers commit."""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app import audit
from app.directory.ldap import Directory, Entry, Settings
from app.directory.models import DirectoryDepartment
from app.errors import NotFound, ValidationError
from app.handover import importer
from app.org import sessions
from app.org.models import CHIEF, HEAD, POSITIONS, STAFF, Unit, User
from app.org.permissions import require
from app.org.services import LOGIN_RE, parse_tags
from app.wareki import now_utc

UNUSABLE_PASSWORD = "!"  # no password hash starts with it: the account cannot sign in locally

# A city's job titles and the three positions Tebiki knows. Extend with LDAP_POSITIONS
# ("主幹=係長,所長=課長"); any other title is 担当.
TITLES: dict[str, str] = {
    "課長": HEAD, "所長": HEAD, "室長": HEAD, "参事": HEAD, "センター長": HEAD, "館長": HEAD,
    "係長": CHIEF, "課長補佐": CHIEF, "主幹": CHIEF, "副参事": CHIEF, "主査": STAFF,
    "担当": STAFF, "主任": STAFF, "主事": STAFF, "技師": STAFF, "会計年度任用職員": STAFF,
}


def normalise(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value or "").split())


def position_of(title: str) -> str:
    title = normalise(title)
    extra = {}
    for pair in (current_app.config.get("LDAP_POSITIONS") or "").split(","):
        key, sep, value = (s.strip() for s in pair.partition("="))
        if sep and value in POSITIONS:
            extra[normalise(key)] = value
    if title in POSITIONS:
        return title
    return extra.get(title) or TITLES.get(title) or STAFF


def _rdn_value(value: str) -> str:
    """`CN=青葉区 保険年金課,OU=Groups,DC=…` → `青葉区 保険年金課` (for group DNs in memberOf)."""
    first = value.split(",", 1)[0]
    key, sep, rest = first.partition("=")
    return normalise(rest) if sep and key.strip().isalpha() and "," in value else value


class UnitResolver:
    """Directory department → unit: an explicit mapping first, else a unit of exactly that name."""

    def __init__(self, session: Session) -> None:
        self.units = {normalise(u.name): u for u in session.scalars(select(Unit).where(Unit.active.is_(True)))}
        self.mapped = {d.value: d.unit for d in session.scalars(select(DirectoryDepartment)
                                                                .where(DirectoryDepartment.unit_id.is_not(None)))}

    def resolve(self, values: list[str]) -> tuple[Unit | None, str]:
        """The unit of the first value that maps, and that value; else (None, the first value)."""
        for raw in values:
            value = normalise(raw)
            for candidate in (value, _rdn_value(value)):
                unit = self.mapped.get(candidate)
                if unit is not None and unit.active:
                    return unit, candidate
                if candidate in self.units:
                    return self.units[candidate], candidate
        return None, normalise(values[0]) if values else ""


def truthy(value: str) -> bool:
    return normalise(value).lower() in {"1", "true", "yes", "y", "○", "〇", "はい", "有", "該当", "会計年度任用職員"}


@dataclass
class Report:
    dry_run: bool = False
    seen: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    unmapped: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    new_accounts: list[User] = field(default_factory=list)
    settings: Settings | None = None

    def record_created(self, session: Session, actor: User | None, source: str) -> None:
        """One flush for all new accounts, then their audit rows."""
        if not self.new_accounts:
            return
        session.flush()
        for user in self.new_accounts:
            audit.record(session, actor, "user.create", "user", user.id, login=user.login, unit=user.unit.name,
                         position=user.position, source=source)
        self.new_accounts = []

    def counts(self) -> dict[str, int]:
        return {"ディレクトリの人数": self.seen, "作成": len(self.created), "更新": len(self.updated),
                "異動（事務引継書を作成）": len(self.moved), "無効化": len(self.deactivated),
                "再有効化": len(self.reactivated), "対応付けできない所属": len(self.unmapped),
                "問題": len(self.problems)}


def apply_entry(session: Session, user: User | None, entry: Entry, resolver: UnitResolver, report: Report, *,
                source: str, actor: User | None = None) -> User | None:
    """Make the account follow the directory entry: create it, or update name, mail, 職員番号 and
    (through the 人事異動 path) unit and position. None when a new person's unit cannot be mapped."""
    unit, value = resolver.resolve(entry.units)
    if unit is None:
        report.unmapped[value or "（所属なし）"] += 1
    position = position_of(entry.title)
    if user is None:
        if unit is None:
            return None
        if not LOGIN_RE.match(entry.login):
            report.problems.append(f"{entry.dn}: ログインID「{entry.login}」は使えない文字を含むため作成しません")
            return None
        user = User(login=entry.login, name=entry.name[:100], email=entry.mail or None,
                    employee_no=entry.employee_no or None, unit=unit, unit_id=unit.id, position=position,
                    password_hash=UNUSABLE_PASSWORD, local_login=False, session_version=1, active=True,
                    is_admin=False, deactivated_by_sync=False)
        _attributes(user, entry, report.settings)
        session.add(user)
        report.created.append(user.login)
        report.new_accounts.append(user)  # their audit rows are written once they have ids (one flush)
    else:
        changes: dict[str, object] = {}
        for attr, value_ in (("name", entry.name[:100]), ("email", entry.mail or None),
                             ("employee_no", entry.employee_no or None)):
            if getattr(user, attr) != value_ and (value_ or attr != "employee_no"):
                changes[attr] = [getattr(user, attr), value_]
                setattr(user, attr, value_)
        if _attributes(user, entry, report.settings):
            changes["attributes"] = True
        if changes:
            audit.record(session, actor, "user.update", "user", user.id, changes=changes, source=source)
            report.updated.append(user.login)
        if unit is not None and user.active and (unit.id != user.unit_id or position != user.position):
            importer.record_move(session, actor, user, unit, position, source=source)
            report.moved.append(user.login)
    user.directory_synced_at = now_utc()
    return user


def _attributes(user: User, entry: Entry, settings: Settings | None) -> bool:
    """会計年度任用職員 and duty tags, when LDAP_ATTRS maps them (issue 17). True if changed."""
    if settings is None:
        return False
    changed = False
    if "fixed_term" in settings.attrs:
        value = truthy(entry.fixed_term)
        if bool(user.is_fixed_term) != value:
            user.is_fixed_term = value
            changed = True
    if "duties" in settings.attrs:
        changed = user.set_duties([t for value in entry.duties for t in parse_tags(value)]) or changed
    return changed


# --- the sync ---------------------------------------------------------------------------------------

MASS_DEACTIVATION_SHARE = 0.10  # more than this share of directory accounts at once needs --allow-mass-deactivation


def sync(session: Session, actor: User | None = None, *, dry_run: bool = False,
         allow_mass_deactivation: bool = False, directory: Directory | None = None) -> Report:
    """Create, update, move and deactivate accounts to match the directory. Accounts marked local
    (break-glass administrators) are never touched. Raises DirectoryError (nothing changed) when the
    directory cannot be read completely."""
    if actor is not None:
        require(actor, "admin.users")
    directory = directory or Directory.from_app()
    entries = list(directory.people())  # read everything first: a failure half-way changes nothing
    report = Report(dry_run=dry_run, seen=len(entries), settings=directory.settings)
    query = select(User)
    if "duties" in directory.settings.attrs:
        query = query.options(selectinload(User.duties))
    users = list(session.scalars(query))
    by_login = {u.login.lower(): u for u in users}
    by_number = {u.employee_no: u for u in users if u.employee_no}
    resolver = UnitResolver(session)
    seen_ids: set[int] = set()
    seen_logins: set[str] = set()
    for entry in entries:
        if entry.login.lower() in seen_logins:
            report.problems.append(f"{entry.dn}: ログインID「{entry.login}」がディレクトリに2件あります（後の1件は無視しました）")
            continue
        seen_logins.add(entry.login.lower())
        user = (by_number.get(entry.employee_no) if entry.employee_no else None) or by_login.get(entry.login.lower())
        if user is not None and user.local_login:
            seen_ids.add(user.id)
            continue  # break-glass accounts are not managed by the directory
        if user is not None and user.login.lower() != entry.login.lower():
            clash = by_login.get(entry.login.lower())
            if clash is None or clash.id == user.id:
                audit.record(session, actor, "user.update", "user", user.id, changes={"login": [user.login, entry.login]},
                             source="directory")
                user.login = entry.login
        if user is not None and not user.active:
            if not user.deactivated_by_sync:
                seen_ids.add(user.id)
                continue  # deactivated by an administrator or by a 退職: stays so
            user.active, user.deactivated_by_sync = True, False
            audit.record(session, actor, "user.reactivate", "user", user.id, login=user.login, source="directory")
            report.reactivated.append(user.login)
        result = apply_entry(session, user, entry, resolver, report, source="directory", actor=actor)
        if result is not None:
            seen_ids.add(result.id)
            by_login[result.login.lower()] = result
    report.record_created(session, actor, "directory")
    _record_departments(session, entries, resolver)
    gone = [u for u in users if u.active and not u.local_login and u.id not in seen_ids]
    managed = sum(1 for u in users if u.active and not u.local_login)
    if len(gone) > max(10, MASS_DEACTIVATION_SHARE * managed) and not allow_mass_deactivation:
        raise ValidationError(
            f"ディレクトリにない職員が{len(gone):,}人（ディレクトリで管理する職員の{len(gone) / max(managed, 1):.0%}）"
            "いるため、無効化を中止しました。何も変更していません。",
            details=["LDAP_BASE_DN・LDAP_SYNC_FILTER の設定を確認してください。",
                     "本当に無効にする場合は --allow-mass-deactivation を付けて実行してください。"])
    for user in gone:
        # Leaving the directory is leaving the city: the 退職 path of a 人事異動 row.
        importer.record_move(session, actor, user, None, user.position, source="directory")
        user.deactivated_by_sync = True
        sessions.end_all(session, user, "directory")
        report.deactivated.append(user.login)
    audit.record(session, actor, "directory.sync", "directory", "", dry_run=dry_run, **report.counts(),
                 unmapped=dict(report.unmapped.most_common(50)))
    session.flush()
    return report


def _record_departments(session: Session, entries: list[Entry], resolver: UnitResolver) -> None:
    """Remember every department value with its head count, for the mapping page."""
    counts: Counter[str] = Counter()
    for entry in entries:
        _unit, value = resolver.resolve(entry.units)
        counts[value or "（所属なし）"] += 1
    now = now_utc()
    rows = {d.value: d for d in session.scalars(select(DirectoryDepartment))}
    for known in rows.values():
        known.people = 0
    for value, n in counts.items():
        row = rows.get(value[:300])
        if row is None:
            row = DirectoryDepartment(value=value[:300], people=0)
            session.add(row)
            rows[row.value] = row
        row.people, row.last_seen_at = n, now


def departments(session: Session, *, only_unmapped: bool = False) -> list[tuple[DirectoryDepartment, Unit | None, str]]:
    """(department, unit it maps to, how: "explicit" / "name" / "") for the mapping page."""
    units = {normalise(u.name): u for u in session.scalars(select(Unit).where(Unit.active.is_(True)))}
    out = []
    for d in session.scalars(select(DirectoryDepartment).order_by(DirectoryDepartment.people.desc(),
                                                                   DirectoryDepartment.value)):
        if d.unit_id:
            out.append((d, d.unit, "explicit"))
        elif d.value in units:
            out.append((d, units[d.value], "name"))
        else:
            out.append((d, None, ""))
    if only_unmapped:
        out = [row for row in out if row[1] is None]
    return out


def set_mapping(session: Session, actor: User, department_id: int, unit: Unit | None) -> DirectoryDepartment:
    require(actor, "admin.users")
    dept = session.get(DirectoryDepartment, department_id)
    if dept is None:
        raise NotFound("指定された所属（ディレクトリ）は見つかりません。")
    if unit is not None and not unit.active:
        raise ValidationError(f"所属「{unit.name}」は無効になっています。")
    before = dept.unit.name if dept.unit else ""
    dept.unit, dept.unit_id, dept.updated_by_id = unit, unit.id if unit else None, actor.id
    audit.record(session, actor, "directory.map", "directory_department", dept.id, value=dept.value, before=before,
                 after=unit.name if unit else "")
    return dept


def add_department(session: Session, actor: User, value: str) -> DirectoryDepartment:
    """A value to map before it has been seen (e.g. from the roster file)."""
    require(actor, "admin.users")
    value = normalise(value)
    if not value:
        raise ValidationError("ディレクトリ・名簿の所属名を入力してください。")
    dept = session.scalar(select(DirectoryDepartment).where(DirectoryDepartment.value == value))
    if dept is None:
        dept = DirectoryDepartment(value=value[:300], people=0)
        session.add(dept)
        session.flush()
    return dept


def last_sync(session: Session) -> Any:
    return session.scalar(select(audit.AuditEntry).where(audit.AuditEntry.action == "directory.sync")
                          .order_by(audit.AuditEntry.id.desc()).limit(1))


def directory_accounts(session: Session) -> int:
    return session.scalar(select(func.count(User.id)).where(User.local_login.is_(False), User.active.is_(True))) or 0
