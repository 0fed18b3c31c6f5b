from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model, UTCDateTime
from app.wareki import now_utc

# Kinds of unit.
HQ = "hq"  # 本庁 (a 局's 課 or 担当)
WARD = "ward"  # a section of a ward office or 総合支所

# Positions, lowest first. 課長 is the 所属長 of their unit.
STAFF = "担当"
CHIEF = "係長"
HEAD = "課長"
POSITIONS = (STAFF, CHIEF, HEAD)


class Unit(Model):
    """A 所属: `group_name` is the 局 (本庁) or the ward office; `section` the 課 or section kind."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), index=True)
    group_name: Mapped[str] = mapped_column(String(50), index=True)
    section: Mapped[str] = mapped_column(String(50), index=True)
    name: Mapped[str] = mapped_column(String(110), unique=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    users: Mapped[list[User]] = relationship(back_populates="unit")

    @property
    def is_hq(self) -> bool:
        return self.kind == HQ

    @property
    def is_ward(self) -> bool:
        return self.kind == WARD

    @property
    def kind_label(self) -> str:
        return "本庁" if self.is_hq else "区役所・総合支所"

    def __repr__(self) -> str:
        return f"<Unit {self.name}>"


class User(UserMixin, Model):
    __tablename__ = "users"
    # Not a column: what the sign-in query read about the user with it for this request
    # (app.org.sessions.user_statement; the unread badge).
    request_extras = ()

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_kana: Mapped[str] = mapped_column(String(200), default="")  # 50音順 key (app.ordering)
    employee_no: Mapped[str | None] = mapped_column(String(20), unique=True)
    email: Mapped[str | None] = mapped_column(String(200))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    position: Mapped[str] = mapped_column(String(8))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # With a directory (LDAP_URL) set, only accounts marked local sign in with the password kept
    # here (break-glass administrators); every other account signs in against the directory and
    # follows it (name, unit, position, mail). Without a directory every account is local.
    local_login: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Deactivated because the directory no longer lists the person: the sync reactivates it if the
    # person comes back (an account an administrator deactivated stays so).
    deactivated_by_sync: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    directory_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # 会計年度任用職員 (a fixed-term appointee): notices can include or leave them out (issue 17).
    is_fixed_term: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Bumped on password change or deactivation: every existing session stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    unit: Mapped[Unit] = relationship(back_populates="users", lazy="joined")
    # Loaded when used (not on every request's user); lists load them with selectinload.
    duties: Mapped[list[UserDuty]] = relationship(cascade="all, delete-orphan", order_by="UserDuty.tag")

    @property
    def duty_tags(self) -> list[str]:
        """担当業務 tags such as 窓口, 審査 (for targeting notices within a section)."""
        return sorted(d.tag for d in self.duties)

    def set_duties(self, tags: list[str]) -> bool:
        """Replace the duty tags; True if they changed."""
        wanted = sorted({t.strip()[:30] for t in tags if t and t.strip()})
        if wanted == self.duty_tags:
            return False
        keep = [d for d in self.duties if d.tag in wanted]
        have = {d.tag for d in keep}
        self.duties = keep + [UserDuty(tag=t) for t in wanted if t not in have]
        return True

    # Flask-Login: the session holds "id:version", so bumping the version logs the user out.
    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def commit_email(self) -> str:
        """The address written as author of the git commits this person drafts."""
        return self.email or f"{self.login}@tebiki.invalid"

    @property
    def is_head(self) -> bool:
        """所属長 of their unit."""
        return self.position == HEAD

    @property
    def is_chief_or_head(self) -> bool:
        return self.position in (CHIEF, HEAD)

    @property
    def is_hq(self) -> bool:
        return self.unit.is_hq

    @property
    def is_ward(self) -> bool:
        return self.unit.is_ward

    @property
    def role_label(self) -> str:
        label = f"{self.unit.kind_label} {self.position}"
        if self.is_head:
            label += "（所属長）"
        if self.is_admin:
            label += "・システム管理者"
        return label

    def __repr__(self) -> str:
        return f"<User {self.login}>"


class UserDuty(Model):
    """One 担当業務 tag of an account (窓口, 審査 …); a row per tag so targeting can query it."""

    __tablename__ = "user_duties"
    __table_args__ = (UniqueConstraint("user_id", "tag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    tag: Mapped[str] = mapped_column(String(30), index=True)


class LoginSession(Model):
    """One signed-in browser. The cookie carries a random token; only its SHA-256 is stored, so a
    copy of the database opens no session. A row that is ended (logout, password change,
    deactivation) or expired stops the cookie at once, from whichever browser it is replayed."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str] = mapped_column(String(20), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class LoginThrottle(Model):
    """Failed sign-in counters, keyed by a hash of (login, client address), login, address or
    (login, trusted device). Missing logins are counted exactly like existing ones."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    login_hash: Mapped[str] = mapped_column(String(64), index=True, default="")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    trusted: Mapped[bool] = mapped_column(Boolean, default=False)  # a device this login succeeded from
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PasswordToken(Model):
    """A one-time link for setting a password (new accounts from the roster, or an admin's reset):
    random, stored as SHA-256, valid until `expires_at`, used once."""

    __tablename__ = "password_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="joined")
