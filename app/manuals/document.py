"""A manual file: YAML front matter + Markdown body (the format kept in git)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import yaml

from app.errors import ValidationError

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,79}$")
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
# Key order of the front matter as written to git (readable diffs in a plain clone).
KEY_ORDER = ("title", "owner", "targets", "effective", "review_months", "tags", "manager", "obsolete")


@dataclass
class ManualDoc:
    title: str
    owner: str
    targets: list[str]
    effective: date | None
    review_months: int
    tags: list[str] = field(default_factory=list)
    body: str = ""
    manager: str | None = None  # login of the 管理担当者
    obsolete: date | None = None

    def dump(self) -> str:
        meta: dict[str, object] = {
            "title": self.title,
            "owner": self.owner,
            "targets": list(self.targets),
            "effective": self.effective,
            "review_months": self.review_months,
            "tags": list(self.tags),
            "manager": self.manager,
            "obsolete": self.obsolete,
        }
        lines = []
        for key in KEY_ORDER:
            value = meta[key]
            if value is None:
                continue
            if isinstance(value, list):
                text = "[" + ", ".join(_scalar(v) for v in value) + "]"
            else:
                text = _scalar(value)
            lines.append(f"{key}: {text}")
        body = self.body.replace("\r\n", "\n")
        if not body.endswith("\n"):
            body += "\n"
        return "---\n" + "\n".join(lines) + "\n---\n" + body


def _scalar(value: object) -> str:
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    # YAML's own quoting where needed (a title with ':' or a leading '[' must stay a string).
    return yaml.safe_dump(str(value), allow_unicode=True, default_flow_style=True, width=10_000).strip().removesuffix(
        "\n..."
    ).strip()


class _Loader(yaml.SafeLoader):
    """YAML without its timestamp type: PyYAML would build the date itself and crash on
    `0000-00-00` or `2027-02-30`; here dates stay text and `_as_date` reports each by field."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _as_date(value: object, label: str, problems: list[str]) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        problems.append(f"{label}「{text}」は存在しない日付です。")
    else:
        problems.append(f"{label}「{text}」は YYYY-MM-DD の形式で書いてください。")
    return None


def _as_list(value: object, label: str, problems: list[str]) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [v.strip() for v in re.split(r"[,、，;]", value) if v.strip()]
    if isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
        return [str(v).strip() for v in value if str(v).strip()]
    problems.append(f"{label}は一覧（例: [保険年金課, 戸籍住民課]）で書いてください。")
    return []


def parse(text: str) -> ManualDoc:
    """Parse a manual file; every problem is listed in the ValidationError's details."""
    text = text.replace("\r\n", "\n").lstrip("\ufeff")
    m = FRONT_MATTER.match(text)
    if not m:
        raise ValidationError("先頭にYAMLの前付け（--- で囲んだ title など）がありません。")
    try:
        meta = yaml.load(m.group(1), Loader=_Loader) or {}  # noqa: S506 (a SafeLoader)
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"（{mark.line + 2}行目付近）" if mark is not None else ""
        raise ValidationError(f"前付けのYAMLが正しくありません{where}。") from None
    if not isinstance(meta, dict):
        raise ValidationError("前付けは「キー: 値」の形で書いてください。")
    problems: list[str] = []
    title = str(meta.get("title") or "").strip()
    if not title:
        problems.append("title（マニュアル名）がありません。")
    owner = " ".join(str(meta.get("owner") or "").replace("\u3000", " ").split())
    if not owner:
        problems.append("owner（所管課）がありません。")
    review = meta.get("review_months", 12)
    try:
        review_months = int(review)
        if not 1 <= review_months <= 120:
            raise ValueError
    except (TypeError, ValueError):
        problems.append(f"review_months「{review}」は1〜120の整数で書いてください。")
        review_months = 12
    doc = ManualDoc(
        title=title,
        owner=owner,
        targets=_as_list(meta.get("targets"), "targets（対象の課）", problems),
        effective=_as_date(meta.get("effective"), "effective（施行日）", problems),
        review_months=review_months,
        tags=_as_list(meta.get("tags"), "tags（タグ）", problems),
        body=text[m.end():],
        manager=str(meta["manager"]).strip() if meta.get("manager") else None,
        obsolete=_as_date(meta.get("obsolete"), "obsolete（廃止日）", problems),
    )
    if problems:
        raise ValidationError("マニュアルの前付けに誤りがあります。", details=problems)
    return doc
