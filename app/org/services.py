"""Organisation rules: units, users, authentication. Callers commit the session."""

from __future__ import annotations

import re

from flask import current_app
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload
from werkzeug.security import generate_password_hash

from app import audit, ordering
from app.errors import NotFound, ValidationError
from app.org import sessions, structure, throttle
from app.org.models import HQ, POSITIONS, WARD, Unit, User
from app.org.permissions import require

LOGIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")
MIN_PASSWORD = 8

# --- units -----------------------------------------------------------------------------


def unit_name(group_name: str, section: str) -> str:
    return f"{group_name} {section}"


def find_unit(session: Session, name: str) -> Unit:
    """A unit by its full name (`健康福祉局 保険年金課`, `青葉区 保険年金課`), spaces normalised."""
    normalised = " ".join(name.replace("\u3000", " ").split())
    unit = session.scalar(select(Unit).where(Unit.name == normalised))
    if unit is None:
        raise NotFound(f"所属「{name}」は登録されていません。（例：「健康福祉局 保険年金課」「青葉区 保険年金課」）")
    return unit


def list_units(session: Session, *, kind: str | None = None, include_inactive: bool = False) -> list[Unit]:
    q = select(Unit).order_by(Unit.kind, Unit.sort_order, Unit.id)
    if kind:
        q = q.where(Unit.kind == kind)
    if not include_inactive:
        q = q.where(Unit.active.is_(True))
    return list(session.scalars(q))


def ward_offices(session: Session) -> list[str]:
    """Ward office names in the city's order, from the units that exist."""
    names = session.scalars(
        select(Unit.group_name).where(Unit.kind == WARD, Unit.active.is_(True)).group_by(Unit.group_name)
        .order_by(func.min(Unit.sort_order))
    )
    return list(names)


def _validate_unit_fields(session: Session, kind: str, group_name: str, section: str, exclude_id: int | None) -> str:
    errors = []
    if kind not in (HQ, WARD):
        errors.append("種別は「本庁」または「区役所・総合支所」を選んでください。")
    if not group_name.strip():
        errors.append("局・区役所名を入力してください。")
    if not section.strip():
        errors.append("課（担当）名を入力してください。")
    name = unit_name(group_name.strip(), section.strip())
    clash = session.scalar(select(Unit).where(Unit.name == name))
    if clash is not None and clash.id != exclude_id:
        errors.append(f"所属「{name}」は既に登録されています。")
    if errors:
        raise ValidationError("所属を保存できません。", details=errors)
    return name


def create_unit(session: Session, actor: User | None, *, kind: str, group_name: str, section: str) -> Unit:
    if actor is not None:
        require(actor, "admin.units")
    name = _validate_unit_fields(session, kind, group_name, section, None)
    last = session.scalar(select(func.max(Unit.sort_order))) or 0
    unit = Unit(kind=kind, group_name=group_name.strip(), section=section.strip(), name=name, sort_order=last + 1)
    session.add(unit)
    session.flush()
    ordering.renumber_units(session)
    audit.record(session, actor, "unit.create", "unit", unit.id, name=name, kind=kind)
    return unit


def update_unit(session: Session, actor: User, unit: Unit, *, kind: str, group_name: str, section: str) -> Unit:
    require(actor, "admin.units")
    name = _validate_unit_fields(session, kind, group_name, section, unit.id)
    before = unit.name
    unit.kind, unit.group_name, unit.section, unit.name = kind, group_name.strip(), section.strip(), name
    ordering.renumber_units(session)
    audit.record(session, actor, "unit.update", "unit", unit.id, before=before, after=name)
    return unit


def set_unit_active(session: Session, actor: User, unit: Unit, active: bool) -> Unit:
    require(actor, "admin.units")
    if not active:
        n = session.scalar(select(func.count(User.id)).where(User.unit_id == unit.id, User.active.is_(True)))
        if n:
            raise ValidationError(
                f"所属「{unit.name}」には有効な職員が{n}人いるため無効にできません。先に職員の所属を変更してください。"
            )
    unit.active = active
    audit.record(session, actor, "unit.reactivate" if active else "unit.deactivate", "unit", unit.id, name=unit.name)
    return unit


def seed_org(session: Session) -> int:
    """Create every unit of DOMAIN.md that is missing. Idempotent; returns how many were added."""
    existing = set(session.scalars(select(Unit.name)))
    order = session.scalar(select(func.max(Unit.sort_order))) or 0
    added = 0
    for kind, group_name, section in structure.all_units():
        name = unit_name(group_name, section)
        if name in existing:
            continue
        order += 1
        session.add(Unit(kind=kind, group_name=group_name, section=section, name=name, sort_order=order))
        added += 1
    if added:
        session.flush()
        ordering.renumber_units(session)
        audit.record(session, None, "seed.org", "unit", "", added=added)
    return added


# --- users -----------------------------------------------------------------------------


def parse_tags(text: str | None) -> list[str]:
    """「窓口、審査」「窓口・審査」「窓口,審査」「窓口 審査」 → ["審査", "窓口"] (NFKC, at most 30 characters each)."""
    import unicodedata

    parts = re.split(r"[、,;/・\s]+", unicodedata.normalize("NFKC", text or ""))
    return sorted({p.strip()[:30] for p in parts if p.strip()})


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def _check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"パスワードは{MIN_PASSWORD}文字以上にしてください。")


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("指定された職員は見つかりません。")
    return user


def _validate_user_fields(
    session: Session, *, login: str, name: str, position: str, unit: Unit, employee_no: str | None, exclude_id: int | None
) -> list[str]:
    errors = []
    if not LOGIN_RE.match(login):
        errors.append("ログインIDは半角英数字と「. _ -」で3〜64文字にしてください。")
    else:
        clash = session.scalar(select(User).where(func.lower(User.login) == login.lower()))
        if clash is not None and clash.id != exclude_id:
            errors.append(f"ログインID「{login}」は既に使われています。")
    if not name.strip():
        errors.append("氏名を入力してください。")
    if position not in POSITIONS:
        errors.append("職は「担当」「係長」「課長」のいずれかを選んでください。")
    if not unit.active:
        errors.append(f"所属「{unit.name}」は無効になっています。")
    if employee_no:
        clash = session.scalar(select(User).where(User.employee_no == employee_no))
        if clash is not None and clash.id != exclude_id:
            errors.append(f"職員番号「{employee_no}」は既に登録されています。")
    return errors


def create_user(
    session: Session,
    actor: User | None,
    *,
    login: str,
    name: str,
    unit: Unit,
    position: str,
    password: str,
    is_admin: bool = False,
    email: str | None = None,
    employee_no: str | None = None,
    password_hash: str | None = None,
    local_login: bool = False,
    duty_tags: list[str] | None = None,
    is_fixed_term: bool = False,
) -> User:
    """`actor` None = the command line or the seed, which run with the operator's authority."""
    if actor is not None:
        require(actor, "admin.users")
    login = login.strip()
    errors = _validate_user_fields(
        session, login=login, name=name, position=position, unit=unit, employee_no=employee_no, exclude_id=None
    )
    if password_hash is None and len(password) < MIN_PASSWORD:
        errors.append(f"パスワードは{MIN_PASSWORD}文字以上にしてください。")
    if errors:
        raise ValidationError("職員を登録できません。", details=errors)
    user = User(
        login=login,
        name=name.strip(),
        unit=unit,
        position=position,
        is_admin=is_admin,
        email=(email or "").strip() or None,
        employee_no=(employee_no or "").strip() or None,
        password_hash=password_hash or hash_password(password),
        local_login=local_login,
        is_fixed_term=is_fixed_term,
    )
    user.set_duties(duty_tags or [])
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, login=login, unit=unit.name, position=position,
                 admin=is_admin)
    return user


def update_user(
    session: Session,
    actor: User,
    user: User,
    *,
    login: str,
    name: str,
    unit: Unit,
    position: str,
    is_admin: bool,
    email: str | None,
    employee_no: str | None,
    local_login: bool | None = None,
    duty_tags: list[str] | None = None,
    is_fixed_term: bool | None = None,
) -> User:
    require(actor, "admin.users")
    login = login.strip()
    errors = _validate_user_fields(
        session, login=login, name=name, position=position, unit=unit, employee_no=employee_no or None,
        exclude_id=user.id,
    )
    if user.id == actor.id and not is_admin:
        errors.append("自分自身の管理者権限は外せません。")
    if errors:
        raise ValidationError("職員情報を保存できません。", details=errors)
    changes = {}
    new = {
        "login": login,
        "name": name.strip(),
        "unit_id": unit.id,
        "position": position,
        "is_admin": is_admin,
        "email": (email or "").strip() or None,
        "employee_no": (employee_no or "").strip() or None,
    }
    if local_login is not None:
        new["local_login"] = local_login
    if is_fixed_term is not None:
        new["is_fixed_term"] = is_fixed_term
    for field, value in new.items():
        if getattr(user, field) != value:
            changes[field] = [getattr(user, field), value]
            setattr(user, field, value)
    before_tags = user.duty_tags
    if duty_tags is not None and user.set_duties(duty_tags):
        changes["duty_tags"] = [before_tags, user.duty_tags]
    if changes:
        user.unit = unit
        audit.record(session, actor, "user.update", "user", user.id, changes=changes)
    return user


def set_password(session: Session, actor: User, user: User, password: str, *, keep_session: str | None = None) -> None:
    """Every other session of the user ends; `keep_session` (the token of the browser changing its
    own password) stays signed in."""
    if actor.id != user.id:
        require(actor, "admin.users")
    _check_password_strength(password)
    user.password_hash = hash_password(password)
    sessions.end_all(session, user, "password", keep=keep_session if actor.id == user.id else None)
    throttle.clear(session, user.login)
    audit.record(session, actor, "user.password", "user", user.id)


def set_user_active(session: Session, actor: User, user: User, active: bool) -> None:
    if active:
        require(actor, "admin.users")
    else:
        require(actor, "user.deactivate", user)
    user.active = active
    user.session_version += 1
    sessions.end_all(session, user, "deactivated")
    audit.record(session, actor, "user.reactivate" if active else "user.deactivate", "user", user.id,
                 login=user.login)


def unlock_user(session: Session, actor: User, user: User) -> None:
    """Clear the sign-in throttling of this login (every client)."""
    require(actor, "admin.users")
    throttle.clear(session, user.login)
    audit.record(session, actor, "user.unlock", "user", user.id, login=user.login)


def end_sessions(session: Session, actor: User, user: User) -> int:
    """「すべての端末からログアウトさせる」(admin), or the user's 「他の端末からログアウト」."""
    if actor.id != user.id:
        require(actor, "admin.users")
    n = sessions.end_all(session, user, "ended", keep=sessions.current_token() if actor.id == user.id else None)
    audit.record(session, actor, "user.sessions_ended", "user", user.id, sessions=n)
    return n


def is_throttled(session: Session, user: User) -> bool:
    return bool(throttle.blocked_logins(session, [user.login]))


_POSITION_RANK = case({"課長": 0, "係長": 1, "担当": 2}, value=User.position, else_=3)


def users_query(
    session: Session, *, q: str = "", unit_id: int | None = None, kind: str | None = None,
    include_inactive: bool = False, sort: str = "unit",
):
    stmt = select(User).join(User.unit).options(selectinload(User.duties))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(User.name.ilike(like) | User.login.ilike(like) | User.employee_no.ilike(like))
    if unit_id:
        stmt = stmt.where(User.unit_id == unit_id)
    if kind:
        stmt = stmt.where(Unit.kind == kind)
    if not include_inactive:
        stmt = stmt.where(User.active.is_(True))
    orders = {
        "unit": (Unit.sort_order, _POSITION_RANK, User.name_kana, User.login),
        "name": (User.name_kana, User.name, User.login),
        "login": (User.login,),
        "last_login": (User.last_login_at.desc(), User.login),
    }
    return stmt.order_by(*orders.get(sort, orders["unit"]))


def active_user_counts(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(User.unit_id, func.count(User.id)).where(User.active.is_(True)).group_by(User.unit_id)
    )
    return {unit_id: n for unit_id, n in rows}


def get_unit(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("指定された所属は見つかりません。")
    return unit
