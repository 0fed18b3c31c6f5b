"""新旧対照表: the old/new comparison every Japanese revision is reviewed with.

Lines are aligned with difflib; inside a changed line the diff is by character (Japanese has no
spaces), and only the characters that changed are marked (傍線). Sections without changes are
folded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from markupsafe import Markup, escape

from app.markdown import Section, split_sections


@dataclass
class Row:
    new: Markup  # 改正後
    old: Markup  # 改正前
    changed: bool


@dataclass
class SectionDiff:
    anchor: str
    heading: str
    changed: bool
    rows: list[Row] = field(default_factory=list)
    status: str = ""  # unchanged / changed / new (新設) / removed (削除)

    def display(self, context: int = 1) -> list[Row | None]:
        """Changed rows, the heading row and `context` rows around changes; None = folded (略)."""
        keep = {0}
        for i, row in enumerate(self.rows):
            if row.changed:
                keep.update(range(max(0, i - context), min(len(self.rows), i + context + 1)))
        out: list[Row | None] = []
        for i, row in enumerate(self.rows):
            if i in keep:
                out.append(row)
            elif out and out[-1] is not None:
                out.append(None)
        return out


def _mark(text: str) -> Markup:
    return Markup('<u class="chg">{}</u>').format(text) if text else Markup("")


def _char_diff(old: str, new: str) -> tuple[Markup, Markup]:
    sm = SequenceMatcher(None, old, new, autojunk=False)
    out_old, out_new = Markup(""), Markup("")
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            out_old += escape(old[i1:i2])
            out_new += escape(new[j1:j2])
        else:
            out_old += _mark(old[i1:i2])
            out_new += _mark(new[j1:j2])
    return out_new, out_old


@dataclass
class Passage:
    """One passage on both sides with the differing characters marked (the resolution page)."""

    main: str
    draft: str
    main_html: Markup
    draft_html: Markup


def passage(main: str, draft: str) -> Passage:
    draft_html, main_html = _char_diff(main, draft)
    return Passage(main, draft, main_html, draft_html)


def _rows(old_lines: list[str], new_lines: list[str]) -> list[Row]:
    rows: list[Row] = []
    sm = SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            rows += [Row(escape(new_lines[j]), escape(old_lines[i]), False) for i, j in zip(range(i1, i2), range(j1, j2),
                                                                                     strict=True)]
            continue
        for o, n in _pair(old_lines[i1:i2], new_lines[j1:j2]):
            if o is not None and n is not None:
                new_html, old_html = _char_diff(o, n)
            else:
                new_html = _mark(n) if n else Markup("")
                old_html = _mark(o) if o else Markup("")
            rows.append(Row(new_html, old_html, True))
    return rows


def _pair(olds: list[str], news: list[str]) -> list[tuple[str | None, str | None]]:
    """Align changed lines side by side: a new line sits beside the most similar old line still
    ahead (so an inserted item does not shift every later pair); the rest stand alone."""
    if len(olds) * len(news) > 2500:  # a rewrite: similarity search would cost more than it shows
        return [(olds[k] if k < len(olds) else None, news[k] if k < len(news) else None)
                for k in range(max(len(olds), len(news)))]
    pairs: list[tuple[str | None, str | None]] = []
    i = 0
    for n in news:
        best, best_ratio = None, 0.5
        for k in range(i, len(olds)):
            ratio = SequenceMatcher(None, olds[k], n, autojunk=False).ratio()
            if ratio > best_ratio:
                best, best_ratio = k, ratio
        if best is None:
            pairs.append((None, n))
            continue
        pairs += [(o, None) for o in olds[i:best]]
        pairs.append((olds[best], n))
        i = best + 1
    pairs += [(o, None) for o in olds[i:]]
    return pairs


_HEADING_MARK = re.compile(r"^#{1,6}[ \t]+")


def _lines(text: str) -> list[str]:
    # A 新旧対照表 shows text, not Markdown heading marks.
    return [_HEADING_MARK.sub("", line) for line in text.splitlines()]


def _same(a: str, b: str) -> bool:
    """Equal as text: trailing spaces and blank lines at the end are not a change."""
    return [line.rstrip() for line in a.strip("\n").splitlines()] == [line.rstrip() for line in b.strip("\n").splitlines()]


def _body(text: str) -> str:
    return "\n".join(text.splitlines()[1:]).strip()


def match_sections(old_list: list[Section], new_list: list[Section]) -> dict[int, Section]:
    """For each new section (by index) the old one it continues: the same heading anchor, else —
    a heading renumbered or renamed — the most similar text among the old ones left."""
    old_by_anchor = {s.anchor: s for s in old_list}
    matched: dict[int, Section] = {}
    used: set[str] = set()
    for i, sec in enumerate(new_list):
        if sec.anchor in old_by_anchor:
            matched[i] = old_by_anchor[sec.anchor]
            used.add(sec.anchor)
    for i, sec in enumerate(new_list):
        if i in matched or not sec.anchor:
            continue
        best, best_ratio = None, 0.6
        for old in old_list:
            if old.anchor in used or not old.anchor:
                continue
            ratio = SequenceMatcher(None, _body(old.text), _body(sec.text), autojunk=False).ratio()
            if ratio > best_ratio:
                best, best_ratio = old, ratio
        if best is not None:
            matched[i] = best
            used.add(best.anchor)
    return matched


@dataclass(frozen=True)
class Change:
    """What became of an old section: unchanged, changed (its body), or removed; where it is now."""

    status: str
    anchor: str
    heading: str


def changes(old_body: str, new_body: str) -> dict[str, Change]:
    """Per old section anchor, what the new version did to it (the 判断事例 re-check flags)."""
    old_list, new_list = split_sections(old_body), split_sections(new_body)
    out = {s.anchor: Change("removed", "", s.heading) for s in old_list}
    for i, old in match_sections(old_list, new_list).items():
        new = new_list[i]
        same = _same(_body(old.text), _body(new.text))
        out[old.anchor] = Change("unchanged" if same else "changed", new.anchor, new.heading)
    return out


def compare(old_body: str, new_body: str) -> list[SectionDiff]:
    """Section-by-section comparison, in the new order, with removed sections where they stood."""
    old_list = split_sections(old_body)
    new_list = split_sections(new_body)
    matched = match_sections(old_list, new_list)
    used = {s.anchor for s in matched.values()}
    result: list[SectionDiff] = []
    for i, sec in enumerate(new_list):
        old = matched.get(i)
        if old is None:
            rows = _rows([], _lines(sec.text))
            result.append(SectionDiff(sec.anchor, sec.heading, True, rows, "new"))
        elif _same(old.text, sec.text):
            rows = [Row(escape(line), escape(line), False) for line in _lines(sec.text)]
            result.append(SectionDiff(sec.anchor, sec.heading, False, rows, "unchanged"))
        else:
            rows = _rows(_lines(old.text), _lines(sec.text))
            result.append(SectionDiff(sec.anchor, sec.heading, True, rows, "changed"))
    # Removed sections go after the section that preceded them in the old text.
    for k, old in enumerate(old_list):
        if old.anchor in used:
            continue
        rows = _rows(_lines(old.text), [])
        removed = SectionDiff(old.anchor, old.heading, True, rows, "removed")
        before = next((o.anchor for o in reversed(old_list[:k]) if o.anchor in used), None)
        at = next((j + 1 for j, d in enumerate(result) if before is not None and d.anchor == before), 0)
        result.insert(at, removed)
    return result


@dataclass
class Block:
    """What the 新旧対照表 shows in order: a changed section, or a run of unchanged ones (one （略）)."""

    sections: list[SectionDiff]

    @property
    def folded(self) -> bool:
        return not self.sections[0].changed

    @property
    def headings(self) -> str:
        return "、".join(s.heading or "（冒頭）" for s in self.sections)


def blocks(sections: list[SectionDiff]) -> list[Block]:
    out: list[Block] = []
    for sec in sections:
        if not sec.changed and out and out[-1].folded:
            out[-1].sections.append(sec)
        else:
            out.append(Block([sec]))
    return out


def has_changes(diff: list[SectionDiff]) -> bool:
    return any(s.changed for s in diff)
