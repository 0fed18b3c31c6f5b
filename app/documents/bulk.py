"""`flask manuals import DIR` for Word: each `<name>.docx` with its metadata in `<name>.yml` beside it
(the same fields as the front matter; the slug is the file name) becomes a manual file in the
repository's format. app/manuals/importer.py does the rest, all or nothing.

The images taken out of a .docx are written to a staging folder while the files are read (a
folder of a thousand Word manuals must not sit in memory), then committed with the manual's text
at `manuals/<slug>/files/<name>` (app/documents/attachments.py), where the Markdown's `files/<name>`
finds them; git reads each staged file itself. The staging folder is removed either way.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from flask import current_app
from sqlalchemy.orm import Session

from app.documents import attachments, files
from app.errors import ValidationError
from app.manuals.document import parse
from app.manuals.importer import import_documents, read_markdown_files
from app.manuals.models import Manual
from app.org.models import User

# A city's Word manuals carry screenshots: a larger file than the 10 MB web upload is fine from
# the command line; the zip bounds (each member, total, count) stay the same.
BULK_LIMITS = files.Limits(max_bytes=50 * files.MB)


@dataclass
class DocxManual:
    filename: str  # b.docx
    text: str  # front matter + Markdown, as stored in git
    images: int = 0  # images taken out (written to the staging folder, not kept in memory)
    notes: list[str] = field(default_factory=list)  # what could not be carried over


class ImageStage:
    """Images of a bulk import, staged on disk until the commit that holds them is written."""

    def __init__(self, instance_dir: str | Path) -> None:
        self.tmp = Path(instance_dir) / "imported_files" / f".staging-{uuid.uuid4().hex}"
        self.staged: dict[str, dict[str, Path]] = {}

    def add(self, slug: str, extracted: list) -> None:  # list[word_in.ExtractedFile]
        if not extracted:
            return
        target = self.tmp / slug
        target.mkdir(parents=True, exist_ok=True)
        for f in extracted:
            name = attachments.clean_name(f.name, f.kind)
            (target / name).write_bytes(f.data)
            self.staged.setdefault(slug, {})[name] = target / name

    def discard(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _meta(path: Path) -> dict:
    for suffix in (".yml", ".yaml"):
        meta_path = path.with_suffix(suffix)
        if meta_path.exists():
            break
    else:
        raise ValidationError(f"メタデータのファイル {path.stem}.yml がありません（title, owner, targets, effective "
                              "などを前付けと同じ形で書いてください）。")
    try:
        meta = yaml.safe_load(meta_path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise ValidationError(f"{meta_path.name} が UTF-8 のテキストではありません。") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"（{mark.line + 1}行目付近）" if mark is not None else ""
        raise ValidationError(f"{meta_path.name} の YAML が正しくありません{where}。") from None
    if not isinstance(meta, dict):
        raise ValidationError(f"{meta_path.name} は「キー: 値」の形で書いてください。")
    return meta


def read_docx_manual(path: Path, stage: ImageStage) -> DocxManual:
    """One .docx + .yml → the manual file text. ValidationError lists this file's problems."""
    problems: list[str] = []
    meta: dict = {}
    try:
        meta = _meta(path)
    except ValidationError as err:
        problems.append(err.message)
    try:
        from app.documents.word_in import docx_to_markdown  # mammoth loads where Word is read

        result = docx_to_markdown(path.read_bytes(), filename=path.name, limits=BULK_LIMITS)
    except ValidationError as err:
        problems += [err.message, *err.details]
        result = None
    if problems or result is None:
        raise ValidationError("取り込めません。", details=problems)
    # The front matter is written from the parsed YAML (never pasted as text), so a stray `---`
    # in the .yml cannot end it early; parse() checks the fields with the .md import's messages.
    meta = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in meta.items()}
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, default_flow_style=None)
    doc = parse("---\n" + front + "---\n" + result.markdown)
    stage.add(path.stem, result.files)
    return DocxManual(path.name, doc.dump(), len(result.files), result.warnings)


def read_docx_manuals(paths: list[Path], stage: ImageStage) -> tuple[list[DocxManual], list[str]]:
    """Every .docx read; problems listed as `name.docx: …` (the caller refuses them all)."""
    items: list[DocxManual] = []
    problems: list[str] = []
    for path in paths:
        try:
            items.append(read_docx_manual(path, stage))
        except ValidationError as err:
            problems += [f"{path.name}: {d}" for d in (err.details or [err.message])]
    return items, problems


@dataclass
class DirImport:
    manuals: list[Manual]
    notes: list[str]  # what a .docx could not carry over, as "name.docx: …"
    images: dict[str, int]  # slug → how many images taken out of its .docx (now in git with its text)


def import_directory(session: Session, directory: str | Path, *, as_user: User | None = None) -> DirImport:
    """Every *.md, and every *.docx with its <name>.yml, all or nothing (`flask manuals import`)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ValidationError(f"ディレクトリ「{directory}」がありません。")
    files_, problems = read_markdown_files(directory)
    stage = ImageStage(current_app.config["INSTANCE_DIR"])
    try:
        docx_items, docx_problems = read_docx_manuals(sorted(directory.glob("*.docx")), stage)
        problems += docx_problems
        if problems:
            raise ValidationError(f"取込を中止しました（{len(problems)}件の問題）。何も登録していません。", details=problems)
        files_ += [(item.filename, item.text) for item in docx_items]
        if not files_:
            raise ValidationError(f"「{directory}」に .md・.docx ファイルがありません。")
        manuals = import_documents(session, files_, as_user=as_user, attachments=stage.staged)
    finally:
        stage.discard()
    return DirImport(manuals, [f"{item.filename}: {note}" for item in docx_items for note in item.notes],
                     {slug: len(names) for slug, names in stage.staged.items()})
