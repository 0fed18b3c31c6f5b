"""Downloads (.docx / PDF) of a manual version, a 新旧対照表 and a 事務引継書, and the editor's
「Wordから取り込む」 (convert and show for review; the draft is saved by the editor as usual)."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Flask, current_app, render_template, request, send_file
from flask_login import current_user

from app.documents import files, pdf, word_out
from app.documents import services as docs
from app.errors import ValidationError
from app.extensions import db
from app.handover import handovers
from app.webutil import login_required_for

bp = Blueprint("documents", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

login_required_for(bp)
bp.add_app_template_filter(pdf.offline_images, "offline_images")

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
    m = docs.manual_export(db.session, current_user, slug, number)
    name = docs.download_name(m.title, f"第{m.version}版", ext=fmt)
    ascii_name = f"{slug}-v{m.version}"
    if fmt == "docx":
        return _send(word_out.manual_docx(m), fmt, name, ascii_name)
    return _send(pdf.cached_pdf(render_template("documents/manual_pdf.html", m=m), _cache()), fmt, name, ascii_name)


def _compare(c, fmt: str, ascii_name: str):  # type: ignore[no-untyped-def]
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
