"""Issue 19: 人事異動 files in Excel's cp932 with 和暦 dates; a registered round corrected or cancelled before
its 発令日 (with the handovers it opened); incoming staff of the same round selectable as 後任者."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask

from app.errors import Conflict, ValidationError
from app.extensions import db
from app.handover import handovers, importer, rounds
from app.handover.models import CONFIRMED, Handover, StaffTransfer
from app.wareki import parse_date, today_jst, wareki
from tests.conftest import csrf_token, login, post
from tests.helpers import make_manual, user

pytestmark = pytest.mark.usefixtures("demo_users")
HEADER = ["職員番号", "氏名", "異動前所属", "異動後所属", "職", "発令日"]


@pytest.mark.parametrize(("text", "expected"), [
    ("令和9年4月1日", date(2027, 4, 1)), ("令和９年４月１日", date(2027, 4, 1)), ("R9.4.1", date(2027, 4, 1)),
    ("R09/04/01", date(2027, 4, 1)), ("r9-4-1", date(2027, 4, 1)), ("令9.4.1", date(2027, 4, 1)),
    ("令和元年5月1日", date(2019, 5, 1)), ("平成31年4月30日", date(2019, 4, 30)), ("H31.4.30", date(2019, 4, 30)),
    ("昭和64年1月7日", date(1989, 1, 7)), ("2027-04-01", date(2027, 4, 1)), ("2027/4/1", date(2027, 4, 1)),
    ("2027年4月1日", date(2027, 4, 1)), ("令和 9年 4月 1日", date(2027, 4, 1)),
    ("令和元年4月30日", None), ("平成31年5月1日", None), ("平成32年1月1日", None), ("S64.1.8", None),
    ("令和9年2月30日", None), ("2027-02-30", None), ("0000-00-00", None), ("令和0年4月1日", None), ("9.4.1", None),
    ("来年", None), ("", None),
])
def test_parse_date_reads_seireki_and_wareki(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected
    if expected is not None and expected >= date(2019, 5, 1):
        assert parse_date(wareki(expected, with_seireki=False)) == expected  # the formatter's output reads back


def person(login_id: str) -> list[str]:
    u = user(login_id)
    return [u.employee_no or "", u.name, u.unit.name]


def write(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


def reiwa(d: date) -> str:
    return wareki(d, with_seireki=False)


def test_excel_cp932_csv_with_wareki_dates(tmp_path: Path) -> None:
    day = today_jst() + timedelta(days=20)
    path = write(tmp_path / "naiji.csv", [
        [*person("hq.tanto"), "青葉区 保険年金課", "担当", reiwa(day)],
        [*person("aoba.tanto"), "健康福祉局 保険年金課", "係長", f"R{day.year - 2018}.{day.month}.{day.day}"],
        [*person("izumi.hoken.tanto"), "退職", "担当", day.strftime("%Y/%m/%d")],
    ], encoding="cp932")
    preview = importer.validate(db.session, importer.read_file(path))
    assert [m.effective for m in preview.moves] == [day, day, day]
    write(path, [[*person("hq.tanto"), "青葉区 保険年金課", "担当", "平成32年1月1日"]], encoding="cp932")
    with pytest.raises(ValidationError) as err:
        importer.validate(db.session, importer.read_file(path))
    assert err.value.details == ["2行目: 発令日「平成32年1月1日」は日付（2027-04-01、令和9年4月1日、R9.4.1 など）で書いてください"
                                 "（存在しない日付は使えません）"]


def _round(tmp_path: Path, day: date):  # type: ignore[no-untyped-def]
    path = write(tmp_path / "naiji.csv", [
        [*person("hq.tanto"), "青葉区 保険年金課", "担当", day.isoformat()],
        [*person("aoba.tanto"), "健康福祉局 保険年金課", "係長", day.isoformat()],
        [*person("izumi.hoken.tanto"), "泉区 総務課", "担当", day.isoformat()],
    ])
    rnd = importer.apply(db.session, None, importer.read_file(path), file_name="naiji.csv")
    db.session.commit()
    return rnd


def test_cancel_one_person_and_the_whole_round(tmp_path: Path) -> None:
    day = today_jst() + timedelta(days=30)
    rnd = _round(tmp_path, day)
    assert db.session.query(Handover).filter_by(round_id=rnd.id).count() == 3
    tanto = db.session.query(StaffTransfer).filter_by(user_id=user("hq.tanto").id).one()
    assert rounds.cancel_transfer(db.session, user("admin"), tanto, reason="内示の撤回") == (1, 0)
    db.session.commit()
    assert db.session.query(Handover).filter_by(user_id=user("hq.tanto").id).count() == 0
    with pytest.raises(Conflict):
        rounds.cancel_transfer(db.session, user("admin"), tanto)
    # The 所属長 already confirmed one handover: the record stays when the round is withdrawn.
    confirmed = db.session.query(Handover).filter_by(user_id=user("aoba.tanto").id).one()
    confirmed.status = CONFIRMED
    db.session.commit()
    assert rounds.cancel_round(db.session, user("admin"), rnd, reason="全体の見直し") == (2, 1, 1)
    db.session.commit()
    assert rnd.cancelled_at is not None and rnd.rows == 0
    assert importer.move_due(db.session, day) == 0  # nobody moves on the 発令日
    db.session.commit()
    assert user("aoba.tanto").unit.name == "青葉区 保険年金課"
    # A new 内示 for the same people can be registered now.
    assert importer.validate(db.session, importer.read_file(tmp_path / "naiji.csv")).moves


def test_a_moved_person_cannot_be_cancelled(tmp_path: Path) -> None:
    today = today_jst()
    path = write(tmp_path / "now.csv", [[*person("hq.tanto"), "青葉区 保険年金課", "担当", today.isoformat()],
                                        [*person("aoba.tanto"), "健康福祉局 保険年金課", "係長",
                                         (today + timedelta(days=5)).isoformat()]])
    rnd = importer.apply(db.session, None, importer.read_file(path))
    db.session.commit()
    with pytest.raises(Conflict) as err:
        rounds.cancel_round(db.session, user("admin"), rnd)
    assert "既に所属を移した職員が1人" in err.value.message
    moved = db.session.query(StaffTransfer).filter_by(user_id=user("hq.tanto").id).one()
    with pytest.raises(Conflict, match="既に所属を移したため"):
        rounds.cancel_transfer(db.session, user("admin"), moved)


def test_correct_a_round_with_a_corrected_file(tmp_path: Path) -> None:
    day = today_jst() + timedelta(days=30)
    later = day + timedelta(days=7)
    rnd = _round(tmp_path, day)
    kept = db.session.query(Handover).filter_by(user_id=user("aoba.tanto").id).one()
    kept_id = kept.id
    corrected = write(tmp_path / "teisei.csv", [
        [*person("hq.tanto"), "青葉区 保険年金課", "担当", day.isoformat()],  # unchanged
        [*person("aoba.tanto"), "泉区 保険年金課", "係長", later.isoformat()],  # changed
        # izumi.hoken.tanto removed; hq.kakaricho added
        [*person("hq.kakaricho"), "若林区 保険年金課", "課長", day.isoformat()],
    ])
    plan = rounds.plan_correction(db.session, rnd, importer.read_file(corrected))
    assert plan.counts() == {"追加": 1, "変更": 1, "取消": 1, "変更なし": 1}
    db.session.rollback()
    rounds.apply_correction(db.session, user("admin"), rnd, importer.read_file(corrected), file_name="teisei.csv")
    db.session.commit()
    assert db.session.get(Handover, kept_id).due_date == later  # the same handover, due on the new date
    assert db.session.query(Handover).filter_by(user_id=user("izumi.hoken.tanto").id).count() == 0
    assert db.session.query(Handover).filter_by(user_id=user("hq.kakaricho").id, round_id=rnd.id).count() == 1
    assert rnd.corrected_at is not None and rnd.rows == 3
    # A correction with errors reports the file's own row numbers and changes nothing.
    bad = write(tmp_path / "bad.csv", [[*person("hq.kakaricho"), "若林区 保険年金課", "課長", day.isoformat()],
                                       [*person("hq.tanto"), "青葉区 保険年金課", "担当", "令和99年13月1日"]])
    with pytest.raises(ValidationError) as err:
        rounds.plan_correction(db.session, rnd, importer.read_file(bad))
    assert any(d.startswith("3行目: 発令日「令和99年13月1日」") for d in err.value.details), err.value.details
    importer.move_due(db.session, later)
    db.session.commit()
    assert user("aoba.tanto").unit.name == "泉区 保険年金課"
    # Once moved, a person's row can no longer be dropped from the round.
    with pytest.raises(ValidationError) as err:
        rounds.plan_correction(db.session, rnd, importer.read_file(bad))
    assert any("既に発令済みのため、訂正ファイルから外せません" in d for d in err.value.details)
    assert user("izumi.hoken.tanto").unit.name == "泉区 保険年金課"  # withdrawn: stays


def test_incoming_staff_of_the_same_round_can_be_chosen_as_successor(tmp_path: Path) -> None:
    manual = make_manual()
    manual.manager = user("hq.tanto")
    db.session.commit()
    day = today_jst() + timedelta(days=14)
    path = write(tmp_path / "naiji.csv", [
        [*person("hq.tanto"), "青葉区 保険年金課", "担当", day.isoformat()],  # leaves 本庁 保険年金課
        [*person("aoba.tanto"), "健康福祉局 保険年金課", "担当", day.isoformat()],  # comes in
    ])
    rnd = importer.apply(db.session, None, importer.read_file(path))
    db.session.commit()
    handover = db.session.query(Handover).filter_by(user_id=user("hq.tanto").id, round_id=rnd.id).one()
    candidates = handovers.successors_for(db.session, handover)
    assert user("aoba.tanto") in candidates and user("hq.kacho") in candidates and user("hq.tanto") not in candidates
    handovers.save(db.session, user("hq.tanto"), handover, duties="国保の資格", concerns="", default_successor_id=None,
            notes={}, successors={handover.manual_items[0].id: user("aoba.tanto").id}, submit=True)
    handovers.confirm(db.session, user("hq.kacho"), handover)
    db.session.commit()
    assert manual.manager_id == user("aoba.tanto").id
    # Both ways: the person leaving 本庁 is offered to the ward section he moves into.
    other = db.session.query(Handover).filter_by(user_id=user("aoba.tanto").id).one()
    assert user("hq.tanto") in handovers.successors_for(db.session, other)
    # Someone coming in by another round is not offered for this one.
    write(path, [[*person("izumi.hoken.tanto"), "健康福祉局 保険年金課", "担当", day.isoformat()]])
    importer.apply(db.session, None, importer.read_file(path))
    db.session.commit()
    assert user("izumi.hoken.tanto") not in handovers.successors_for(db.session, handover)


def test_round_page_cancel_and_correct_through_the_browser_client(app: Flask, tmp_path: Path) -> None:
    day = today_jst() + timedelta(days=30)
    rnd = _round(tmp_path, day)
    admin = app.test_client()
    login(admin, "admin")
    page = admin.get(f"/admin/rounds/{rnd.id}").get_data(as_text=True)
    assert "佐藤 健一" in page and "発令待ち" in page and "この人事異動を取り消す" in page
    assert f"/admin/rounds/{rnd.id}" in admin.get(f"/admin/handovers?round={rnd.id}").get_data(as_text=True)
    transfer = db.session.query(StaffTransfer).filter_by(user_id=user("izumi.hoken.tanto").id).one()
    resp = post(admin, f"/admin/rounds/{rnd.id}/transfers/{transfer.id}/cancel")
    assert resp.status_code == 302
    assert "さんの異動を取り消しました" in admin.get(resp.headers["Location"]).get_data(as_text=True)
    corrected = write(tmp_path / "teisei.csv", [[*person("hq.tanto"), "青葉区 保険年金課", "係長", day.isoformat()],
                                                [*person("aoba.tanto"), "健康福祉局 保険年金課", "係長", day.isoformat()]])
    with open(corrected, "rb") as f:
        resp = admin.post(f"/admin/rounds/{rnd.id}/correct", data={"file": (f, "teisei.csv"),
                                                                   "csrf_token": csrf_token(admin, "/dashboard")},
                          content_type="multipart/form-data")
    assert resp.status_code == 302
    preview = admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert "訂正内容の確認（まだ反映していません）" in preview and "担当 → 係長" in preview
    token = resp.headers["Location"].split("/correct/")[1].split("?")[0]
    resp = post(admin, f"/admin/rounds/{rnd.id}/correct/{token}/apply", {"name": "teisei.csv"})
    assert "人事異動を訂正しました（追加 0人、変更 1人、取消 0人、変更なし 1人）" in admin.get(resp.headers["Location"]).get_data(as_text=True)
    resp = post(admin, f"/admin/rounds/{rnd.id}/cancel", {"reason": "撤回"})
    assert "を取り消しました（2人" in admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert admin.get("/admin/rounds/999999").status_code == 404
