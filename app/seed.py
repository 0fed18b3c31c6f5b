"""Demo data for `flask seed demo`: the organisation, one account per kind of user and staff
in every section. Idempotent: what exists is left as it is."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit
from app.org import services as org
from app.org import structure
from app.org.models import CHIEF, HEAD, STAFF, User

DEMO_PASSWORD = "tebiki-demo"


@dataclass(frozen=True)
class DemoLogin:
    login: str
    name: str
    unit: str
    position: str
    admin: bool = False
    role: str = ""


# One per kind of user: these are printed by `make run`.
KEY_USERS: list[DemoLogin] = [
    DemoLogin("hq.tanto", "佐藤 健一", "健康福祉局 保険年金課", STAFF, role="本庁 担当（起案）"),
    DemoLogin("hq.kakaricho", "鈴木 美香", "健康福祉局 保険年金課", CHIEF, role="本庁 係長（審査）"),
    DemoLogin("hq.kacho", "高橋 誠", "健康福祉局 保険年金課", HEAD, role="本庁 課長（決裁・所属長）"),
    DemoLogin("aoba.tanto", "田中 陽子", "青葉区 保険年金課", STAFF, role="区役所 担当"),
    DemoLogin("aoba.kacho", "伊藤 大輔", "青葉区 保険年金課", HEAD, role="区役所 課長（所属長）"),
    DemoLogin("admin", "渡辺 直子", "総務局 コンプライアンス推進担当", HEAD, admin=True,
              role="システム管理者（コンプライアンス推進担当）"),
]

OFFICE_KEYS = {
    "青葉区": "aoba", "宮城野区": "miyagino", "若林区": "wakabayashi", "太白区": "taihaku",
    "泉区": "izumi", "宮城総合支所": "miyagi", "秋保総合支所": "akiu",
}
SECTION_KEYS = {
    "戸籍住民課": "koseki", "保険年金課": "hoken", "障害高齢課": "shogai", "保護課": "hogo",
    "家庭健康課": "katei", "保育給付課": "hoiku", "税務課": "zeimu", "納税課": "nozei",
    "まちづくり推進課": "machi", "総務課": "somu",
}
HQ_KEYS = {
    "市民局 戸籍住民課": "koseki", "市民局 区政課": "kusei", "健康福祉局 保険年金課": "hoken",
    "健康福祉局 障害企画課": "shogai", "健康福祉局 保護自立支援課": "hogo", "健康福祉局 介護保険課": "kaigo",
    "こども若者局 こども家庭保健課": "kodomo", "こども若者局 運営支援課": "unei",
    "財政局 課税企画課": "kazei", "財政局 収納対策課": "shuno", "総務局 コンプライアンス推進担当": "compliance",
}
POSITION_KEYS = {STAFF: "tanto", CHIEF: "kakaricho", HEAD: "kacho"}

SURNAMES = ["阿部", "佐々木", "菅原", "千葉", "及川", "小野寺", "斎藤", "遠藤", "大友", "今野", "三浦", "庄司",
            "加藤", "吉田", "山田", "佐野", "相沢", "熊谷", "木村", "松本", "石川", "後藤", "清水", "桜井"]
GIVEN = ["裕子", "浩二", "恵", "聡", "由美", "修", "明美", "隆", "智子", "学", "真理", "亮", "香織", "剛",
         "和子", "拓也", "美穂", "博", "理恵", "健太", "沙織", "淳", "幸子", "翔"]


def _generated_name(i: int) -> str:
    return f"{SURNAMES[i % len(SURNAMES)]} {GIVEN[(i * 7 + i // len(SURNAMES)) % len(GIVEN)]}"


def demo_accounts() -> list[DemoLogin]:
    """Every demo account: the key users plus 担当・係長・課長 in every section not covered by them."""
    accounts = list(KEY_USERS)
    taken = {(a.unit, a.position) for a in KEY_USERS}
    i = 0
    units = [f"{g} {s}" for g, s in structure.HQ_UNITS] + [
        f"{o} {s}" for o in structure.WARD_OFFICES for s in structure.ward_sections(o)
    ]
    for unit in units:
        if unit in HQ_KEYS:
            prefix = f"{HQ_KEYS[unit]}.hq"
        else:
            office, section = unit.split(" ", 1)
            prefix = f"{OFFICE_KEYS[office]}.{SECTION_KEYS[section]}"
        for position in (STAFF, CHIEF, HEAD):
            if (unit, position) in taken:
                continue
            i += 1
            accounts.append(DemoLogin(f"{prefix}.{POSITION_KEYS[position]}", _generated_name(i), unit, position))
    return accounts


def seed_demo_users(session: Session) -> int:
    existing = set(session.scalars(select(User.login)))
    # One hash for every demo account: seeding hundreds of users must not take minutes.
    password_hash = org.hash_password(DEMO_PASSWORD)
    added = 0
    for acc in demo_accounts():
        if acc.login in existing:
            continue
        org.create_user(
            session, None, login=acc.login, name=acc.name, unit=org.find_unit(session, acc.unit),
            position=acc.position, password="", password_hash=password_hash, is_admin=acc.admin,
            email=f"{acc.login}@city.example.lg.jp",
        )
        added += 1
    return added


def seed_demo(session: Session) -> dict[str, int]:
    """Organisation, users and (as capabilities land) demo content. Idempotent."""
    counts = {"units": org.seed_org(session), "users": seed_demo_users(session)}
    for step in DEMO_STEPS:
        counts.update(step(session))
    if any(counts.values()):
        audit.record(session, None, "seed.demo", "system", "", **counts)
    return counts


# Later capabilities append their demo seeding here (each returns counts of what it added).
DEMO_STEPS: list = []
