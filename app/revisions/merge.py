"""Merging a draft onto the text published meanwhile (two drafts of one manual are normal).

施行日 (and 廃止日) and 改正理由 belong to the revision: the publishing draft's own values apply.
The other front-matter fields merge field by field — changed on one side only: that side; changed
the same way on both: that value; changed differently on both: a conflict offered as a choice. The
body merges three-way (git merge-file). Conflict markers never reach the front matter, and a
conflicting result is never written as the draft's text: the drafter resolves it on a page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.gitstore import GitStore
from app.manuals.document import ManualDoc, parse

# Front-matter fields that merge (施行日 / 廃止日 are the draft's; the manager is the registry's).
MERGED_FIELDS: dict[str, str] = {
    "title": "マニュアル名",
    "targets": "対象の課",
    "tags": "タグ",
    "review_months": "見直し周期（月）",
}
LABELS = ("現行（他の改正で公布済み）", "起案時の版", "この改正案")


@dataclass
class FieldConflict:
    name: str
    label: str
    main: Any
    draft: Any


@dataclass
class BodyHunk:
    """One passage changed differently on both sides: what each side has there."""

    main: str
    draft: str
    base: str


@dataclass
class Merged:
    doc: ManualDoc | None  # the result: fields merged where they could be (when not clean, the body
    # holds git's markers and conflicting fields the draft's value — never written anywhere as is)
    fields: list[FieldConflict] = field(default_factory=list)
    hunks: list[BodyHunk] = field(default_factory=list)
    marked_body: str = ""  # the body with git's markers (for the resolution page only)

    @property
    def clean(self) -> bool:
        return not self.fields and not self.hunks


def _three_way(base: Any, main: Any, draft: Any) -> tuple[Any, bool]:
    if draft == base:
        return main, True
    if main in (base, draft):
        return draft, True
    return None, False


def merge(gs: GitStore, base_text: str | None, main_text: str | None, draft_text: str) -> Merged:
    draft = parse(draft_text)
    if main_text is None or base_text == main_text:
        return Merged(draft)  # nothing published meanwhile (or a first version): the draft as it is
    main = parse(main_text)
    base = parse(base_text) if base_text is not None else ManualDoc(
        title="", owner=main.owner, targets=[], effective=None, review_months=0, tags=[], body="")
    result = ManualDoc(title=draft.title, owner=main.owner, targets=draft.targets, effective=draft.effective,
                       review_months=draft.review_months, tags=draft.tags, body=draft.body,
                       manager=main.manager, obsolete=draft.obsolete)
    conflicts = []
    for name, label in MERGED_FIELDS.items():
        value, ok = _three_way(getattr(base, name), getattr(main, name), getattr(draft, name))
        if ok:
            setattr(result, name, value)
        else:
            conflicts.append(FieldConflict(name, label, getattr(main, name), getattr(draft, name)))
    body, conflicted = gs.merge_text(base.body, main.body, draft.body, LABELS)
    hunks = split_hunks(body) if conflicted else []
    if conflicted and not hunks:  # a conflict git reports without markers we can read: offer the whole body
        hunks = [BodyHunk(main.body, draft.body, base.body)]
        body = f"<<<<<<< {LABELS[0]}\n{main.body}=======\n{draft.body}>>>>>>> {LABELS[2]}\n"
    result.body = body
    return Merged(result, conflicts, hunks, body if hunks else "")


def split_hunks(marked: str) -> list[BodyHunk]:
    """The conflicting passages of a merge-file result (diff3-less: ours / theirs)."""
    hunks: list[BodyHunk] = []
    state = None
    ours: list[str] = []
    theirs: list[str] = []
    for line in marked.splitlines(keepends=True):
        if line.startswith("<<<<<<< "):
            state, ours, theirs = "ours", [], []
        elif line.startswith("=======") and state == "ours":
            state = "theirs"
        elif line.startswith(">>>>>>> ") and state == "theirs":
            hunks.append(BodyHunk("".join(ours), "".join(theirs), ""))
            state = None
        elif state == "ours":
            ours.append(line)
        elif state == "theirs":
            theirs.append(line)
    return hunks


def resolve_body(marked: str, choices: list[str]) -> str:
    """The body with each conflicting passage replaced by the chosen text (in order)."""
    out: list[str] = []
    state = None
    ours: list[str] = []
    theirs: list[str] = []
    i = 0
    for line in marked.splitlines(keepends=True):
        if line.startswith("<<<<<<< "):
            state, ours, theirs = "ours", [], []
        elif line.startswith("=======") and state == "ours":
            state = "theirs"
        elif line.startswith(">>>>>>> ") and state == "theirs":
            chosen = choices[i] if i < len(choices) else "".join(theirs)
            if chosen and not chosen.endswith("\n"):
                chosen += "\n"
            out.append(chosen)
            i += 1
            state = None
        elif state == "ours":
            ours.append(line)
        elif state == "theirs":
            theirs.append(line)
        else:
            out.append(line)
    return "".join(out)
