"""Demo data for `flask seed demo`: the organisation, one account per kind of user and staff
in every section. Idempotent: what exists is left as it is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import audit
from app.errors import ValidationError
from app.manuals.document import FRONT_MATTER, ManualDoc, parse
from app.manuals.importer import import_documents
from app.manuals.models import Manual
from app.org import services as org
from app.org import structure
from app.org.models import CHIEF, HEAD, STAFF, Unit, User
from app.revisions import base, consultation, drafting, route
from app.revisions.drafting import DraftFields
from app.revisions.models import Revision
from app.wareki import JST, today_jst

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
    for number, acc in enumerate(demo_accounts(), start=1):
        if acc.login in existing:
            continue
        org.create_user(
            session, None, login=acc.login, name=acc.name, unit=org.find_unit(session, acc.unit),
            position=acc.position, password="", password_hash=password_hash, is_admin=acc.admin,
            email=f"{acc.login}@city.example.lg.jp", employee_no=employee_no(number),
        )
        added += 1
    return added


def employee_no(number: int) -> str:
    """Demo 職員番号: 100001, 100002 … in the order of `demo_accounts()` (hq.tanto is 100001)."""
    return f"{100000 + number}"


def seed_demo(session: Session) -> dict[str, int]:
    """Organisation, users and demo manuals with their history. Idempotent."""
    counts = {"units": org.seed_org(session), "users": seed_demo_users(session)}
    session.commit()
    counts.update(seed_demo_manuals(session))
    counts.update(seed_demo_rulings(session))
    if any(counts.values()):
        audit.record(session, None, "seed.demo", "system", "", **counts)
        from app.search.services import reindex

        reindex(session)
    return counts


def seed_demo_rulings(session: Session) -> dict[str, int]:
    """The demo 判断事例集 (imported as the city's existing rulings) and live inquiries in each state."""
    from app.rulings import services as rulings
    from app.rulings.importer import import_file
    from app.rulings.models import Inquiry

    if session.scalar(select(func.count(Inquiry.id))):
        return {"rulings": 0, "inquiries": 0}
    imported = import_file(session, DEMO_DIR / "rulings" / "rulings.csv")

    def manual(slug: str) -> Manual:
        return session.scalars(select(Manual).where(Manual.slug == slug)).one()

    ward, hq_staff, head = (staff(session, "青葉区 保険年金課", STAFF), staff(session, "健康福祉局 保険年金課", STAFF),
                            staff(session, "健康福祉局 保険年金課", HEAD))
    now = datetime.now(JST)

    def ask(days: int, user: User, **kw: object) -> Inquiry:
        """An inquiry filed `days` ago (the demo shows 経過日数 and the 14-day check)."""
        when = now - timedelta(days=days, hours=days % 5)
        with audit.dated(when):
            inquiry = rulings.file_inquiry(session, user, **kw)  # type: ignore[arg-type]
            session.flush()
        inquiry.asked_on, inquiry.created_at, inquiry.updated_at = when.date(), when, when
        return inquiry

    def answer(inquiry: Inquiry, days: int, **kw: object) -> None:
        with audit.dated(now - timedelta(days=days)):
            rulings.save_answer(session, hq_staff, inquiry, submit=True, **kw)  # type: ignore[arg-type]

    ask(3, ward, kind="疑義照会", subject="資格喪失届の添付書類として離職票の写しは足りるか",
        body="社会保険の資格取得に伴う国保の資格喪失届で、被用者保険の資格確認書類の代わりに離職票の写しを持参した方がいる。"
             "受け付けてよいか。", manual=manual("kokuho-shikaku"))
    awaiting = ask(9, staff(session, "泉区 保険年金課", STAFF), kind="疑義照会", subject="減免申請の期限を過ぎた場合の取扱い",
                   body="災害による減免申請が納期限を3日過ぎて提出された。やむを得ない理由があるが、受け付けてよいか。",
                   manual=manual("kokuho-hokenryo-genmen"), urgency="至急")
    answer(awaiting, 7, answer="やむを得ない理由が確認できる場合は受け付けて差し支えない。",
           basis="国民健康保険料減免取扱要領 第4", tags=["減免", "期限"], share_all=True)
    private = ask(27, ward, kind="疑義照会", subject="窓口での受付時間外の届出",
                  body="閉庁間際に来庁し、受付が終わらなかった方の届出日をいつとするか。", manual=manual("kokuho-shikaku"))
    answer(private, 25, answer="来庁した日を受付日として差し支えない。", basis="手引き 第2章", tags=["受付日"],
           share_all=False)
    approved_at = now - timedelta(days=24)
    with audit.dated(approved_at):
        rulings.approve(session, head, private, now=approved_at)
    ask(1, ward, kind="改善提案", subject="必要書類の表に在留カードの確認事項を追加してほしい",
        body="外国人住民の資格取得届で在留期間の確認が漏れやすいため、表に在留カードの確認事項を追加してほしい。",
        manual=manual("kokuho-shikaku"))
    ask(18, staff(session, "宮城野区 保険年金課", STAFF), kind="疑義照会", subject="世帯主変更と同時の国保の世帯分離",
        body="転居と同時に世帯分離をする届出があった。国保の資格の異動日は住民異動日と同じでよいか。",
        manual=manual("kokuho-shikaku"))
    session.commit()
    return {"rulings": len(imported), "inquiries": 5}


# --- demo manuals ------------------------------------------------------------------------------

DEMO_DIR = Path(__file__).resolve().parent / "demo"


def staff(session: Session, unit_name: str, position: str) -> User:
    user = session.scalar(select(User).join(User.unit).where(
        Unit.name == unit_name, User.position == position, User.active.is_(True)).order_by(User.id))
    if user is None:
        raise ValidationError(f"デモデータ: {unit_name} に{position}の職員がいません。")
    return user


def _jst(d: date, hour: int = 10) -> datetime:
    return datetime.combine(d, time(hour), tzinfo=JST)


def _revision_file(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    m = FRONT_MATTER.match(text)
    if not m:
        raise ValidationError(f"デモデータ {path} に前付けがありません。")
    return yaml.safe_load(m.group(1)) or {}, text[m.end():]


def _add_sentence(body: str, sentence: str) -> str:
    """A small realistic edit: one sentence added to the first paragraph after the first ## heading."""
    lines = body.split("\n")
    start = next((i for i, line in enumerate(lines) if line.startswith("## ")), 0)
    for j in range(start + 1, len(lines)):
        if lines[j].strip() and not lines[j].startswith(("#", "|", "-", "1.")):
            lines[j] += sentence
            break
    return "\n".join(lines)


def _fields_from(doc: ManualDoc, **changes: object) -> DraftFields:
    fields = DraftFields(title=doc.title, targets=doc.targets, tags=doc.tags, effective=doc.effective,
                         review_months=doc.review_months, body=doc.body, reason="", summary="")
    for key, value in changes.items():
        setattr(fields, key, value)
    return fields


def seed_demo_manuals(session: Session) -> dict[str, int]:
    """The demo manuals (第1版) and their later revisions, published in date order through the real
    workflow (担当 drafts, 係長 審査, 課長 決裁), so main reads like years of real history."""
    if session.scalar(select(func.count(Manual.id))):
        return {"manuals": 0, "revisions": 0}
    events: list[tuple[datetime, str, Path]] = []
    manual_files = sorted((DEMO_DIR / "manuals").glob("*.md"))
    for path in manual_files:
        doc = parse(path.read_text(encoding="utf-8"))
        events.append((_jst((doc.effective or date(2023, 4, 1)) - timedelta(days=30)), "import", path))
    for rev_dir in sorted((DEMO_DIR / "revisions").iterdir()):
        for path in rev_dir.glob("*.md"):
            meta, _body = _revision_file(path)
            events.append((_jst(date.fromisoformat(str(meta["effective"])) - timedelta(days=24)), "revise", path))
    published = 0
    for when, kind, path in sorted(events):
        if kind == "import":
            doc = parse(path.read_text(encoding="utf-8"))
            with audit.dated(when):
                (manual,) = import_documents(session, [(path.name, path.read_text(encoding="utf-8"))],
                                             as_user=staff(session, doc.owner, HEAD), when=when)
                manual.manager = staff(session, doc.owner, STAFF)
                session.commit()
            continue
        found = session.scalar(select(Manual).where(Manual.slug == path.parent.name))
        if found is None:
            continue
        manual = found
        owner = manual.owner_unit.name
        drafter, chief, head = (staff(session, owner, p) for p in (STAFF, CHIEF, HEAD))
        meta, body = _revision_file(path)
        # Each step is logged on its own (historical) day, as the approvals record it.
        with audit.dated(when):
            revision = drafting.open_revision(session, drafter, manual, now=when)
            doc = parse(base.current_text(revision))
            drafting.save_draft(session, drafter, revision, _fields_from(
                doc, body=body, effective=date.fromisoformat(str(meta["effective"])),
                reason=str(meta.get("reason", "")), summary=str(meta.get("summary", ""))),
                expected_head=revision.head_commit, now=when)
        with audit.dated(when + timedelta(hours=2)):
            route.submit(session, drafter, revision, now=when + timedelta(hours=2))
        with audit.dated(when + timedelta(days=1)):
            route.approve(session, chief, revision, "内容を確認しました。", now=when + timedelta(days=1))
        with audit.dated(when + timedelta(days=3)):
            route.approve(session, head, revision, now=when + timedelta(days=3))
            session.commit()  # each publication's reactions (notices, index) run after its commit
        published += 1
    _seed_confirmations(session)
    open_states = _seed_open_revisions(session)
    session.commit()
    return {"manuals": len(manual_files), "revisions": published + open_states}


def _seed_confirmations(session: Session) -> None:
    """Most wards confirmed the past notices; a few (泉区, 秋保総合支所) left the latest ones open."""
    from app.notices import inbox as notices
    from app.notices.models import PENDING, Notice

    latest: dict[int | None, int] = {}
    for n in session.scalars(select(Notice).where(Notice.revision_id.is_not(None)).order_by(Notice.id)):
        latest[n.manual_id] = max(latest.get(n.manual_id, 0), n.revision_id or 0)
    heads = {u.unit_id: u for u in session.scalars(select(User).where(User.position == HEAD))}
    for n in list(session.scalars(select(Notice).where(Notice.status == PENDING, Notice.owner_copy.is_(False)))):
        if n.revision_id == latest.get(n.manual_id) and n.unit.group_name in ("泉区", "秋保総合支所"):
            continue
        head = heads.get(n.unit_id)
        if head is not None:
            notices.confirm(session, head, n, "課内で説明済み")
    session.commit()


def _seed_open_revisions(session: Session) -> int:
    """One revision in each workflow state, so every screen has something to show."""
    now = datetime.now(JST)
    count = 0

    def manual(slug: str) -> Manual | None:
        return session.scalar(select(Manual).where(Manual.slug == slug))

    def start(slug: str, sentence: str, reason: str) -> tuple[Revision, User] | None:
        m = manual(slug)
        if m is None:
            return None
        drafter = staff(session, m.owner_unit.name, STAFF)
        with audit.dated(now - timedelta(days=5)):
            revision = drafting.open_revision(session, drafter, m, now=now - timedelta(days=5))
            doc = parse(base.current_text(revision))
            drafting.save_draft(session, drafter, revision, _fields_from(
                doc, body=_add_sentence(doc.body, sentence), effective=today_jst() + timedelta(days=60), reason=reason,
                summary=""), expected_head=revision.head_commit, now=now - timedelta(days=5))
        return revision, drafter

    # 意見照会中, with comments from two wards.
    started = start("kokuho-shikaku", "なお、郵送による届出の場合は、到達日を受付日とする。",
                    "郵送による届出の受付日の取扱いを明確にする。")
    if started:
        revision, drafter = started
        consultation.start_consultation(session, drafter, revision, today_jst() + timedelta(days=14))
        from app.markdown import split_sections

        anchors = [s.anchor for s in split_sections(parse(base.current_text(revision)).body) if s.anchor]
        consultation.add_comment(session, staff(session, "青葉区 保険年金課", STAFF), revision, anchor=anchors[1],
                        body="郵送の場合、消印日ではなく到達日とする根拠（条例・規則の条項）も記載してほしい。")
        consultation.add_comment(session, staff(session, "泉区 保険年金課", STAFF), revision, anchor="",
                        body="窓口と郵送で受付日の扱いが異なる事例が多いため、具体例を1つ追加してほしい。")
        count += 1
    # 決裁中 (waiting for the 係長's 審査).
    started = start("kokuho-hokenryo-genmen", "申請は、原則として納期限の7日前までに行うものとする。",
                    "減免申請の期限の目安を追記する。")
    if started:
        revision, drafter = started
        route.submit(session, drafter, revision)
        count += 1
    # 起案中 after a 差戻し.
    started = start("kouki-koureisha-todokede", "届出書の記載事項に漏れがある場合は、その場で補正を求める。",
                    "届出書の補正の取扱いを追記する。")
    if started:
        revision, drafter = started
        route.submit(session, drafter, revision)
        chief = staff(session, revision.manual.owner_unit.name, CHIEF)
        route.return_revision(session, chief, revision, "補正を求める根拠規定を併記してください。")
        count += 1
    # 取下げ.
    started = start("shougaisha-techou", "再交付の申請は、本人のほか代理人も行うことができる。",
                    "再交付申請の代理人の取扱いを追記する。")
    if started:
        revision, drafter = started
        route.withdraw(session, drafter, revision, "国の通知を待って改めて起案するため。")
        count += 1
    return count
