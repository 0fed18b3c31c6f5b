"""Manual management, city-wide checks, 事務引継書 and the 人事異動 import."""

from __future__ import annotations

import csv
from datetime import date, timedelta

import pytest
from flask import Flask

from app.errors import Conflict, PermissionDenied, ValidationError
from app.extensions import db
from app.handover import checks, handovers, importer, management
from app.handover.models import CONFIRMED, NOT_STARTED, SUBMITTED, Handover, StaffTransfer
from app.manuals.models import Manual
from app.org.models import User
from app.revisions.models import Revision
from app.wareki import now_utc, today_jst
from tests.conftest import csrf_token, login, post
from tests.helpers import make_manual, user

pytestmark = pytest.mark.usefixtures("demo_users")


def managed(slug: str = "test-manual", manager: str = "hq.tanto", overdue: bool = False) -> Manual:
    manual = make_manual(slug)
    manual.manager = user(manager)
    if overdue:
        manual.last_reviewed_at = manual.last_published_at = now_utc() - timedelta(days=400)
    db.session.commit()
    return manual


def test_review_dates() -> None:
    assert management.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert management.add_months(date(2024, 11, 15), 14) == date(2026, 1, 15)
    manual = managed(overdue=True)
    assert management.review_state(manual) == "overdue"
    manual.last_reviewed_at = now_utc() - timedelta(days=350)
    assert management.review_state(manual) == "soon"


def test_review_verdicts_and_permissions() -> None:
    manual = managed(overdue=True)
    with pytest.raises(PermissionDenied):
        management.record_review(db.session, user("aoba.kacho"), manual, "continue", "x")
    with pytest.raises(ValidationError, match="理由"):
        management.record_review(db.session, user("hq.tanto"), manual, "continue", "")
    management.record_review(db.session, user("hq.tanto"), manual, "continue", "法改正なし。現行どおり")
    assert management.review_state(manual) == ""
    review = management.record_review(db.session, user("hq.kacho"), manual, "revise", "様式の改正に対応")
    assert db.session.get(Revision, review.revision_id).kind == "revise"
    db.session.commit()
    other = managed("other-manual")
    abolish = management.record_review(db.session, user("hq.tanto"), other, "abolish", "制度廃止")
    assert db.session.get(Revision, abolish.revision_id).kind == "obsolete"


def test_set_manager_rules() -> None:
    manual = managed()
    with pytest.raises(PermissionDenied):
        management.set_manager(db.session, user("hq.tanto"), manual, user("hq.kakaricho"))  # a 担当 cannot
    with pytest.raises(ValidationError, match="所管課"):
        management.set_manager(db.session, user("hq.kacho"), manual, user("aoba.tanto"))
    management.set_manager(db.session, user("hq.kacho"), manual, user("hq.kakaricho"))
    assert manual.manager.login == "hq.kakaricho"


def test_findings_catch_what_falls_through() -> None:
    from app.notices.models import Notice
    from app.rulings import services as rulings

    no_manager = make_manual("no-manager")
    overdue = managed("overdue", overdue=True)
    moved = managed("moved", manager="hq.kakaricho")
    moved.manager.unit_id = user("aoba.tanto").unit_id  # the manager left the owner unit
    from app.revisions import drafting

    idle = drafting.open_revision(db.session, user("hq.tanto"), overdue)
    idle.updated_at = now_utc() - timedelta(days=70)
    inquiry = rulings.file_inquiry(db.session, user("aoba.tanto"), kind="疑義照会", subject="古い照会", body="x",
                                   manual=no_manager)
    inquiry.asked_on = today_jst() - timedelta(days=20)
    db.session.commit()
    kinds = {(f.kind, f.ref_id) for f in checks.findings(db.session)}
    assert ("no_manager", no_manager.id) in kinds
    assert ("review_overdue", overdue.id) in kinds
    assert ("manager_invalid", moved.id) in kinds
    assert ("draft_idle", idle.id) in kinds
    assert ("inquiry_unanswered", inquiry.id) in kinds
    notice = Notice(unit_id=user("aoba.tanto").unit_id, kind="改正", title="t", due_date=today_jst() - timedelta(days=1),
                    status="pending")
    db.session.add(notice)
    db.session.commit()
    ward = {f.kind for f in checks.findings(db.session, unit_id=user("aoba.kacho").unit_id)}
    assert "notice_overdue" in ward and "no_manager" not in ward  # a unit sees its own
    assert all(f.link for f in checks.findings(db.session))


def test_handover_generated_submitted_and_confirmed() -> None:
    manual = managed(overdue=True)
    second = managed("second")
    with pytest.raises(PermissionDenied):
        handovers.start(db.session, user("aoba.kacho"), user("hq.tanto"))  # not their 所属長
    handover = handovers.start(db.session, user("hq.tanto"), user("hq.tanto"))
    items = {i.ref_id: i for i in handover.manual_items}
    assert set(items) == {manual.id, second.id}
    assert items[manual.id].flag == "見直し期限超過" and "第1版" in items[manual.id].detail
    assert handovers.start(db.session, user("hq.kacho"), user("hq.tanto")) is handover  # one open per post
    with pytest.raises(ValidationError, match="後任者が決まっていない"):
        handovers.save(db.session, user("hq.tanto"), handover, duties="国保資格", concerns="", default_successor_id=None,
                notes={}, successors={}, submit=True)
    with pytest.raises(ValidationError, match="同じ所属"):
        handovers.save(db.session, user("hq.tanto"), handover, duties="国保資格", concerns="",
                default_successor_id=user("aoba.tanto").id, notes={}, successors={}, submit=True)
    with pytest.raises(PermissionDenied):
        handovers.save(db.session, user("hq.kacho"), handover, duties="x", concerns="", default_successor_id=None, notes={},
                successors={})
    handovers.save(db.session, user("hq.tanto"), handover, duties="国民健康保険の資格事務", concerns="見直しが遅れている",
            default_successor_id=user("hq.kakaricho").id, notes={items[manual.id].id: "様式改正待ち"},
            successors={items[second.id].id: user("hq.kacho").id}, submit=True)
    assert handover.status == SUBMITTED
    with pytest.raises(PermissionDenied, match="本人"):
        handovers.confirm(db.session, user("hq.tanto"), handover)
    with pytest.raises(PermissionDenied):
        handovers.confirm(db.session, user("hq.kakaricho"), handover)  # not the 所属長
    with pytest.raises(ValidationError, match="差戻しの理由"):
        handovers.send_back(db.session, user("hq.kacho"), handover, "")
    handovers.confirm(db.session, user("hq.kacho"), handover)
    assert handover.status == CONFIRMED and handover.confirmed_by_name == "高橋 誠"
    assert manual.manager.login == "hq.kakaricho" and second.manager.login == "hq.kacho"
    with pytest.raises(Conflict):
        handovers.confirm(db.session, user("hq.kacho"), handover)


def test_ward_handover_lists_pending_notices_and_open_inquiries() -> None:
    from app.rulings import services as rulings
    from tests.helpers import approve_all, revise

    manual = make_manual()
    approve_all(revise(manual, "hq.tanto", "14日以内", "21日以内"))
    rulings.file_inquiry(db.session, user("aoba.tanto"), kind="疑義照会", subject="未回答の照会", body="x", manual=manual)
    db.session.commit()
    handover = handovers.start(db.session, user("aoba.tanto"), user("aoba.tanto"))
    kinds = {i.kind: i.label for i in handover.items}
    assert "notice" in kinds and "テスト事務の手引き" in kinds["notice"]
    assert kinds["asked"] == "未回答の照会"


HEADER = ["職員番号", "氏名", "異動前所属", "異動後所属", "職", "発令日"]


def write(path, rows) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(rows)


def test_staff_import_all_or_nothing_then_exact_handovers(tmp_path) -> None:
    manual = managed()
    day = (today_jst() + timedelta(days=10)).isoformat()
    good = [["100001", "佐藤 健一", "健康福祉局 保険年金課", "青葉区 保険年金課", "担当", day],
            ["100004", "田中 陽子", "青葉区 保険年金課", "健康福祉局 保険年金課", "係長", day]]
    bad = [*good, ["999999", "誰か", "青葉区 保険年金課", "泉区 総務課", "部長", "来年"]]
    path = tmp_path / "idou.csv"
    write(path, bad)
    with pytest.raises(ValidationError) as exc:
        importer.validate(db.session, importer.read_file(path))
    details = "\n".join(exc.value.details)
    assert "4行目: 職員番号「999999」の職員は登録されていません" in details
    assert "4行目: 職「部長」は 担当・係長・課長 のいずれかにしてください" in details
    assert "4行目: 発令日「来年」は日付（2027-04-01、令和9年4月1日、R9.4.1 など）で書いてください" in details
    with pytest.raises(ValidationError):
        importer.apply(db.session, None, importer.read_file(path))
    db.session.rollback()
    assert db.session.query(Handover).count() == 0 and db.session.query(StaffTransfer).count() == 0
    write(path, good)
    preview = importer.validate(db.session, importer.read_file(path))
    assert [(m.title, u.login) for m, u in preview.manuals_losing_manager] == [(manual.title, "hq.tanto")]
    rnd = importer.apply(db.session, None, importer.read_file(path), file_name="idou.csv")
    db.session.commit()
    opened = db.session.query(Handover).filter_by(round_id=rnd.id).all()
    assert sorted(h.user.login for h in opened) == ["aoba.tanto", "hq.tanto"]
    assert all(h.status == NOT_STARTED and h.due_date.isoformat() == day for h in opened)
    assert user("hq.tanto").unit.name == "健康福祉局 保険年金課"  # not moved before the 発令日
    assert importer.move_due(db.session, today_jst() + timedelta(days=10)) == 2
    db.session.commit()
    assert user("hq.tanto").unit.name == "青葉区 保険年金課"
    assert (user("aoba.tanto").unit.name, user("aoba.tanto").position) == ("健康福祉局 保険年金課", "係長")
    assert importer.move_due(db.session, today_jst() + timedelta(days=11)) == 0
    # the name and current unit must match the account
    write(path, [["100002", "別人 名前", "青葉区 保険年金課", "泉区 総務課", "担当", day]])
    with pytest.raises(ValidationError) as exc:
        importer.validate(db.session, importer.read_file(path))
    assert any("氏名「別人 名前」" in d for d in exc.value.details)
    assert any("現在の所属" in d for d in exc.value.details)


def test_staff_import_cli_and_retirement(app: Flask, tmp_path) -> None:
    from tests.test_foundation import _flask

    path = tmp_path / "idou.csv"
    write(path, [["100004", "田中 陽子", "青葉区 保険年金課", "退職", "担当", today_jst().isoformat()]])
    db.session.commit()
    res = _flask(app, "staff", "import", str(path), "--dry-run")
    assert res.returncode == 0 and "何も反映していません" in res.stdout
    res = _flask(app, "staff", "import", str(path))
    assert res.returncode == 0, res.stderr
    db.session.expire_all()
    assert user("aoba.tanto").active is False  # 発令日 today: applied at once
    res = _flask(app, "staff", "import", str(path))
    assert res.returncode == 1 and "2行目" in res.stderr


def test_pages(client, tmp_path) -> None:
    manual = managed(overdue=True)
    handover = handovers.start(db.session, user("hq.tanto"), user("hq.tanto"))
    db.session.commit()
    login(client, "hq.tanto")
    page = client.get(f"/handovers/{handover.id}").get_data(as_text=True)
    assert manual.title in page and "見直し期限超過" in page
    resp = post(client, f"/handovers/{handover.id}", {"action": "submit", "duties": "国保", "concerns": ""},
                follow_redirects=True)
    assert "後任者が決まっていないマニュアルがあります" in resp.get_data(as_text=True)
    printed = client.get(f"/handovers/{handover.id}/print").get_data(as_text=True)
    assert "事 務 引 継 書" in printed and "マニュアル管理状況" in printed and "所属長確認" in printed
    xlsx = client.get(f"/handovers/{handover.id}.xlsx")
    from io import BytesIO

    from openpyxl import load_workbook

    ws = load_workbook(BytesIO(xlsx.data)).active
    assert ws["A1"].value == "事務引継書" and any(c.value == manual.title for row in ws.iter_rows() for c in row)
    assert client.get("/checks").status_code == 403  # a 担当 does not see the checks
    assert client.get(f"/manuals/{manual.slug}/manage").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login(client, "aoba.tanto")
    assert client.get(f"/handovers/{handover.id}").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login(client, "admin")
    checks = client.get("/checks").get_data(as_text=True)
    assert "見直し期限超過" in checks and manual.title in checks
    write(tmp_path / "x.csv", [["100001", "佐藤 健一", "健康福祉局 保険年金課", "青葉区 保険年金課", "担当", "2030-04-01"]])
    with open(tmp_path / "x.csv", "rb") as f:
        resp = post(client, "/admin/staff-import", {"file": (f, "idou.csv")}, content_type="multipart/form-data")
    assert resp.status_code == 302
    preview = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "取込内容の確認" in preview and "管理担当者が不在になるマニュアル（1件）" in preview
    token = resp.headers["Location"].split("/admin/staff-import/")[1].split("?")[0]
    resp = post(client, f"/admin/staff-import/{token}/apply", {"name": "idou.csv"}, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "人事異動を反映しました（1人）" in page and "健康福祉局" in page
    with open(tmp_path / "x.csv", "w", encoding="utf-8") as f:
        f.write("wrong,header\n1,2\n")
    with open(tmp_path / "x.csv", "rb") as f:
        resp = post(client, "/admin/staff-import", {"file": (f, "bad.csv")}, content_type="multipart/form-data")
    bad = client.get(resp.headers["Location"])
    assert bad.status_code == 400 and "見出し" in bad.get_data(as_text=True)
    assert client.get("/admin/staff-import/../../etc").status_code == 404
    assert user("hq.tanto").active and db.session.query(User).count() > 0
