"""What an exported document holds, shared by the .docx and the PDF writers (one source, two formats)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from markupsafe import Markup

from app.manuals.diff import Row, SectionDiff


@dataclass
class Approval:
    meaning: str
    name: str
    where: str  # unit and position
    at: str  # 和暦 with time


@dataclass
class ManualExport:
    title: str
    owner: str
    version: int
    current_version: int
    effective: str
    published: str
    targets: list[str]
    reason: str
    approvals: list[Approval]
    html: str  # the body through the one renderer (app/markdown.py), sanitised
    images: dict[str, str] = field(default_factory=dict)  # the version's image URLs → data: URLs (PDF)

    @property
    def heading(self) -> str:
        return f"{self.title}（第{self.version}版）"


@dataclass
class CompareExport:
    title: str
    versions: str  # 第2版 → 第3版 / 改正案 #12 と現行第2版
    reason: str
    effective: str
    sections: list[SectionDiff] = field(default_factory=list)

    def rows(self) -> list[tuple[str, Row | None | str]]:
        """The table as shown on the page: ("row", Row), ("fold", None) for （略）, ("section", heading)
        for a section without changes."""
        out: list[tuple[str, Row | None | str]] = []
        for sec in self.sections:
            if sec.changed:
                for row in sec.display():
                    out.append(("row", row) if row is not None else ("fold", None))
                out.append(("end", None))
            else:
                out.append(("section", f"{sec.heading or '（冒頭）'} … 変更なし（略）"))
        return out


_CHG = re.compile(r'<u class="chg">(.*?)</u>', re.S)


def segments(markup: Markup | str) -> list[tuple[str, bool]]:
    """A 新旧対照表 cell as (text, changed) pieces (app/manuals/diff.py marks changes with u.chg)."""
    out: list[tuple[str, bool]] = []
    pos = 0
    text = str(markup)
    for m in _CHG.finditer(text):
        if m.start() > pos:
            out.append((html.unescape(text[pos:m.start()]), False))
        out.append((html.unescape(m.group(1)), True))
        pos = m.end()
    if pos < len(text):
        out.append((html.unescape(text[pos:]), False))
    return [(t, c) for t, c in out if t]
