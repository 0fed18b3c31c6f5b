"""Inquiries → answers → 課長 approval → 判断事例; visibility; flags on revision; import."""

from __future__ import annotations

import csv

import pytest
from flask import Flask

from app.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.extensions import db
from app.rulings import services as rulings
from app.rulings.importer import import_file
from app.rulings.models import ANSWERED, AWAITING, OPEN, Inquiry
from app.search import services as search
from tests.conftest import login
from tests.helpers import approve_all, make_manual, revise, user

pytestmark = pytest.mark.usefixtures("demo_users")


@pytest.fixture
def manual():
    m = make_manual()
    search.index_manual(db.session, m)
    return m


def ask(manual, login_id: str = "aoba.tanto", anchor: str = "3-審査") -> Inquiry:
    inquiry = rulings.file_inquiry(db.session, user(login_id), kind="疑義照会", subject="委任状の日付がない場合",
                                   body="代理人が持参した委任状に作成日の記載がない。受け付けてよいか。", manual=manual,
                                   anchor=anchor)
    db.session.commit()
    return inquiry


def answer_and_approve(inquiry: Inquiry, share: bool = True) -> None:
    rulings.save_answer(db.session, user("hq.tanto"), inquiry, answer="本人に電話で委任の事実を確認できれば受け付けてよい。",
                        basis="住民基本台帳法第12条", tags=["委任状", "代理人"], share_all=share, submit=True)
    rulings.approve(db.session, user("hq.kacho"), inquiry)
    db.session.commit()


def test_inquiry_to_published_ruling(manual) -> None:
    inquiry = ask(manual)
    assert inquiry.owner_unit.name == "健康福祉局 保険年金課" and inquiry.heading == "3 審査"
    assert inquiry.status == OPEN
    with pytest.raises(ValidationError, match="決裁に回せません"):
        rulings.save_answer(db.session, user("hq.tanto"), inquiry, answer="", basis="", tags=[], share_all=True,
                            submit=True)
    rulings.save_answer(db.session, user("hq.tanto"), inquiry, answer="可", basis="法", tags=[], share_all=True,
                        submit=True)
    assert inquiry.status == AWAITING
    with pytest.raises(PermissionDenied, match="課長のみ"):
        rulings.approve(db.session, user("hq.kakaricho"), inquiry)
    with pytest.raises(ValidationError, match="差戻しの理由"):
        rulings.return_answer(db.session, user("hq.kacho"), inquiry, "")
    rulings.return_answer(db.session, user("hq.kacho"), inquiry, "根拠の条項を明記すること")
    assert inquiry.status == OPEN and inquiry.return_comment
    answer_and_approve(inquiry)
    assert inquiry.status == ANSWERED and inquiry.number and inquiry.number.startswith("R20")
    assert (inquiry.approver_name, inquiry.approver_position) == ("高橋 誠", "課長")
    # searchable by every ward, by a variant spelling of its words
    hits = search.search(db.session, None, "委任状に日付が無い", kind="ruling", record=False).results
    assert hits and hits[0].hit.ref == inquiry.number
    second = ask(manual)
    answer_and_approve(second)
    assert int(second.number.split("-")[1]) == int(inquiry.number.split("-")[1]) + 1


def test_approver_cannot_approve_own_answer(manual) -> None:
    inquiry = ask(manual)
    rulings.save_answer(db.session, user("hq.kacho"), inquiry, answer="可", basis="法", tags=[], share_all=False,
                        submit=True)
    with pytest.raises(PermissionDenied, match="自分が作成した回答案"):
        rulings.approve(db.session, user("hq.kacho"), inquiry)


def test_visibility_until_published(manual, client) -> None:
    inquiry = ask(manual)
    assert rulings.visible(user("aoba.kacho"), inquiry)  # same asking section
    assert rulings.visible(user("hq.kakaricho"), inquiry)  # owner unit
    assert not rulings.visible(user("izumi.hoken.tanto"), inquiry)  # another ward
    assert not rulings.visible(user("aoba.koseki.tanto"), inquiry)  # another section of the same ward
    login(client, "izumi.hoken.tanto")
    assert client.get(f"/inquiries/{inquiry.id}").status_code == 404
    assert "委任状の日付" not in client.get("/inquiries?status=all").get_data(as_text=True)
    assert client.get("/api/search?q=委任状 日付&kind=ruling").json == []
    # an answer not shared with all wards stays private too
    answer_and_approve(inquiry, share=False)
    assert inquiry.number is None and not rulings.visible(user("izumi.hoken.tanto"), inquiry)
    assert client.get(f"/inquiries/{inquiry.id}").status_code == 404
    other = ask(manual)
    answer_and_approve(other, share=True)
    assert rulings.visible(user("izumi.hoken.tanto"), other)
    page = client.get(f"/rulings/{other.number}").get_data(as_text=True)
    assert "高橋 誠" in page and "決裁" in page and "本人に電話で" in page


def test_ward_only_files_and_only_owner_answers(manual) -> None:
    with pytest.raises(PermissionDenied):
        rulings.file_inquiry(db.session, user("hq.tanto"), kind="疑義照会", subject="x", body="y", manual=manual)
    with pytest.raises(ValidationError) as exc:
        rulings.file_inquiry(db.session, user("aoba.tanto"), kind="質問", subject="", body="", manual=None)
    assert len(exc.value.details) >= 3
    inquiry = ask(manual)
    with pytest.raises(PermissionDenied, match="所管課"):
        rulings.save_answer(db.session, user("kaigo.hq.tanto"), inquiry, answer="x", basis="y", tags=[],
                            share_all=True)
    with pytest.raises(ValidationError, match="見出し"):
        ask(manual, anchor="no-such-heading")


def test_revision_of_linked_section_flags_the_ruling(manual) -> None:
    inquiry = ask(manual, anchor="3-審査")
    answer_and_approve(inquiry)
    other = ask(manual, anchor="4-通知")
    answer_and_approve(other)
    approve_all(revise(manual, "hq.tanto", "14日以内", "30日以内"))
    db.session.expire_all()
    assert inquiry.needs_recheck and "第2版" in inquiry.recheck_note
    assert not other.needs_recheck  # its section did not change
    with pytest.raises(PermissionDenied):
        rulings.confirm_recheck(db.session, user("aoba.tanto"), inquiry, "")
    rulings.confirm_recheck(db.session, user("hq.tanto"), inquiry, "改正後も判断は同じ")
    assert not inquiry.needs_recheck
    with pytest.raises(Conflict):
        rulings.confirm_recheck(db.session, user("hq.tanto"), inquiry, "")


def test_suggestion_marked_reflected(manual) -> None:
    s = rulings.file_inquiry(db.session, user("aoba.tanto"), kind="改善提案", subject="表の追加",
                             body="必要書類の表に在留カードを追加してほしい。", manual=manual)
    with pytest.raises(ValidationError):
        rulings.mark_reflected(db.session, user("hq.tanto"), s, 5)
    rulings.mark_reflected(db.session, user("hq.tanto"), s, 1)
    assert s.reflected_version == 1


HEADER = ["番号", "件名", "照会内容", "回答", "根拠", "照会元", "照会日", "回答日", "関連マニュアル", "タグ"]


def write_csv(path, rows, bom: bool = False) -> None:
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(rows)


def test_import_csv_all_or_nothing_with_row_numbers(manual, tmp_path) -> None:
    good = ["R2024-001", "転入届の期限経過", "期限を過ぎた届出", "受理する", "法第22条", "青葉区", "2024-04-01", "2024-04-10",
            "test-manual", "期限;転入"]
    rows = [
        good,
        ["R2024-001", "重複", "x", "y", "", "泉区 保険年金課", "2024-04-01", "2024-04-02", "", ""],
        ["bad", "", "x", "y", "", "横浜区", "2024-13-01", "2024-04-02", "no-such", ""],
        ["R2024-003", "日付逆転", "x", "y", "", "泉区", "2024-05-01", "2024-04-02", "", ""],
    ]
    path = tmp_path / "rulings.csv"
    write_csv(path, rows, bom=True)
    with pytest.raises(ValidationError) as exc:
        import_file(db.session, path)
    details = "\n".join(exc.value.details)
    assert "3行目: 番号「R2024-001」が2行目と重複しています" in details
    assert "4行目: 番号「bad」は R2025-014 の形式で書いてください" in details
    assert "4行目: 件名がありません" in details
    assert "4行目: 照会日「2024-13-01」は日付（YYYY-MM-DD）で書いてください" in details
    assert "4行目: 関連マニュアル「no-such」は登録されていません" in details
    assert "4行目: 照会元「横浜区」は区役所・総合支所またはその課ではありません" in details
    assert "5行目: 回答日が照会日より前です" in details
    assert db.session.query(Inquiry).count() == 0
    write_csv(path, [good, ["R2024-002", "税の分納", "分納したい", "可", "", "泉区 納税課", "2024-04-01",
                            "2024-04-02", "", "分納"]])
    imported = import_file(db.session, path)
    db.session.commit()
    assert [r.number for r in imported] == ["R2024-001", "R2024-002"]
    assert imported[0].asking_unit.name == "青葉区 保険年金課"  # office only: the manual's target section
    assert imported[1].owner_unit.name == "総務局 コンプライアンス推進担当"
    assert search.search(db.session, None, "分納", kind="ruling", record=False).results[0].hit.ref == "R2024-002"


def test_import_xlsx_and_cli(app: Flask, manual, tmp_path) -> None:
    from openpyxl import Workbook

    from tests.test_foundation import _flask

    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(["R2023-010", "マイナンバーカードの暗証番号", "暗証番号を忘れた", "再設定を案内", "", "若林区 戸籍住民課",
               "2023-05-01", "2023-05-08", "", "マイナンバーカード"])
    path = tmp_path / "rulings.xlsx"
    wb.save(path)
    db.session.commit()
    res = _flask(app, "rulings", "import", str(path))
    assert res.returncode == 0, res.stderr
    assert "1件の判断事例を登録しました" in res.stdout
    res = _flask(app, "rulings", "import", str(path))
    assert res.returncode == 1 and "2行目: 番号「R2023-010」は既に登録されています" in res.stderr
    bad = tmp_path / "x.txt"
    bad.write_text("x")
    res = _flask(app, "rulings", "import", str(bad))
    assert res.returncode == 1 and ".csv と .xlsx" in res.stderr
    db.session.expire_all()
    assert db.session.query(Inquiry).count() == 1
    with pytest.raises(NotFound):
        rulings.get_ruling(db.session, "R1999-999")


def test_ward_asks_about_a_section_from_the_manual_page(client, manual) -> None:
    from tests.conftest import post

    login(client, "aoba.tanto")
    page = client.get("/manuals/test-manual").get_data(as_text=True)
    assert "/inquiries/new?manual=test-manual&amp;anchor=3-%E5%AF%A9%E6%9F%BB" in page
    form = client.get("/inquiries/new?manual=test-manual&anchor=3-審査").get_data(as_text=True)
    assert '<option selected value="3-審査">3 審査</option>' in form or 'value="3-審査" selected' in form
    resp = post(client, "/inquiries/new", {"manual": "test-manual", "anchor": "3-審査", "kind": "疑義照会",
                                           "subject": "審査期間の起算日", "body": "起算日は受付日の翌日か。", "urgency": "至急"})
    assert resp.status_code == 302
    inquiry = db.session.query(Inquiry).one()
    assert (inquiry.anchor, inquiry.heading, inquiry.urgency) == ("3-審査", "3 審査", "至急")
    resp = post(client, "/inquiries/new", {"manual": "test-manual", "kind": "疑義照会", "subject": "", "body": ""})
    assert "件名を入力してください。" in resp.get_data(as_text=True)
    inbox = client.get("/inquiries").get_data(as_text=True)
    assert "審査期間の起算日" in inbox and "至急" in inbox


def test_flagged_ruling_is_amended_through_the_head(manual) -> None:
    ruling = ask(manual, anchor="3-審査")
    answer_and_approve(ruling)
    approve_all(revise(manual, "hq.tanto", "14日以内", "30日以内"))
    db.session.expire_all()
    assert ruling.needs_recheck
    with pytest.raises(PermissionDenied):
        rulings.propose_amendment(db.session, user("aoba.tanto"), ruling, answer="x", basis="y")
    rulings.propose_amendment(db.session, user("hq.tanto"), ruling, answer="30日以内に決定する前提で受け付けてよい。",
                              basis="手引き 3 審査（第2版）")
    assert ruling.answer.startswith("本人に電話で")  # the published answer stays until approved
    with pytest.raises(ValidationError, match="差戻しの理由"):
        rulings.decide_amendment(db.session, user("hq.kacho"), ruling, approve=False)
    rulings.decide_amendment(db.session, user("hq.kacho"), ruling, approve=True)
    db.session.commit()  # the re-index is a reaction after the commit
    db.session.expire_all()
    assert ruling.answer.startswith("30日以内") and not ruling.needs_recheck and not ruling.amendment_pending
    hits = search.search(db.session, None, "30日以内に決定する前提", kind="ruling", record=False).results
    assert hits[0].hit.ref == ruling.number  # re-indexed with the new answer
