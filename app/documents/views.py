"""Downloads (.docx / PDF) of a manual version, a 新旧対照表 and a 事務引継書, and the editor's
「Wordから取り込む」 (convert and show for review; the draft is saved by the editor as usual)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Flask, Response, current_app, render_template, request, send_file
from flask_login import current_user
from sqlalchemy import select

from app.documents import attaching, attachments, files
from app.documents import services as docs
from app.errors import NotFound, ValidationError
from app.extensions import db
from app.gitstore import store
from app.handover import handovers
from app.manuals import services as manuals
from app.org.permissions import require_visible
from app.revisions import base
from app.webutil import login_required_for

bp = Blueprint("documents", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

login_required_for(bp)

# The engines (WeasyPrint, python-docx: ~25 MB with their fonts and XML libraries) are imported
# where a file is made, so a worker that only shows pages never holds them.


@bp.app_template_filter("offline_images")
def offline_images(html: str, images: dict[str, str] | None = None) -> str:
    from app.documents import pdf

    return pdf.offline_images(html, images)

FMT = "<any(docx, pdf):fmt>"


def _cache() -> Path:
    return Path(current_app.config["INSTANCE_DIR"]) / "pdf_cache"


def _send(data: bytes, fmt: str, name: str, ascii_name: str):  # type: ignore[no-untyped-def]
    resp = send_file(io.BytesIO(data), mimetype=docs.FORMATS[fmt], as_attachment=True, download_name=name, max_age=0)
    # Browsers take the Japanese name (filename*); old clients get a readable ASCII one, not "_2.pdf".
    resp.headers["Content-Disposition"] = (f'attachment; filename="{ascii_name}.{fmt}"; '
                                           f"filename*=UTF-8''{quote(name)}")
    return resp


@bp.get(f"/manuals/<slug>/v/<int:number>.{FMT}")
def manual(slug: str, number: int, fmt: str):  # type: ignore[no-untyped-def]
    from app.documents import pdf, word_out

    m = docs.manual_export(db.session, current_user, slug, number)
    name = docs.download_name(m.title, f"第{m.version}版", ext=fmt)
    ascii_name = f"{slug}-v{m.version}"
    if fmt == "docx":
        return _send(word_out.manual_docx(m), fmt, name, ascii_name)
    return _send(pdf.cached_pdf(render_template("documents/manual_pdf.html", m=m), _cache()), fmt, name, ascii_name)


def _compare(c, fmt: str, ascii_name: str):  # type: ignore[no-untyped-def]
    from app.documents import pdf, word_out

    name = docs.download_name(c.title, "新旧対照表", c.versions.replace(" → ", "-").split("「")[0].strip(), ext=fmt)
    if fmt == "docx":
        return _send(word_out.compare_docx(c), fmt, name, ascii_name)
    return _send(pdf.cached_pdf(render_template("documents/compare_pdf.html", c=c), _cache()), fmt, name, ascii_name)


@bp.get(f"/manuals/<slug>/compare.{FMT}")
def compare(slug: str, fmt: str):  # type: ignore[no-untyped-def]
    c = docs.compare_export(db.session, current_user, slug, request.args.get("new", type=int),
                            request.args.get("old", type=int))
    return _compare(c, fmt, f"{slug}-shinkyu")


@bp.get(f"/revisions/<int:revision_id>/compare.{FMT}")
def revision_compare(revision_id: int, fmt: str):  # type: ignore[no-untyped-def]
    return _compare(docs.revision_compare_export(db.session, current_user, revision_id), fmt,
                    f"revision-{revision_id}-shinkyu")


@bp.get(f"/handovers/<int:handover_id>.{FMT}")
def handover(handover_id: int, fmt: str):  # type: ignore[no-untyped-def]
    from app.documents import pdf, word_out

    h = handovers.get_handover(db.session, current_user, handover_id)
    name = docs.download_name("事務引継書", h.unit.name, h.user.name, ext=fmt)
    if fmt == "docx":
        return _send(word_out.handover_docx(h), fmt, name, f"handover-{h.id}")
    return _send(pdf.html_to_pdf(render_template("handover/print.html", h=h)), fmt, name, f"handover-{h.id}")


@bp.post("/api/documents/word-import")
def word_import():  # type: ignore[no-untyped-def]
    """A .docx converted for review (JSON). Nothing is saved: the editor puts the Markdown into
    the body when the user accepts it, and the user saves the draft as usual."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationError("取り込む Word 文書（.docx）を選んでください。")
    revision_id = request.form.get("revision_id", type=int)
    limits = files.Limits(max_bytes=current_app.config["MAX_CONTENT_LENGTH"])
    preview = docs.preview_word(db.session, current_user, upload.filename, upload.read(limits.max_bytes + 1),
                                revision_id=revision_id, limits=limits)
    result = preview.result
    return {
        "markdown": result.markdown,
        "html": preview.html,
        "warnings": result.warnings,
        "files": [{"name": f.name, "label": f.kind.label, "size": files.human_size(f.size)} for f in result.files],
    }


# --- attachments (様式 and images of a version, app/documents/attachments.py) -------------------

def _serve(gs_commit: str, slug: str, name: str, *, immutable: bool):  # type: ignore[no-untyped-def]
    kind = attachments.kind_of(name)
    data = store().read_bytes(gs_commit, attachments.path_of(slug, name)) if kind and "/" not in name else None
    if data is None or kind is None:
        raise NotFound(f"添付ファイル「{name[:100]}」は見つかりません。")
    resp = Response(data, mimetype=kind.mimetype)
    # Images show in the page; a 様式 is downloaded under its Japanese name (filename*).
    disposition = "inline" if kind.code in files.IMAGES else "attachment"
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", name) or f"file{kind.extension}"
    resp.headers["Content-Disposition"] = f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # A version's file never changes (its permalink); a draft's may at the next upload.
    resp.headers["Cache-Control"] = "private, max-age=86400, immutable" if immutable else "private, no-cache"
    return resp


@bp.get("/manuals/<slug>/v/<int:number>/files/<path:name>")
def version_file(slug: str, number: int, name: str):  # type: ignore[no-untyped-def]
    manual = manuals.get_manual(db.session, current_user, slug)
    version = manuals.get_version(db.session, manual, number)
    return _serve(version.commit_sha, manual.slug, name, immutable=True)


@bp.get("/revisions/<int:revision_id>/files/<path:name>")
def draft_file(revision_id: int, name: str):  # type: ignore[no-untyped-def]
    """A draft's file, for those who may see the draft (the same 404 as a missing one otherwise)."""
    revision = base.get_revision(db.session, revision_id)
    require_visible(current_user, "revision.view", revision, what="指定された改正案")
    if not revision.head_commit:
        raise NotFound(f"添付ファイル「{name[:100]}」は見つかりません。")
    return _serve(revision.head_commit, revision.manual.slug, name, immutable=False)


def _editable(revision_id: int):  # type: ignore[no-untyped-def]
    revision = base.get_revision(db.session, revision_id)
    require_visible(current_user, "revision.view", revision, what="指定された改正案")
    return revision


def _listing(revision, head: str) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    return [{"name": a.name, "label": a.short_label, "size": a.size_text, "image": a.is_image,
             "url": attachments.draft_url(revision.id) + quote(a.name)}
            for a in attachments.list_files(head, revision.manual.slug)]


@bp.post("/api/revisions/<int:revision_id>/files")
def upload(revision_id: int):  # type: ignore[no-untyped-def]
    """A 様式 or an image into the draft (one commit on its ref). JSON: the reference to insert,
    the draft's new head (the editor's form follows it) and the draft's files."""
    revision = _editable(revision_id)
    upload_ = request.files.get("file")
    if upload_ is None or not upload_.filename:
        raise ValidationError("添付するファイルを選んでください。")
    limits = files.Limits(max_bytes=current_app.config.get("ATTACHMENT_MAX_BYTES") or current_app.config["MAX_CONTENT_LENGTH"])
    added = attaching.add(db.session, current_user, revision, upload_.filename, upload_.read(limits.max_bytes + 1),
                          expected_head=request.form.get("head", ""), limits=limits,
                          numbered=request.form.get("pasted") == "1")
    a = added.attachment
    return {"name": a.name, "label": a.short_label, "size": a.size_text, "image": a.is_image,
            "markdown": added.markdown, "head": added.head, "replaced": added.replaced, "unchanged": added.unchanged,
            "files": _listing(revision, added.head)}


@bp.post("/api/revisions/<int:revision_id>/files/delete")
def delete_file(revision_id: int):  # type: ignore[no-untyped-def]
    revision = _editable(revision_id)
    head = attaching.remove(db.session, current_user, revision, request.form.get("name", ""),
                            expected_head=request.form.get("head", ""))
    return {"head": head, "files": _listing(revision, head)}


@bp.post("/api/revisions/<int:revision_id>/files/word")
def word_files(revision_id: int):  # type: ignore[no-untyped-def]
    """「Wordから取り込む」 accepted: the .docx converted again and its images put into the draft;
    the Markdown returned refers to them by the names they got there."""
    revision = _editable(revision_id)
    upload_ = request.files.get("file")
    if upload_ is None or not upload_.filename:
        raise ValidationError("取り込む Word 文書（.docx）を選んでください。")
    limits = files.Limits(max_bytes=current_app.config["MAX_CONTENT_LENGTH"])
    preview = docs.preview_word(db.session, current_user, upload_.filename, upload_.read(limits.max_bytes + 1),
                                revision_id=revision.id, limits=limits)
    markdown, head, names = attaching.add_extracted(db.session, current_user, revision, preview.result.files,
                                                    preview.result.markdown, expected_head=request.form.get("head", ""))
    return {"markdown": markdown, "head": head, "names": names, "files": _listing(revision, head)}


@bp.app_template_global()
def draft_files(revision) -> list[attachments.Attachment]:  # type: ignore[no-untyped-def]
    return attachments.list_files(revision.head_commit or None, revision.manual.slug) if revision else []


@bp.app_template_global()
def file_changes(manual, new=None, old=None, revision=None) -> list[attachments.Change]:  # type: ignore[no-untyped-def]
    """Files added, replaced and removed: between two versions, or a draft against its base."""
    if revision is not None:
        return attachments.changes(manual.slug, revision.base_commit, revision.head_commit,
                                   new_url=attachments.draft_url(revision.id))
    if new is None:
        return []
    return attachments.changes(manual.slug, old.commit_sha if old else None, new.commit_sha,
                               new_url=attachments.version_url(manual.slug, new.number),
                               old_url=attachments.version_url(manual.slug, old.number) if old else None)


@bp.app_template_global()
def notice_file_changes(notice) -> list[attachments.Change]:  # type: ignore[no-untyped-def]
    """The 改正通知's list: the files the notified version added, replaced and removed."""
    if not notice.manual_id or not notice.number:
        return []
    from app.manuals.models import Manual, ManualVersion

    manual = db.session.get(Manual, notice.manual_id)
    rows = {v.number: v for v in db.session.scalars(select(ManualVersion).where(
        ManualVersion.manual_id == notice.manual_id, ManualVersion.number.in_((notice.number, notice.number - 1))))}
    new = rows.get(notice.number)
    return file_changes(manual, new=new, old=rows.get(notice.number - 1)) if manual and new else []
