"""The directory client (ldap3): LDAPS (`ldaps://`) or StartTLS (`ldap://`, always upgraded before
any bind), the server's certificate checked against LDAP_CA_FILE; a password never travels in clear.

People are found with the service account (LDAP_BIND_DN) by LDAP_USER_FILTER under LDAP_BASE_DN, then
the person's own password is checked by binding as their DN on a separate connection. The sync reads
everyone matching LDAP_SYNC_FILTER with a paged search (Active Directory returns at most 1,000
entries per page).
"""

from __future__ import annotations

import contextlib
import ssl
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import current_app

from app.errors import TebikiError

FIELDS = ("login", "name", "employee_no", "mail", "unit", "position", "fixed_term", "duties")
REQUIRED_FIELDS = ("login", "name", "unit")
DEFAULT_ATTRS = "login=uid,name=cn,employee_no=employeeNumber,mail=mail,unit=departmentNumber,position=title"
DEFAULT_FILTER = "(&(objectClass=inetOrgPerson)(uid={login}))"


class DirectoryError(TebikiError):
    """The directory cannot be used now (down, TLS refused, misconfigured): no account is judged."""

    status = 503


class SettingsError(TebikiError):
    status = 500


def parse_attrs(text: str) -> dict[str, str]:
    """`name=cn,unit=departmentNumber,…` → {field: attribute}."""
    mapping: dict[str, str] = {}
    problems = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, sep, attr = (s.strip() for s in part.partition("="))
        if not sep or not attr:
            problems.append(f"「{part}」は 項目=属性 の形で書いてください")
        elif key not in FIELDS:
            problems.append(f"項目「{key}」はありません（使える項目: {', '.join(FIELDS)}）")
        else:
            mapping[key] = attr
    missing = [f for f in REQUIRED_FIELDS if f not in mapping]
    if missing:
        problems.append(f"必須の項目 {', '.join(missing)} がありません")
    if problems:
        raise SettingsError("LDAP_ATTRS の設定に誤りがあります。", details=problems)
    return mapping


@dataclass(frozen=True)
class Settings:
    url: str
    base_dn: str
    bind_dn: str
    bind_password: str
    user_filter: str
    sync_filter: str
    attrs: dict[str, str]
    ca_file: str | None
    timeout: float = 10.0

    @classmethod
    def from_config(cls, cfg: Any = None) -> Settings | None:
        cfg = cfg if cfg is not None else current_app.config
        url = (cfg.get("LDAP_URL") or "").strip()
        if not url:
            return None
        if urlsplit(url).scheme not in ("ldap", "ldaps"):
            raise SettingsError(f"LDAP_URL「{url}」は ldaps://ホスト:636 または ldap://ホスト:389（StartTLS）で書いてください。")
        user_filter = (cfg.get("LDAP_USER_FILTER") or DEFAULT_FILTER).strip()
        if "{login}" not in user_filter:
            raise SettingsError("LDAP_USER_FILTER に {login} がありません（例: (uid={login})）。")
        return cls(url=url, base_dn=(cfg.get("LDAP_BASE_DN") or "").strip(), bind_dn=cfg.get("LDAP_BIND_DN") or "",
                   bind_password=cfg.get("LDAP_BIND_PASSWORD") or "", user_filter=user_filter,
                   sync_filter=(cfg.get("LDAP_SYNC_FILTER") or user_filter.replace("{login}", "*")).strip(),
                   attrs=parse_attrs(cfg.get("LDAP_ATTRS") or DEFAULT_ATTRS), ca_file=cfg.get("LDAP_CA_FILE") or None,
                   timeout=float(cfg.get("LDAP_TIMEOUT") or 10))


def _clean(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value).split())


@dataclass
class Entry:
    """One person as the directory describes them (values NFKC-normalised, spaces collapsed)."""

    dn: str
    login: str
    name: str
    employee_no: str = ""
    mail: str = ""
    units: list[str] = field(default_factory=list)  # every value of the unit attribute (e.g. memberOf)
    title: str = ""
    fixed_term: str = ""
    duties: list[str] = field(default_factory=list)


def _close(conn: Any) -> None:
    """Unbind, ignoring a connection that is already broken (e.g. after a refused TLS handshake)."""
    from ldap3.core.exceptions import LDAPException

    with contextlib.suppress(LDAPException, OSError):
        conn.unbind()


class Directory:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        parts = urlsplit(settings.url)
        self.host = parts.hostname or ""
        self.ldaps = parts.scheme == "ldaps"
        self.port = parts.port or (636 if self.ldaps else 389)

    @classmethod
    def from_app(cls) -> Directory:
        settings = Settings.from_config()
        if settings is None:
            raise SettingsError("ディレクトリ（LDAP_URL）が設定されていません。")
        return cls(settings)

    # --- connections ---------------------------------------------------------------------------

    def _server(self):  # type: ignore[no-untyped-def]
        from ldap3 import NONE, Server, Tls

        tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=self.settings.ca_file,
                  version=ssl.PROTOCOL_TLS_CLIENT)
        return Server(self.host, port=self.port, use_ssl=self.ldaps, tls=tls, get_info=NONE,
                      connect_timeout=int(self.settings.timeout))

    def _bind(self, dn: str, password: str):  # type: ignore[no-untyped-def]
        """An open, TLS-protected connection bound as `dn`, or None when the directory refuses the
        credentials. DirectoryError when the directory cannot be reached safely."""
        from ldap3 import Connection
        from ldap3.core.exceptions import LDAPException

        if not password:  # an empty password would be an anonymous bind, which "succeeds"
            return None
        conn = Connection(self._server(), user=dn, password=password, read_only=True, raise_exceptions=False,
                          receive_timeout=int(self.settings.timeout))  # ldap3 packs it as an integer
        try:
            conn.open()
            if not self.ldaps and not conn.start_tls():
                raise DirectoryError("ディレクトリとの通信を暗号化（StartTLS）できないため、接続を中止しました。")
            if conn.bind():
                return conn
            code = (conn.result or {}).get("result")
            _close(conn)
            if code in (49, 50, 53):  # invalidCredentials, insufficientAccessRights, unwillingToPerform
                return None
            raise DirectoryError(f"ディレクトリがログインを受け付けませんでした（{(conn.result or {}).get('description')}）。")
        except LDAPException as exc:
            _close(conn)
            raise DirectoryError(
                f"ディレクトリ（{self.host}:{self.port}）に安全に接続できません（{type(exc).__name__}）。"
                "しばらくしてから再度お試しください。続く場合はシステム管理者に連絡してください。") from None

    def _service(self):  # type: ignore[no-untyped-def]
        conn = self._bind(self.settings.bind_dn, self.settings.bind_password)
        if conn is None:
            raise DirectoryError("ディレクトリの検索用アカウント（LDAP_BIND_DN）でログインできません。設定を確認してください。")
        return conn

    # --- people --------------------------------------------------------------------------------

    def _attributes(self) -> list[str]:
        return sorted(set(self.settings.attrs.values()))

    def _entry(self, dn: str, raw: dict[str, list[bytes]]) -> Entry | None:
        values = {k.lower(): [v.decode("utf-8", "replace") for v in vs] for k, vs in raw.items()}

        def get(name: str) -> list[str]:
            attr = self.settings.attrs.get(name)
            return [_clean(v) for v in values.get(attr.lower(), [])] if attr else []

        login, name = (get("login") or [""])[0], (get("name") or [""])[0]
        if not login or not name:
            return None
        return Entry(dn=dn, login=login, name=name, employee_no=(get("employee_no") or [""])[0],
                     mail=(get("mail") or [""])[0], units=[u for u in get("unit") if u],
                     title=(get("position") or [""])[0], fixed_term=(get("fixed_term") or [""])[0],
                     duties=[d for d in get("duties") if d])

    def find(self, login: str, conn: Any = None) -> Entry | None:
        from ldap3 import SUBTREE
        from ldap3.utils.conv import escape_filter_chars

        own = conn is None
        conn = conn or self._service()
        try:
            query = self.settings.user_filter.replace("{login}", escape_filter_chars(login))
            conn.search(self.settings.base_dn, query, SUBTREE, attributes=self._attributes(), size_limit=2)
            found = [r for r in conn.response or [] if r.get("type") == "searchResEntry"]
            if len(found) != 1:  # none, or an ambiguous filter: nobody
                return None
            return self._entry(found[0]["dn"], found[0].get("raw_attributes") or {})
        finally:
            if own:
                _close(conn)

    def authenticate(self, login: str, password: str) -> Entry | None:
        """The person if the directory lists them (by the filter, so a disabled person is not found)
        and their password binds; else None."""
        conn = self._service()
        try:
            entry = self.find(login, conn)
        finally:
            _close(conn)
        if entry is None:
            # The same round trip as a wrong password, so the answer's timing tells nothing.
            self._bind(f"cn=nobody-{len(login)},{self.settings.base_dn}", password or "x")
            return None
        user_conn = self._bind(entry.dn, password)
        if user_conn is None:
            return None
        _close(user_conn)
        return entry

    def people(self, page_size: int = 500) -> Iterator[Entry]:
        """Everyone matching LDAP_SYNC_FILTER, page by page."""
        from ldap3 import SUBTREE

        conn = self._service()
        try:
            for item in conn.extend.standard.paged_search(self.settings.base_dn, self.settings.sync_filter, SUBTREE,
                                                          attributes=self._attributes(), paged_size=page_size,
                                                          generator=True):
                if item.get("type") != "searchResEntry":
                    continue
                entry = self._entry(item["dn"], item.get("raw_attributes") or {})
                if entry is not None:
                    yield entry
            result = conn.result or {}
            if result.get("result") not in (0, None):
                raise DirectoryError(f"ディレクトリの検索が途中で終わりました（{result.get('description')}）。"
                                     "何も変更していません。")
        finally:
            _close(conn)
