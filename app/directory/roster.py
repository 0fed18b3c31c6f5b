"""職員名簿 import for a city without a directory (or before it is connected): .csv (UTF-8 or Excel's
cp932) / .xlsx with the columns 職員番号,氏名,所属,職,mail,ログインID (optional 担当業務,
会計年度任用職員). Creates and updates accounts in bulk; validated as a whole (every bad row listed,
nothing applied on error), previewed, then applied. A change of unit or position takes the 人事異動
path (the handover opens, the account moves today). New accounts get a one-time password-setting
link, or sign in through the directory when one is set."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app import audit
from app.directory import signin
from app.directory.services import TITLES, UNUSABLE_PASSWORD, UnitResolver, normalise, position_of, truthy
from app.errors import ValidationError
from app.handover import importer
from app.org.models import POSITIONS, Unit, User
from app.org.permissions import require
from app.org.services import LOGIN_RE, parse_tags
from app.tables import blank, read_table, text

COLUMNS = ["職員番号", "氏名", "所属", "職", "mail", "ログインID"]
OPTIONAL = ["担当業務", "会計年度任用職員"]
MAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NUMBER_RE = re.compile(r"^[0-9A-Za-z-]{1,20}$")


@dataclass
class RosterRow:
    row: int
    user: User | None  # None: a new account
    number: str
    name: str
    unit: Unit
    position: str
    mail: str
    login: str
    duties: list[str] | None = None  # None: the column is absent (keep what the account has)
    fixed_term: bool | None = None
    changes: list[str] = field(default_factory=list)  # what changes on an existing account

    @property
    def moves(self) -> bool:
        return self.user is not None and (self.user.unit_id != self.unit.id or self.user.position != self.position)

    @property
    def kind(self) -> str:
        if self.user is None:
            return "新規"
        if not self.user.active:
            return "再有効化"
        if self.moves:
            return "異動"
        return "更新" if self.changes else "変更なし"


@dataclass
class Preview:
    rows: list[RosterRow]
    has_duties: bool = False
    has_fixed_term: bool = False

    def counts(self) -> dict[str, int]:
        out = {"新規": 0, "更新": 0, "異動": 0, "再有効化": 0, "変更なし": 0}
        for r in self.rows:
            out[r.kind] += 1
        return out


def read_file(path: str | Path) -> list[dict[str, object]]:
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"ファイル「{path}」がありません。")
    return read_table(path, COLUMNS, optional=OPTIONAL)


def validate(session: Session, rows: list[dict[str, object]]) -> Preview:
    users = list(session.scalars(select(User).options(selectinload(User.duties))))
    by_number = {u.employee_no: u for u in users if u.employee_no}
    by_login = {u.login.lower(): u for u in users}
    resolver = UnitResolver(session)
    problems: list[str] = []
    plan: list[RosterRow] = []
    numbers: dict[str, int] = {}
    logins: dict[str, int] = {}
    has_duties = bool(rows) and "担当業務" in rows[0]  # an optional column only counts when it is there
    has_fixed = bool(rows) and "会計年度任用職員" in rows[0]
    for i, row in enumerate(rows, start=2):
        if blank(row):
            continue
        errs: list[str] = []
        number = normalise(text(row["職員番号"]))
        if not number:
            errs.append("職員番号がありません")
        elif not NUMBER_RE.match(number):
            errs.append(f"職員番号「{number}」は半角英数字とハイフン（20字以内）にしてください")
        elif number in numbers:
            errs.append(f"職員番号「{number}」が{numbers[number]}行目と重複しています")
        numbers.setdefault(number, i)
        user = by_number.get(number)
        name = normalise(text(row["氏名"]))
        if not name:
            errs.append("氏名がありません")
        elif len(name) > 100:
            errs.append("氏名が長すぎます（100字まで）")
        unit_value = normalise(text(row["所属"]))
        unit, _ = resolver.resolve([unit_value]) if unit_value else (None, "")
        if not unit_value:
            errs.append("所属がありません")
        elif unit is None:
            errs.append(f"所属「{unit_value}」はTebikiの所属に対応付けられていません（「所属の対応付け」で設定できます）")
        title = normalise(text(row["職"]))
        if title not in POSITIONS and title not in TITLES and position_of(title) == "担当" and title:
            errs.append(f"職「{title}」は分かりません（担当・係長・課長、または主事・主査など）")
        elif not title:
            errs.append("職がありません")
        mail = normalise(text(row["mail"]))
        if mail and not MAIL_RE.match(mail):
            errs.append(f"mail「{mail}」はメールアドレスの形式ではありません")
        login = normalise(text(row["ログインID"]))
        if not login and user is None:
            errs.append("新しい職員にはログインIDが必要です")
        elif login and not LOGIN_RE.match(login):
            errs.append(f"ログインID「{login}」は半角英数字と「. _ -」で3〜64文字にしてください")
        elif login:
            if login.lower() in logins:
                errs.append(f"ログインID「{login}」が{logins[login.lower()]}行目と重複しています")
            logins.setdefault(login.lower(), i)
            owner = by_login.get(login.lower())
            if owner is not None and owner is not user:
                if user is None and not owner.employee_no:
                    user = owner  # an account without 職員番号 (made by hand): the roster completes it
                else:
                    errs.append(f"ログインID「{login}」は別の職員（{owner.name}）が使っています")
        if user is not None and user.local_login and signin.configured():
            errs.append(f"職員番号「{number}」はローカルアカウント（非常用）のため名簿では変更できません")
        if errs:
            problems += [f"{i}行目: {e}" for e in errs]
            continue
        assert unit is not None
        entry = RosterRow(i, user, number, name, unit, position_of(title), mail, login or (user.login if user else ""))
        if has_duties:
            entry.duties = parse_tags(text(row.get("担当業務")))
        if has_fixed:
            entry.fixed_term = truthy(text(row.get("会計年度任用職員")))
        if user is not None:
            for label, old, new in (("氏名", user.name, name), ("mail", user.email or "", mail),
                                    ("ログインID", user.login, entry.login), ("職員番号", user.employee_no or "", number)):
                if old != new:
                    entry.changes.append(f"{label}: {old or '（なし）'} → {new or '（なし）'}")
            if entry.duties is not None and entry.duties != user.duty_tags:
                entry.changes.append(f"担当業務: {'、'.join(user.duty_tags) or '（なし）'} → "
                                     f"{'、'.join(entry.duties) or '（なし）'}")
            if entry.fixed_term is not None and entry.fixed_term != user.is_fixed_term:
                entry.changes.append(f"会計年度任用職員: {'はい' if entry.fixed_term else 'いいえ'}")
        plan.append(entry)
    if problems:
        raise ValidationError(f"職員名簿の取込を中止しました（{len(problems)}件の問題）。何も反映していません。",
                              details=problems)
    if not plan:
        raise ValidationError("取り込む行がありません。")
    return Preview(plan, has_duties, has_fixed)


@dataclass
class Result:
    created: list[User]
    updated: int
    moved: int
    reactivated: int
    unchanged: int


def apply(session: Session, actor: User | None, rows: list[dict[str, object]], *, file_name: str = "") -> Result:
    if actor is not None:
        require(actor, "admin.users")
    preview = validate(session, rows)
    created: list[User] = []
    counts = preview.counts()
    for r in preview.rows:
        user = r.user
        if user is None:
            user = User(login=r.login, name=r.name, employee_no=r.number, email=r.mail or None, unit=r.unit,
                        unit_id=r.unit.id, position=r.position, password_hash=UNUSABLE_PASSWORD, local_login=False,
                        session_version=1, active=True, is_admin=False, deactivated_by_sync=False)
            session.add(user)
            created.append(user)
        else:
            if not user.active:
                user.active, user.deactivated_by_sync = True, False
            if r.changes:
                audit.record(session, actor, "user.update", "user", user.id, changes=r.changes, source="roster")
            user.name, user.email, user.login, user.employee_no = r.name, r.mail or None, r.login, r.number
        if r.duties is not None:
            user.set_duties(r.duties)
        if r.fixed_term is not None:
            user.is_fixed_term = r.fixed_term
        if r.moves:
            importer.record_move(session, actor, user, r.unit, r.position, source="roster")
    session.flush()  # once: ids for every new account
    for user in created:
        audit.record(session, actor, "user.create", "user", user.id, login=user.login, unit=user.unit.name,
                     position=user.position, source="roster")
    audit.record(session, actor, "staff.roster", "user", "", file=file_name, **counts)
    return Result(created, counts["更新"], counts["異動"], counts["再有効化"], counts["変更なし"])
