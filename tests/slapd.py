"""A real OpenLDAP server for tests and benchmarks: Debian's `slapd`, a temporary slapd.conf, a test CA
and server certificate made with `openssl` (LDAPS and StartTLS), an LDIF of people in the city's
units loaded with `slapadd`, on free loopback ports. No mocks."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
BASE_DN = "dc=city,dc=example,dc=jp"
ROOT_DN = f"cn=admin,{BASE_DN}"
ROOT_PW = "root-secret"
SERVICE_DN = f"cn=tebiki,ou=system,{BASE_DN}"
SERVICE_PW = "service-secret"
PEOPLE = f"ou=people,{BASE_DN}"
PASSWORD = "dir-pass-1"  # every generated person's directory password


def ssha(password: str) -> str:
    salt = os.urandom(8)
    return "{SSHA}" + base64.b64encode(hashlib.sha1(password.encode() + salt).digest() + salt).decode()


@dataclass
class Person:
    uid: str
    name: str
    employee_no: str
    department: str
    title: str
    mail: str = ""
    employee_type: str = ""  # "disabled": excluded by the user filter
    password: str = PASSWORD
    extra: dict[str, list[str]] = field(default_factory=dict)

    def ldif(self, password_hash: str) -> str:
        sn, _, given = self.name.partition(" ")
        lines = [f"dn: uid={self.uid},{PEOPLE}", "objectClass: inetOrgPerson", f"uid: {self.uid}",
                 f"cn: {self.name}", f"sn: {sn or self.name}", f"employeeNumber: {self.employee_no}",
                 f"departmentNumber: {self.department}", f"title: {self.title}",
                 f"mail: {self.mail or self.uid + '@city.example.lg.jp'}", f"userPassword: {password_hash}"]
        if given:
            lines.append(f"givenName: {given}")
        if self.employee_type:
            lines.append(f"employeeType: {self.employee_type}")
        for attr, values in self.extra.items():
            lines += [f"{attr}: {v}" for v in values]
        return "\n".join(_b64_if_needed(line) for line in lines) + "\n"


def _b64_if_needed(line: str) -> str:
    """LDIF values that are not plain ASCII are written base64 (attr:: value)."""
    attr, _, value = line.partition(": ")
    if value.isascii():
        return line
    return f"{attr}:: {base64.b64encode(value.encode()).decode()}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(directory: Path) -> dict[str, Path]:
    """A test CA and a server certificate for 127.0.0.1 / localhost signed by it."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Tebiki Test CA",
             "-keyout", "ca.key", "-out", "ca.pem", cwd=directory)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out",
             "server.csr", cwd=directory)
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
             "-extfile", "san.ext", "-out", "server.pem", cwd=directory)
    # A second CA that signed nothing here: a client trusting only it must refuse the server.
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Other CA",
             "-keyout", "other.key", "-out", "other-ca.pem", cwd=directory)
    os.chmod(directory / "server.key", 0o600)
    return {"ca": directory / "ca.pem", "other_ca": directory / "other-ca.pem"}


CONFIG = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile {dir}/ca.pem
TLSCertificateFile {dir}/server.pem
TLSCertificateKeyFile {dir}/server.key
# Like Active Directory's MaxPageSize: a plain search stops at 1000 entries, paged searches go on.
sizelimit size.soft=1000 size.hard=1000 size.prtotal=unlimited
database mdb
maxsize 1073741824
suffix "{base}"
rootdn "{root}"
rootpw {rootpw}
directory {dir}/db
index objectClass,uid,employeeNumber,employeeType eq
access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to *
  by dn.exact="{service}" read
  by self read
  by * none
"""


def base_ldif() -> str:
    return (f"dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\no: City\ndc: city\n\n"
            f"dn: ou=people,{BASE_DN}\nobjectClass: organizationalUnit\nou: people\n\n"
            f"dn: ou=system,{BASE_DN}\nobjectClass: organizationalUnit\nou: system\n\n"
            f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: tebiki\n"
            f"userPassword: {ssha(SERVICE_PW)}\n\n")


class Slapd:
    """A running slapd; `url(ldaps=…)`, `modify(uid, **attrs)` as the directory's administrator, `stop()`."""

    def __init__(self, directory: Path, people: Iterable[Person]) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "db").mkdir(exist_ok=True)
        self.certs = make_certificates(self.dir)
        conf = self.dir / "slapd.conf"
        conf.write_text(CONFIG.format(dir=self.dir, base=BASE_DN, root=ROOT_DN, rootpw=ROOT_PW, service=SERVICE_DN))
        hashes: dict[str, str] = {}
        with open(self.dir / "people.ldif", "w", encoding="utf-8") as f:
            f.write(base_ldif())
            for p in people:
                if p.password not in hashes:
                    hashes[p.password] = ssha(p.password)
                f.write(p.ldif(hashes[p.password]) + "\n")
        subprocess.run([SLAPADD, "-q", "-f", str(conf), "-l", str(self.dir / "people.ldif")], check=True,
                       capture_output=True)
        self.port, self.tls_port = free_port(), free_port()
        urls = f"ldap://127.0.0.1:{self.port}/ ldaps://127.0.0.1:{self.tls_port}/"
        self.log = open(self.dir / "slapd.log", "wb")  # noqa: SIM115 (closed in stop)
        # -d 0: stay in the foreground (our child, stopped by its pid) without debug output.
        self.process = subprocess.Popen([SLAPD, "-f", str(conf), "-h", urls, "-d", "0"], stdout=self.log,
                                        stderr=subprocess.STDOUT)
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("slapd が起動しませんでした: " + (self.dir / "slapd.log").read_text(errors="replace"))
            try:
                with socket.create_connection(("127.0.0.1", self.tls_port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("slapd が20秒以内に応答しませんでした")

    def url(self, *, ldaps: bool = True) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}" if ldaps else f"ldap://127.0.0.1:{self.port}"

    def settings(self, *, ldaps: bool = True, **extra: str) -> dict[str, str]:
        return {"LDAP_URL": self.url(ldaps=ldaps), "LDAP_BASE_DN": PEOPLE, "LDAP_BIND_DN": SERVICE_DN,
                "LDAP_BIND_PASSWORD": SERVICE_PW, "LDAP_CA_FILE": str(self.certs["ca"]),
                "LDAP_USER_FILTER": "(&(objectClass=inetOrgPerson)(uid={login})(!(employeeType=disabled)))",
                "LDAP_ATTRS": "login=uid,name=cn,employee_no=employeeNumber,mail=mail,unit=departmentNumber,"
                              "position=title", **extra}

    def _admin(self):  # type: ignore[no-untyped-def]
        import ssl

        from ldap3 import Connection, Server, Tls

        tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(self.certs["ca"]))
        return Connection(Server("127.0.0.1", port=self.tls_port, use_ssl=True, tls=tls), ROOT_DN, ROOT_PW,
                          auto_bind=True)

    def modify(self, uid: str, **attrs: str | None) -> None:
        self.modify_many({uid: attrs})

    def modify_many(self, people: dict[str, dict[str, str | None]]) -> None:
        """Change attributes of several people over one connection (None deletes the attribute)."""
        from ldap3 import MODIFY_DELETE, MODIFY_REPLACE

        conn = self._admin()
        try:
            for uid, attrs in people.items():
                changes = {attr: [(MODIFY_DELETE, [])] if value is None else [(MODIFY_REPLACE, [value])]
                           for attr, value in attrs.items()}
                assert conn.modify(f"uid={uid},{PEOPLE}", changes), conn.result
        finally:
            conn.unbind()

    def add(self, person: Person) -> None:
        conn = self._admin()
        try:
            sn, _, given = person.name.partition(" ")
            attrs = {"uid": person.uid, "cn": person.name, "sn": sn or person.name,
                     "employeeNumber": person.employee_no, "departmentNumber": person.department,
                     "title": person.title, "mail": person.mail or f"{person.uid}@city.example.lg.jp",
                     "userPassword": person.password}
            assert conn.add(f"uid={person.uid},{PEOPLE}", "inetOrgPerson", attrs), conn.result
        finally:
            conn.unbind()

    def delete(self, uid: str) -> None:
        conn = self._admin()
        try:
            assert conn.delete(f"uid={uid},{PEOPLE}"), conn.result
        finally:
            conn.unbind()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def city_people(count: int, *, start: int = 0) -> Iterator[Person]:
    """`count` people spread over the city's units (本庁 and every ward section), 担当 / 係長 / 課長."""
    from app.org import structure
    from app.seed import _generated_name

    units = [f"{group} {section}" for _kind, group, section in structure.all_units()]
    titles = ["課長", "係長", "主査", "主任", "主事", "主事", "技師", "主事"]
    for n in range(start, start + count):
        unit = units[n % len(units)]
        title = titles[(n // len(units)) % len(titles)]
        yield Person(uid=f"p{n:05d}", name=_generated_name(n), employee_no=f"{500000 + n}", department=unit,
                     title=title)


def start_slapd(directory: Path, people: Iterable[Person]) -> Slapd:
    if not (shutil.which("slapd") or os.path.exists(SLAPD)):
        raise RuntimeError("slapd がありません: apt-get install -y slapd ldap-utils")
    return Slapd(directory, people)
