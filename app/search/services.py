"""Indexing and querying. Only effective manual versions and published rulings are ever indexed,
so nothing unpublished can be found by anyone."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, url_for
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import events, faults
from app.extensions import db
from app.gitstore import store
from app.manuals.document import parse
from app.manuals.models import Manual
from app.markdown import plain_text, split_sections
from app.org.models import User
from app.rulings.models import Inquiry
from app.search import analysis
from app.search.backend import FtsIndex, Hit, IndexDoc, Query
from app.usage import services as usage

log = logging.getLogger(__name__)

# Words that carry no meaning in a question (analysed forms): どうするか, である, …
QUERY_STOPWORDS = {"為る", "有る", "居る", "成る", "どう", "如何", "何", "良い", "いい", "出来る", "思う", "か"}
KIND_LABELS = {"manual": "マニュアル", "ruling": "判断事例"}


def get_index(session: Session | None = None) -> FtsIndex:
    """The configured engine (SEARCH_BACKEND: "fts", "whoosh" or "postgres"), same interface. The
    PostgreSQL index writes in `session`'s transaction (default: the request's session)."""
    backend = current_app.config.get("SEARCH_BACKEND")
    if backend == "whoosh":
        from app.search.whoosh_backend import WhooshIndex

        return WhooshIndex(current_app.config["SEARCH_INDEX_DIR"])  # type: ignore[return-value]
    if backend == "postgres":
        from app.search.pg_backend import PgIndex

        return PgIndex(session if session is not None else db.session)  # type: ignore[return-value]
    return FtsIndex(current_app.config["SEARCH_INDEX_DIR"])


# --- indexing ------------------------------------------------------------------------------------


def manual_docs(manual: Manual, text: str) -> list[IndexDoc]:
    """One document per section of the manual's effective version (hits open at the heading)."""
    doc = parse(text)
    title_terms = analysis.index_text(doc.title)
    docs = []
    trail: dict[int, str] = {}  # the headings above the current one, by level
    for sec in split_sections(doc.body):
        if sec.level:
            trail = {lvl: h for lvl, h in trail.items() if lvl < sec.level}
            trail[sec.level] = sec.heading
        body = plain_text(sec.text)
        if sec.heading:
            body = body.removeprefix(sec.heading).strip()
        if not body:
            continue  # a heading with only subsections: its words are indexed with each subsection
        path = " ".join(h for lvl, h in sorted(trail.items()) if lvl > 1)
        docs.append(IndexDoc(
            key=f"manual:{manual.slug}#{sec.anchor}", kind="manual", ref=manual.slug, anchor=sec.anchor,
            title=doc.title, title_terms=title_terms, heading=sec.heading,
            heading_terms=analysis.index_text(path), body=body, body_terms=analysis.index_text(body),
            owner=manual.owner_unit.name, tags=doc.tags, obsolete=manual.is_obsolete,
            version=manual.current_commit or "",
        ))
    return docs


def index_manual(session: Session, manual: Manual) -> int:
    prefix = f"manual:{manual.slug}#"
    if not manual.is_published:
        get_index(session).delete(prefix)
        return 0
    text = store().read(manual.current_commit, manual.path) or ""
    return get_index(session).upsert(manual_docs(manual, text), replace_prefixes=[prefix])


def reindex(session: Session) -> dict[str, int]:
    """Rebuild the whole index from git (manuals) and the DB (rulings)."""
    index = get_index(session)
    index.clear()
    counts = {"manual_sections": 0, "rulings": 0}
    gs = store()
    batch: list[IndexDoc] = []
    for manual in session.scalars(select(Manual).where(Manual.current_version > 0).order_by(Manual.id)):
        batch += manual_docs(manual, gs.read(manual.current_commit, manual.path) or "")
        if len(batch) > 2000:
            counts["manual_sections"] += index.upsert(batch)
            batch = []
    counts["manual_sections"] += index.upsert(batch)
    for provider in EXTRA_SOURCES:
        counts.update(provider(session, index))
    return counts


def ruling_doc(ruling: Inquiry) -> IndexDoc:
    body = "\n".join(p for p in (ruling.body, ruling.answer, ruling.basis) if p)
    return IndexDoc(
        key=f"ruling:{ruling.number}", kind="ruling", ref=ruling.number or "", title=ruling.subject,
        title_terms=analysis.index_text(ruling.subject), heading=ruling.manual.title if ruling.manual else "",
        heading_terms=analysis.index_text(" ".join(ruling.tag_list)), body=body, body_terms=analysis.index_text(body),
        owner=ruling.owner_unit.name, tags=ruling.tag_list, ward=ruling.asking_office,
        version=ruling.published_at.isoformat() if ruling.published_at else "",
    )


def index_rulings(session: Session, ruling_ids: list[int]) -> int:
    rulings = session.scalars(select(Inquiry).where(Inquiry.id.in_(ruling_ids), Inquiry.number.is_not(None)))
    return get_index(session).upsert([ruling_doc(r) for r in rulings])


def _reindex_rulings(session: Session, index: FtsIndex) -> dict[str, int]:
    n = 0
    batch: list[IndexDoc] = []
    for ruling in session.scalars(select(Inquiry).where(Inquiry.number.is_not(None)).order_by(Inquiry.id)):
        batch.append(ruling_doc(ruling))
        if len(batch) >= 2000:
            n += index.upsert(batch)
            batch = []
    return {"rulings": n + index.upsert(batch)}


EXTRA_SOURCES = [_reindex_rulings]


@events.consumer("ruling.published", "search_index")
@events.consumer("ruling.imported", "search_index")
def _on_rulings(session: Session, data: dict[str, Any]) -> None:
    index_rulings(session, data["ruling_ids"])


@events.consumer("manual.published", "search_index")
def _on_manual_published(session: Session, data: dict[str, Any]) -> None:
    manual = session.get(Manual, data["manual_id"])
    if manual is not None:
        faults.fail("search.index")
        index_manual(session, manual)


@events.consumer("manuals.imported", "search_index")
def _on_manuals_imported(session: Session, data: dict[str, Any]) -> None:
    docs: list[IndexDoc] = []
    gs = store()
    manuals = list(session.scalars(select(Manual).where(Manual.id.in_(data["manual_ids"]))))
    for manual in manuals:
        docs += manual_docs(manual, gs.read(manual.current_commit, manual.path) or "")
    get_index(session).upsert(docs, replace_prefixes=[f"manual:{m.slug}#" for m in manuals])


# --- querying ------------------------------------------------------------------------------------


@dataclass
class Result:
    hit: Hit
    snippet: Markup

    @property
    def url(self) -> str:
        if self.hit.kind == "manual":
            return url_for("manuals.show", slug=self.hit.ref) + (f"#{self.hit.anchor}" if self.hit.anchor else "")
        return url_for("rulings.show", number=self.hit.ref)

    def as_json(self) -> dict[str, object]:
        return {"kind": self.hit.kind, "id": self.hit.ref, "anchor": self.hit.anchor,
                "title": self.hit.title + (f" — {self.hit.heading}" if self.hit.heading else ""),
                "snippet": str(self.snippet), "score": round(self.hit.score, 4)}


@dataclass
class Results:
    query: str
    results: list[Result] = field(default_factory=list)
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    terms: list[str] = field(default_factory=list)


def parse_query(text: str) -> tuple[list[str], bool]:
    text = text.strip()[:200]
    found = analysis.terms(text)
    meaningful = [t for t in found if t not in QUERY_STOPWORDS] or found
    one_char = len(unicodedata.normalize("NFKC", text)) == 1
    return meaningful, one_char


def search(session: Session, user: User | None, text: str, *, kind: str | None = None, owner: str | None = None,
           tag: str | None = None, ward: str | None = None, include_obsolete: bool = False, limit: int = 20,
           offset: int = 0, facets: bool = False, record: bool = True) -> Results:
    terms, prefix = parse_query(text)
    q = Query(terms=terms, prefix=prefix, kind=kind or None, owner=owner or None, tag=tag or None, ward=ward or None,
              include_obsolete=include_obsolete, limit=max(1, min(limit, 100)), offset=max(0, offset))
    index = get_index(session)
    hits = index.search(q)
    wanted = set(terms)
    results = [Result(h, analysis.snippet(h.body, wanted, prefix=prefix)) for h in hits]
    out = Results(text, results, index.facets(q) if facets else {}, terms)
    if record and user is not None and not hits and offset == 0 and text.strip():
        usage.record_miss(session, user, text, kind or "")
    return out
