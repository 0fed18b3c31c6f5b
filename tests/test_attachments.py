"""Attachments belong to a version (app/documents/attachments.py, attaching.py): stored in git
beside the text, uploaded into a draft, published in the revision's commit, served per version."""

from __future__ import annotations

import re

import pytest

from app.documents import attachments
from app.extensions import db
from app.gitstore import store
from app.manuals.models import ManualVersion
from app.revisions import drafting
from app.revisions.models import Revision
from tests import docx_samples
from tests.conftest import login
from tests.helpers import approve_all, git, make_manual, revise, user
from tests.test_documents_files import EXE, pdf_bytes, xlsx_bytes

pytestmark = pytest.mark.usefixtures("demo_users")


def upload(client, revision: Revision, name: str, data: bytes, **extra: str):  # type: ignore[no-untyped-def]
    db.session.refresh(revision)
    token = client.get(f"/revisions/{revision.id}/edit").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', token).group(1)  # type: ignore[union-attr]
    import io

    return client.post(f"/api/revisions/{revision.id}/files",
                       data={"file": (io.BytesIO(data), name), "head": revision.head_commit, "csrf_token": csrf, **extra},
                       content_type="multipart/form-data")


def test_upload_publish_serve_and_compare(client) -> None:  # type: ignore[no-untyped-def]
    manual = make_manual()
    revision = revise(manual, "hq.tanto", "3. 受付印を押す。", "3. 受付印を押す。\n\n[申請書](files/申請書 様式.pdf)\n\n![窓口](files/image-01.png)")
    login(client, "hq.tanto")
    r = upload(client, revision, "申請書 様式.pdf", pdf_bytes())
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["name"] == "申請書_様式.pdf"
    r = upload(client, revision, "image.png", docx_samples.png(), pasted="1")
    body = r.get_json()
    assert body["name"] == "image-01.png" and body["markdown"] == "![image-01](files/image-01.png)"
    # The draft serves its files to who may see it; a ward user sees nothing of a draft.
    assert client.get(f"/revisions/{revision.id}/files/image-01.png").headers["Content-Type"] == "image/png"
    # Fix the text's reference to the sanitised name, then publish.
    db.session.refresh(revision)
    doc_text = drafting.text_or_none(revision) or ""
    from app.manuals.document import parse

    doc = parse(doc_text)
    fields = drafting.DraftFields(title=doc.title, targets=doc.targets, tags=doc.tags, effective=revision.effective_date,
                                  review_months=doc.review_months, reason="様式を追加",
                                  body=doc.body.replace("files/申請書 様式.pdf", "files/申請書_様式.pdf"))
    drafting.save_draft(db.session, user("hq.tanto"), revision, fields, expected_head=revision.head_commit)
    db.session.commit()
    outcome = approve_all(revision)
    assert outcome.published is not None and outcome.published.number == 2
    sha = outcome.published.commit_sha
    # The real git CLI: text and files are in the published commit on main.
    tree = git("ls-tree", "-r", "-z", "--name-only", sha).split("\0")
    assert {"manuals/test-manual.md", "manuals/test-manual/files/申請書_様式.pdf",
            "manuals/test-manual/files/image-01.png"} <= set(tree)
    assert git("rev-parse", "main").strip() == sha
    # The permalink of version 2; version 1 has no such file.
    client = client.application.test_client()
    login(client, "aoba.tanto")
    assert client.get(f"/revisions/{revision.id}/files/image-01.png").status_code == 404
    r = client.get("/manuals/test-manual/v/2/files/申請書_様式.pdf")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/pdf"
    assert r.headers["Content-Disposition"].startswith("attachment;") and "filename*=UTF-8''" in r.headers["Content-Disposition"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    img = client.get("/manuals/test-manual/v/2/files/image-01.png")
    assert img.headers["Content-Disposition"].startswith("inline;")
    assert client.get("/manuals/test-manual/v/1/files/image-01.png").status_code == 404
    assert client.get("/manuals/test-manual/v/2/files/../test-manual.md").status_code == 404
    page = client.get("/manuals/test-manual").get_data(as_text=True)
    assert 'src="/manuals/test-manual/v/2/files/image-01.png"' in page
    assert "（PDF・" in page and 'data-testid="forms"' in page
    compare = client.get("/manuals/test-manual/compare").get_data(as_text=True)
    assert "添付ファイル（様式・画像）の改正" in compare and "申請書_様式.pdf" in compare and "追加" in compare


def test_bad_uploads_are_refused_in_japanese(client) -> None:  # type: ignore[no-untyped-def]
    manual = make_manual()
    revision = revise(manual, "hq.tanto", "3. 受付印を押す。", "3. 受付印を押す。改")
    login(client, "hq.tanto")
    r = upload(client, revision, "様式.pdf", EXE)
    assert r.status_code == 400 and "Windows の実行ファイル" in r.get_json()["error"]
    client.application.config["ATTACHMENT_MAX_BYTES"] = 1000
    try:
        r = upload(client, revision, "表.xlsx", xlsx_bytes())
        assert r.status_code == 400 and "上限" in r.get_json()["error"]
    finally:
        client.application.config.pop("ATTACHMENT_MAX_BYTES")
    # Nothing was committed by the refusals.
    assert attachments.list_files(revision.head_commit, manual.slug) == []
    ward = client.application.test_client()
    login(ward, "aoba.tanto")
    r = upload(ward, revision, "表.xlsx", xlsx_bytes())
    assert r.status_code in (403, 404)


def test_replacing_and_removing_show_in_the_next_version(client) -> None:  # type: ignore[no-untyped-def]
    import io

    from openpyxl import Workbook

    from app.documents import attaching

    manual = make_manual()
    revision = revise(manual, "hq.tanto", "3. 受付印を押す。", "3. 受付印を押す。\n\n[表](files/表.xlsx)")
    login(client, "hq.tanto")
    sheet = xlsx_bytes()
    assert upload(client, revision, "表.xlsx", sheet).status_code == 200
    assert upload(client, revision, "旧様式.pdf", pdf_bytes()).status_code == 200
    approve_all(revision)
    manual = revision.manual
    second = drafting.open_revision(db.session, user("hq.tanto"), manual)
    db.session.commit()
    r = upload(client, second, "表.xlsx", sheet)  # the same bytes: nothing to commit
    assert r.get_json()["unchanged"] is True
    wb = Workbook()
    wb.active.append(["別の様式"])
    out = io.BytesIO()
    wb.save(out)
    assert upload(client, second, "表.xlsx", out.getvalue()).get_json()["replaced"] is True
    db.session.refresh(second)
    attaching.remove(db.session, user("hq.tanto"), second, "旧様式.pdf", expected_head=second.head_commit)
    # A revision that changes only its files is a change: it can be decided.
    second.reason = "様式を改める"
    from app.wareki import today_jst

    second.effective_date = today_jst()
    db.session.commit()
    outcome = approve_all(second)
    assert outcome.published is not None and outcome.published.number == 3
    v2 = db.session.query(ManualVersion).filter_by(manual_id=manual.id, number=2).one()
    changes = attachments.changes(manual.slug, v2.commit_sha, outcome.published.commit_sha)
    assert [(c.name, c.label) for c in changes] == [("旧様式.pdf", "削除"), ("表.xlsx", "差替え")]
    # The old version keeps its files (permalinks do not change).
    assert client.get("/manuals/test-manual/v/2/files/旧様式.pdf").status_code == 200
    assert client.get("/manuals/test-manual/v/3/files/旧様式.pdf").status_code == 404
    page = client.get("/manuals/test-manual/compare").get_data(as_text=True)
    assert "差替え" in page and "削除" in page


def test_word_images_go_into_the_draft(client) -> None:  # type: ignore[no-untyped-def]
    import io

    manual = make_manual()
    revision = revise(manual, "hq.tanto", "3. 受付印を押す。", "3. 受付印を押す。改")
    login(client, "hq.tanto")
    token = client.get(f"/revisions/{revision.id}/edit").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', token).group(1)  # type: ignore[union-attr]
    r = client.post(f"/api/revisions/{revision.id}/files/word",
                    data={"file": (io.BytesIO(docx_samples.manual_docx(docx_samples.png())), "手引き.docx"),
                          "head": revision.head_commit, "csrf_token": csrf}, content_type="multipart/form-data")
    assert r.status_code == 200, r.get_json()
    json = r.get_json()
    assert json["names"] == ["image-01.png"] and "files/image-01.png" in json["markdown"]
    db.session.refresh(revision)
    assert [a.name for a in attachments.list_files(revision.head_commit, manual.slug)] == ["image-01.png"]
    assert store().read(revision.head_commit, manual.path) is not None


def test_names_are_sanitised() -> None:
    from app.documents import files

    assert attachments.clean_name("../../etc/passwd.pdf", files.PDF) == "passwd.pdf"
    assert attachments.clean_name("申請書（第1号様式） v2.pdf", files.PDF) == "申請書（第1号様式）_v2.pdf"
    assert attachments.clean_name("a\u202egpj.exe.pdf", files.PDF) == "agpj.exe.pdf"
    assert attachments.references("![a](files/x.png) [b](<files/y z.pdf>) [c](https://e/files/z)") == ["x.png", "y z.pdf"]


def test_search_finds_a_form_by_its_name_and_doctor_checks_references(client) -> None:  # type: ignore[no-untyped-def]
    from app import doctor
    from app.search import services as search

    manual = make_manual()
    revision = revise(manual, "hq.tanto", "3. 受付印を押す。",
                      "3. 受付印を押す。\n\n[届出書](files/国民健康保険異動届出書.pdf)\n\n![画面](files/image-07.png)")
    login(client, "hq.tanto")
    assert upload(client, revision, "国民健康保険異動届出書.pdf", pdf_bytes()).status_code == 200
    # The draft refers to image-07.png, which is not there: doctor names it.
    found = [f for f in doctor.check(db.session) if f.kind == "attachment_missing"]
    assert len(found) == 1 and "files/image-07.png" in found[0].message and f"#{revision.id}" in found[0].message
    approve_all(revision)
    db.session.refresh(manual)
    search.index_manual(db.session, manual)
    db.session.commit()
    hits = search.search(db.session, None, "異動届出書", record=False).results
    assert any(r.hit.anchor == "files" and r.hit.ref == manual.slug for r in hits)
    found = [f for f in doctor.check(db.session) if f.kind == "attachment_missing"]
    assert len(found) == 1 and "第2版" in found[0].message


def _attach(revision: Revision, name: str, data: bytes) -> None:
    from app.documents import attaching

    db.session.refresh(revision)
    attaching.add(db.session, user("hq.tanto"), revision, name, data, expected_head=revision.head_commit)
    db.session.commit()


def test_parallel_drafts_keep_each_others_files(client) -> None:  # type: ignore[no-untyped-def]
    from app.errors import ValidationError

    manual = make_manual()
    first = revise(manual, "hq.tanto", "14日以内に決定する", "20日以内に決定する")
    second = revise(manual, "hq.tanto", "決定通知書を郵送する。", "決定通知書を郵送する。\n\n[様式](files/様式.pdf)")
    third = revise(manual, "hq.tanto", "1. 窓口で申請書を受け付ける。", "1. 窓口で申請書を受け付ける（図）。")
    _attach(first, "screen.png", docx_samples.png(10, 10))
    _attach(second, "様式.pdf", pdf_bytes())
    _attach(third, "screen.png", docx_samples.png(12, 12))  # the same name, other content
    assert approve_all(first).published is not None
    outcome = approve_all(second)  # published after the first: the first's image stays
    assert outcome.published is not None
    names = {a.name for a in attachments.list_files(outcome.published.commit_sha, manual.slug)}
    assert names == {"screen.png", "様式.pdf"}
    # The third would replace the first's screen.png: refused before anything is decided.
    with pytest.raises(ValidationError, match="同じ名前のファイル") as err:
        approve_all(third)
    assert err.value.details == ["files/screen.png"]
    db.session.rollback()


def test_resolving_a_conflict_keeps_files_published_meanwhile(client) -> None:  # type: ignore[no-untyped-def]
    manual = make_manual()
    first = revise(manual, "hq.tanto", "14日以内に決定する", "20日以内に決定する")
    second = revise(manual, "hq.tanto", "14日以内に決定する", "30日以内に決定する")
    _attach(first, "image.png", docx_samples.png())  # a pasted name: numbered
    db.session.refresh(first)
    assert [a.name for a in attachments.list_files(first.head_commit, manual.slug)] == ["image-01.png"]
    assert approve_all(first).published is not None
    assert approve_all(second).conflict
    drafting.resolve_conflict(db.session, user("hq.tanto"), second, fields={},
                              passages=[("edit", "申請内容を審査し、25日以内に決定する。\n")],
                              expected_head=second.head_commit)
    db.session.commit()
    # A pasted image in the second draft does not take the first's number.
    _attach(second, "image.png", docx_samples.png(30, 30))
    outcome = approve_all(second)
    assert outcome.published is not None and outcome.published.number == 3
    names = [a.name for a in attachments.list_files(outcome.published.commit_sha, manual.slug)]
    assert names == ["image-01.png", "image-02.png"]


def test_the_pdf_of_a_version_embeds_its_images(client) -> None:  # type: ignore[no-untyped-def]
    from app.documents import pdf
    from app.documents.services import embedded_images

    manual = make_manual()
    revision = revise(manual, "hq.tanto", "3. 受付印を押す。", "3. 受付印を押す。\n\n![窓口画面](files/窓口画面.png)")
    _attach(revision, "窓口画面.png", docx_samples.png(80, 40))
    version = approve_all(revision).published
    assert version is not None
    images = embedded_images(manual.slug, version.commit_sha, version.number)
    src = "/manuals/test-manual/v/2/files/%E7%AA%93%E5%8F%A3%E7%94%BB%E9%9D%A2.png"
    assert list(images) == [src] and images[src].startswith("data:image/png;base64,")
    assert pdf.offline_images(f'<img src="{src}" alt="窓口画面">', images).startswith('<img src="data:image/png;base64,')
    assert "［図: x（files/y.png）］" in pdf.offline_images('<img src="/manuals/a/v/1/files/y.png" alt="x">')
    login(client, "aoba.tanto")
    resp = client.get("/manuals/test-manual/v/2.pdf")
    assert resp.status_code == 200 and b"/Image" in resp.data  # the picture is in the PDF, not a note
