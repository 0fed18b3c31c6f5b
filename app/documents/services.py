"""The documents' rules: what may be exported or imported by whom (the existing services check
reading permission), and the data each export holds. Nothing here commits or writes to git."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from app.documents import attachments, files
from app.documents.model import Approval, CompareExport, ManualExport
from app.errors import Conflict, NotFound
from app.gitstore import store
from app.manuals import diff
from app.manuals import services as manuals
from app.manuals.document import parse
from app.markdown import render
from app.org.models import User
from app.org.permissions import require, require_visible
from app.revisions import base, lists
from app.wareki import wareki, wareki_datetime

if TYPE_CHECKING:
    from app.documents.word_in import WordResult

FORMATS = {
    "docx": files.DOCX.mimetype,
    "pdf": files.PDF.mimetype,
}


def download_name(*parts: str, ext: str) -> str:
    return files.sanitize_name("_".join(p for p in parts if p) + "." + ext)


def manual_export(session: Session, user: User, slug: str, number: int | None) -> ManualExport:
    manual = manuals.get_manual(session, user, slug)
    if not manual.is_published:
        raise NotFound(f"マニュアル「{slug}」はまだ公布されていません。")
    version = manuals.get_version(session, manual, number)
    view = manuals.read_version(manual, version)
    approvals = lists.approvals_by_revision(session, [version.revision_id] if version.revision_id else [])
    return ManualExport(
        title=view.doc.title, owner=manual.owner_unit.name, version=version.number,
        current_version=manual.current_version, effective=wareki(version.effective_date),
        published=wareki(version.published_at), targets=list(view.doc.targets), reason=version.reason,
        approvals=[Approval(a.meaning or "承認", a.actor_name, f"{a.actor_unit} {a.actor_position}", wareki_datetime(a.at))
                   for a in approvals.get(version.revision_id or 0, [])],
        html=view.rendered.html, images=embedded_images(manual.slug, version.commit_sha, version.number),
    )


def embedded_images(slug: str, commit: str, number: int) -> dict[str, str]:
    """The version's images as data: URLs, keyed by their permalink in the rendered HTML (the PDF
    engine fetches nothing: app/documents/pdf.py)."""
    from urllib.parse import quote

    gs = store()
    base_url = attachments.version_url(slug, number)
    out = {}
    for a in attachments.list_files(commit, slug, gs):
        data = gs.read_bytes(commit, attachments.path_of(slug, a.name)) if a.is_image else None
        if data:
            out[base_url + quote(a.name)] = f"data:{a.kind.mimetype};base64,{base64.b64encode(data).decode()}"
    return out


def compare_numbers(current: int, new: int | None, old: int | None) -> tuple[int, int | None]:
    """The same defaults as the 新旧対照表 page: the current version against the one before."""
    new_n = new or current
    old_n = old
    if old_n is None:
        old_n = new_n - 1 if new_n > 1 else None
    if old_n is not None and old_n >= new_n:
        new_n, old_n = old_n, new_n
    return new_n, old_n


def compare_export(session: Session, user: User, slug: str, new: int | None, old: int | None) -> CompareExport:
    manual = manuals.get_manual(session, user, slug)
    new_n, old_n = compare_numbers(manual.current_version, new, old)
    new_v, old_v, sections = manuals.compare_versions(session, manual, new_n, old_n or None)
    versions = f"第{old_v.number}版 → 第{new_v.number}版" if old_v else f"第{new_v.number}版・制定"
    return CompareExport(manual.title, versions, new_v.reason, wareki(new_v.effective_date), sections)


def revision_compare_export(session: Session, user: User, revision_id: int) -> CompareExport:
    """The 新旧対照表 of a draft against the version it started from (the sheet a 決裁 file holds)."""
    revision = base.get_revision(session, revision_id)
    require_visible(user, "revision.view", revision, what="指定された改正案")
    old = base.base_text(revision)
    doc = parse(base.current_text(revision))
    sections = diff.compare(parse(old).body if old else "", doc.body)
    versions = (f"改正案 #{revision.id}「{revision.state_label}」と現行第{revision.manual.current_version}版"
                if old else f"制定案 #{revision.id}「{revision.state_label}」")
    return CompareExport(doc.title, versions, revision.reason,
                         wareki(revision.effective_date), sections)


# --- Word in -----------------------------------------------------------------------------------

@dataclass
class WordPreview:
    """A converted .docx shown for review before it replaces a draft body."""

    result: WordResult
    html: str  # rendered with the one renderer; extracted images shown inline for the review


def _check_may_import(session: Session, user: User, revision_id: int | None) -> None:
    if revision_id is None:
        require(user, "manual.create")
        return
    from app.revisions.models import CONSULTATION, DRAFT

    revision = base.get_revision(session, revision_id)
    require(user, "revision.edit", revision)
    if revision.state not in (DRAFT, CONSULTATION):
        raise Conflict(f"この改正案は「{revision.state_label}」のため編集できません。")


def preview_word(session: Session, user: User, filename: str, data: bytes, *, revision_id: int | None = None,
                 limits: files.Limits = files.DEFAULT_LIMITS) -> WordPreview:
    _check_may_import(session, user, revision_id)
    from app.documents.word_in import docx_to_markdown  # mammoth loads where Word is read

    result = docx_to_markdown(data, filename=filename, limits=limits)
    html = render(result.markdown).html
    # The review shows the extracted images from data: URLs (allowed by the CSP); the draft keeps
    # the files/<name> references. Only names this conversion produced are replaced.
    for f in result.files:
        uri = f"data:{f.kind.mimetype};base64,{base64.b64encode(f.data).decode()}"
        html = re.sub(rf'src="files/{re.escape(f.name)}"', f'src="{uri}"', html)
    return WordPreview(result, html)
