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

from app.markdown import split_sections


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


def compare(old_body: str, new_body: str) -> list[SectionDiff]:
    """Section-by-section comparison. Sections are matched by heading anchor, in the new order;
    sections that were removed follow where they stood."""
    old_sections = {s.anchor: s for s in split_sections(old_body)}
    new_sections = split_sections(new_body)
    result: list[SectionDiff] = []
    seen: set[str] = set()
    old_order = list(old_sections)
    for sec in new_sections:
        seen.add(sec.anchor)
        old = old_sections.get(sec.anchor)
        old_text = old.text if old else ""
        if old_text == sec.text:
            rows = [Row(escape(line), escape(line), False) for line in _lines(sec.text)]
            result.append(SectionDiff(sec.anchor, sec.heading, False, rows))
        else:
            rows = _rows(_lines(old_text), _lines(sec.text))
            result.append(SectionDiff(sec.anchor, sec.heading, True, rows))
    for anchor in old_order:
        if anchor not in seen:
            old = old_sections[anchor]
            rows = _rows(_lines(old.text), [])
            result.append(SectionDiff(anchor, f"{old.heading}（削除）", True, rows))
    return result


def has_changes(diff: list[SectionDiff]) -> bool:
    return any(s.changed for s in diff)
