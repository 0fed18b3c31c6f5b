"""Issue 16: the 職員名簿 import (cp932 / UTF-8 CSV, .xlsx): all or nothing with row numbers, preview
before apply, unit changes through the 人事異動 path, one-time password links for new accounts."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from flask import Flask

from app.directory import roster
from app.errors import ValidationError
from app.extensions import db
from app.handover.models import Handover
from app.org.models import User
from tests.conftest import csrf_token, login, post
from tests.helpers import user

pytestmark = pytest.mark.usefixtures("demo_users")
HEADER = "職員番号,氏名,所属,職,mail,ログインID"


def write(path: Path, lines: list[str], encoding: str = "cp932") -> Path:
    path.write_bytes(("\r\n".join([HEADER, *lines]) + "\r\n").encode(encoding))
    return path


def test_cp932_roster_creates_updates_and_moves(tmp_path: Path) -> None:
    tanaka = user("aoba.tanto")
    path = write(tmp_path / "meibo.csv", [
        "700001,髙橋 一郎,青葉区 保険年金課,主事,ichiro@city.example.lg.jp,takahashi.i",
        "700002,渡邉 恵子,健康福祉局 保険年金課,係長,,watanabe.k",
        f"{tanaka.employee_no},田中 陽子,泉区 保険年金課,主査,yoko@city.example.lg.jp,aoba.tanto",
    ])
    preview = roster.validate(db.session, roster.read_file(path))
    assert preview.counts() == {"新規": 2, "更新": 0, "異動": 1, "再有効化": 0, "変更なし": 0}
    assert db.session.query(User).filter_by(login="takahashi.i").count() == 0  # preview changes nothing
    result = roster.apply(db.session, user("admin"), roster.read_file(path), file_name="meibo.csv")
    db.session.commit()
    new = user("takahashi.i")
    assert (new.name, new.unit.name, new.position, new.password_hash) == ("髙橋 一郎", "青葉区 保険年金課", "担当", "!")
    assert user("watanabe.k").position == "係長" and len(result.created) == 2
    moved = user("aoba.tanto")
    assert (moved.unit.name, moved.email) == ("泉区 保険年金課", "yoko@city.example.lg.jp")
    handover = db.session.query(Handover).filter_by(user_id=moved.id).one()
    assert handover.unit.name == "青葉区 保険年金課"  # the post being left
    # The same file again changes nothing.
    assert roster.validate(db.session, roster.read_file(path)).counts()["変更なし"] == 3


def test_every_bad_row_is_listed_and_nothing_applied(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", [
        "700001,髙橋 一郎,青葉区 保険年金課,主事,,takahashi.i",
        "700001,重複 太郎,青葉区 保険年金課,主事,,dup.one",
        ",名無し,青葉区 保険年金課,主事,,no.number",
        "700003,所属 不明,青葉区 区民生活課,主事,,unknown.unit",
        "700004,職 不明,青葉区 保険年金課,魔法使い,not-a-mail,bad.title",
        "700005,ID 衝突,青葉区 保険年金課,主事,,aoba.kacho",
        "700006,ID なし,青葉区 保険年金課,主事,,",
        "700007,ID 不正,青葉区 保険年金課,主事,,日本語ID",
    ], encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        roster.validate(db.session, roster.read_file(path))
    details = err.value.details
    for expected in ("3行目: 職員番号「700001」が2行目と重複しています", "4行目: 職員番号がありません",
                     "5行目: 所属「青葉区 区民生活課」はTebikiの所属に対応付けられていません",
                     "6行目: 職「魔法使い」は分かりません", "6行目: mail「not-a-mail」はメールアドレスの形式ではありません",
                     "7行目: ログインID「aoba.kacho」は別の職員（伊藤 大輔）が使っています",
                     "8行目: 新しい職員にはログインIDが必要です", "9行目: ログインID「日本語ID」は半角英数字"):
        assert any(d.startswith(expected) for d in details), (expected, details)
    assert "何も反映していません" in err.value.message
    assert db.session.query(User).filter_by(login="takahashi.i").count() == 0


def test_xlsx_roster_with_mapped_department(tmp_path: Path) -> None:
    from openpyxl import Workbook

    from app.directory import services as directory
    from app.org import services as org

    dept = directory.add_department(db.session, user("admin"), "青葉区役所 保険年金課")
    directory.set_mapping(db.session, user("admin"), dept.id, org.find_unit(db.session, "青葉区 保険年金課"))
    wb = Workbook()
    wb.active.append(HEADER.split(","))
    wb.active.append([700010, "佐藤 花", "青葉区役所 保険年金課", "課長補佐", "hana@city.example.lg.jp", "sato.hana"])
    wb.save(tmp_path / "meibo.xlsx")
    roster.apply(db.session, user("admin"), roster.read_file(tmp_path / "meibo.xlsx"))
    created = user("sato.hana")
    assert (created.unit.name, created.position, created.employee_no) == ("青葉区 保険年金課", "係長", "700010")


def test_roster_pages_preview_apply_and_password_links(app: Flask, tmp_path: Path) -> None:
    admin = app.test_client()
    login(admin, "admin")
    path = write(tmp_path / "meibo.csv", ["700020,新人 一,若林区 税務課,主事,,shinjin.hajime",
                                           "700021,新人 二,若林区 税務課,主事,,shinjin.ni"])
    with open(path, "rb") as f:
        resp = admin.post("/admin/roster", data={"file": (f, "meibo.csv"), "csrf_token": csrf_token(admin, "/dashboard")},
                          content_type="multipart/form-data")
    assert resp.status_code == 302
    preview_url = resp.headers["Location"]
    page = admin.get(preview_url).get_data(as_text=True)
    assert "取込内容の確認（まだ反映していません）" in page and "新人 一" in page and "新規</strong> 2人" in page
    token = preview_url.split("/admin/roster/")[1].split("?")[0]
    resp = post(admin, f"/admin/roster/{token}/apply", {"name": "meibo.csv"})
    assert resp.status_code == 302
    page = admin.get("/admin/roster").get_data(as_text=True)
    assert "職員名簿を反映しました（新規 2人" in page and "パスワードが未設定の職員が2人います" in page
    resp = post(admin, "/admin/password-links", {"format": "csv"})
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["ログインID", "氏名", "所属", "パスワード設定用リンク"] and len(rows) == 3
    link = next(r[3] for r in rows if r[0] == "shinjin.hajime")
    path_part = link.split("127.0.0.1:5000", 1)[1]
    # The person sets a password through the link, once, then signs in.
    person = app.test_client()
    assert "新人 一さん" in person.get(path_part).get_data(as_text=True)
    token_csrf = csrf_token(person, path_part)
    resp = person.post(path_part, data={"password": "my-own-pass-1", "confirm": "my-own-pass-1", "csrf_token": token_csrf})
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    assert login(person, "shinjin.hajime", "my-own-pass-1").status_code == 302
    again = app.test_client()
    resp = again.get(path_part)
    assert resp.status_code == 404 and "使用済みか、有効期限が切れています" in resp.get_data(as_text=True)
    # Without a password the other new account cannot sign in at all.
    assert login(app.test_client(), "shinjin.ni", "").status_code == 400
    assert login(app.test_client(), "shinjin.ni", "!").status_code == 401


def test_roster_cli_dry_run_and_links_file(app: Flask, tmp_path: Path) -> None:
    path = write(tmp_path / "meibo.csv", ["700030,新人 三,泉区 納税課,主事,,shinjin.san"])
    runner = app.test_cli_runner()
    result = runner.invoke(args=["roster", "import", str(path), "--dry-run"])
    assert result.exit_code == 0 and "新規: 1人" in result.output and "何も反映していません" in result.output
    assert db.session.query(User).filter_by(login="shinjin.san").count() == 0
    out = tmp_path / "links.csv"
    result = runner.invoke(args=["roster", "import", str(path), "--links", str(out)])
    assert result.exit_code == 0, result.output
    assert "shinjin.san" in out.read_text(encoding="utf-8-sig")
    bad = write(tmp_path / "bad.csv", ["700031,,泉区 納税課,主事,,x.y.z"])
    result = runner.invoke(args=["roster", "import", str(bad)])
    assert result.exit_code == 1 and "2行目: 氏名がありません" in result.output
