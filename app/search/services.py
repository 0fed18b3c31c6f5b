"""Indexing and querying. Only effective manual versions and published rulings are ever indexed,
so nothing unpublished can be found by anyone."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import current_app, url_for
from markupsafe import Markup
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app import events, faults
from app.documents import attachments
from app.extensions import db
from app.gitstore import store
from app.manuals.document import parse
from app.manuals.models import Manual, ManualVersion
from app.markdown import plain_text, split_sections
from app.org.models import User
from app.rulings.models import Inquiry
from app.search import analysis, ranking, synonyms
from app.search import query as querying
from app.search.backend import FtsIndex, Hit, IndexDoc, Query
from app.search.vocab import Indexed, Vocabulary
from app.usage import services as usage
from app.wareki import today_jst

log = logging.getLogger(__name__)

# Words that carry no meaning in a question (analysed forms): どうするか, である, …
QUERY_STOPWORDS = {"為る", "有る", "居る", "成る", "どう", "如何", "何", "良い", "いい", "出来る", "思う", "か"}
KIND_LABELS = {"manual": "マニュアル", "ruling": "判断事例"}
# The engine returns this many candidates (at least) for the final ranking in Python.
CANDIDATES = 40


def get_index(session: Session | None = None) -> FtsIndex:
    """The configured engine (SEARCH_BACKEND: "fts", "whoosh" or "postgres"), same interface, with the
    vocabulary (readings, 「もしかして」) kept in step beside it. The PostgreSQL index writes in
    `session`'s transaction (default: the request's session), so every host sees one index."""
    directory = current_app.config["SEARCH_INDEX_DIR"]
    backend = current_app.config.get("SEARCH_BACKEND")
    engine: object
    if backend == "whoosh":
        from app.search.whoosh_backend import WhooshIndex

        engine = WhooshIndex(directory)
    elif backend == "postgres":
        from app.search.pg_backend import PgIndex
        from app.search.pg_vocab import PgVocabulary

        session = session if session is not None else db.session
        return Indexed(PgIndex(session), PgVocabulary(session))  # type: ignore[return-value]
    else:
        engine = FtsIndex(directory)
    return Indexed(engine, Vocabulary(directory))  # type: ignore[return-value]


# --- indexing ------------------------------------------------------------------------------------


def manual_docs(manual: Manual, text: str) -> list[IndexDoc]:
    """One document per section of the manual's effective version (hits open at the heading)."""
    doc = parse(text)
    title_terms, title_phrases = analysis.index_doc_text(doc.title)
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
        heading_terms, heading_phrases = analysis.index_doc_text(path)
        body_terms, body_phrases = analysis.index_doc_text(body)
        docs.append(IndexDoc(
            key=f"manual:{manual.slug}#{sec.anchor}", kind="manual", ref=manual.slug, anchor=sec.anchor,
            title=doc.title, title_terms=title_terms, heading=sec.heading,
            heading_terms=heading_terms, body=body, body_terms=body_terms,
            owner=manual.owner_unit.name, tags=doc.tags, obsolete=manual.is_obsolete,
            version=manual.current_commit or "", phrases={**title_phrases, **heading_phrases, **body_phrases},
        ))
    # The version's 様式 are found by their names: one doc of their own, opening the page's 様式 list.
    forms = attachments.forms_of(attachments.list_files(manual.current_commit, manual.slug))
    if forms:
        body = "様式: " + "、".join(f"{a.name}（{a.short_label}）" for a in forms)
        docs.append(IndexDoc(
            key=f"manual:{manual.slug}#files", kind="manual", ref=manual.slug, anchor="files", title=doc.title,
            title_terms=title_terms, heading="様式", heading_terms=analysis.index_text("様式"), body=body,
            body_terms=analysis.index_text(" ".join(a.name.rsplit(".", 1)[0].replace("_", " ") for a in forms)),
            owner=manual.owner_unit.name, tags=doc.tags, obsolete=manual.is_obsolete,
            version=manual.current_commit or ""))
    return docs


def index_manual(session: Session, manual: Manual) -> int:
    synonyms.ensure_current(session)
    prefix = f"manual:{manual.slug}#"
    if not manual.is_published:
        get_index(session).delete(prefix)
        return 0
    text = store().read(manual.current_commit, manual.path) or ""
    return get_index(session).upsert(manual_docs(manual, text), replace_prefixes=[prefix])


def reindex(session: Session) -> dict[str, int]:
    """Rebuild the whole index from git (manuals) and the DB (rulings)."""
    synonyms.ensure_current(session)
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


def tidy_index() -> None:
    """After a rebuild has been committed: the PostgreSQL index reclaims the rows it replaced and
    refreshes the planner's statistics (VACUUM cannot run in a transaction). Without it the first
    searches after a reindex read through millions of dead entries until autovacuum comes by.
    The file indexes need nothing."""
    if current_app.config.get("SEARCH_BACKEND") == "postgres":
        from app.search.pg_backend import vacuum

        vacuum(db.engine)


def ruling_doc(ruling: Inquiry) -> IndexDoc:
    body = "\n".join(p for p in (ruling.body, ruling.answer, ruling.basis) if p)
    title_terms, title_phrases = analysis.index_doc_text(ruling.subject)
    body_terms, body_phrases = analysis.index_doc_text(body)
    return IndexDoc(
        key=f"ruling:{ruling.number}", kind="ruling", ref=ruling.number or "", title=ruling.subject,
        title_terms=title_terms, heading=ruling.manual.title if ruling.manual else "",
        heading_terms=analysis.index_text(" ".join(ruling.tag_list)), body=body, body_terms=body_terms,
        owner=ruling.owner_unit.name, tags=ruling.tag_list, ward=ruling.asking_office,
        version=ruling.published_at.isoformat() if ruling.published_at else "",
        phrases={**title_phrases, **body_phrases},
    )


def index_rulings(session: Session, ruling_ids: list[int]) -> int:
    synonyms.ensure_current(session)
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
    synonyms.ensure_current(session)
    docs: list[IndexDoc] = []
    gs = store()
    manuals = list(session.scalars(select(Manual).where(Manual.id.in_(data["manual_ids"]))))
    for manual in manuals:
        docs += manual_docs(manual, gs.read(manual.current_commit, manual.path) or "")
    get_index(session).upsert(docs, replace_prefixes=[f"manual:{m.slug}#" for m in manuals])


def reindex_containing(session: Session, words: list[str]) -> dict[str, int]:
    """Re-index the manuals and rulings whose text holds one of the words (bounded by the change)."""
    synonyms.ensure_current(session)
    wanted = [unicodedata.normalize("NFKC", w) for w in words if w]
    counts = {"manuals": 0, "rulings": 0}
    if not wanted:
        return counts
    gs = store()
    for manual in session.scalars(select(Manual).where(Manual.current_version > 0)):
        text = unicodedata.normalize("NFKC", gs.read(manual.current_commit, manual.path) or "")
        if any(w in text for w in wanted):
            index_manual(session, manual)
            counts["manuals"] += 1
    fields = (Inquiry.subject, Inquiry.body, Inquiry.answer, Inquiry.basis)
    ids = list(session.scalars(select(Inquiry.id).where(Inquiry.number.is_not(None), or_(
        *[f.contains(w) for f in fields for w in wanted]))))
    if ids:
        counts["rulings"] = index_rulings(session, ids)
    return counts


@events.consumer(synonyms.TOPIC, "search_reindex_synonyms")
def _on_change(session: Session, data: dict[str, Any]) -> None:
    reindex_containing(session, data.get("words", []))


# --- querying ------------------------------------------------------------------------------------


@dataclass
class Result:
    hit: Hit
    snippet: Markup
    scheduled: date | None = None  # a manual whose newest version (the one indexed) is 施行予定 from then

    @property
    def url(self) -> str:
        if self.hit.kind == "manual":
            return url_for("manuals.show", slug=self.hit.ref) + (f"#{self.hit.anchor}" if self.hit.anchor else "")
        return url_for("rulings.show", number=self.hit.ref)

    def as_json(self) -> dict[str, object]:
        return {"kind": self.hit.kind, "id": self.hit.ref, "anchor": self.hit.anchor,
                "title": self.hit.title + (f" — {self.hit.heading}" if self.hit.heading else ""),
                "snippet": str(self.snippet), "score": round(self.hit.score, 4),
                **({"scheduled": self.scheduled.isoformat()} if self.scheduled else {})}


@dataclass
class Results:
    query: str
    results: list[Result] = field(default_factory=list)
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    terms: list[str] = field(default_factory=list)
    rewritten: str | None = None  # the query as searched, when kana words were read as indexed words
    suggestion: str | None = None  # 「もしかして」

    def as_json(self) -> dict[str, object]:
        return {"query": self.query, "searched": self.rewritten or self.query, "suggestion": self.suggestion,
                "results": [r.as_json() for r in self.results]}


def parse_query(text: str) -> tuple[list[str], bool]:
    text = text.strip()[:200]
    found = analysis.terms(text)
    meaningful = [t for t in found if t not in QUERY_STOPWORDS] or found
    one_char = len(unicodedata.normalize("NFKC", text)) == 1
    return meaningful, one_char


def _ranked(index: FtsIndex, q: Query, terms: list[str], style: str) -> tuple[list[ranking.Scored], bool]:
    """The engine's candidates, scored with every query term; only those good enough, best first;
    and whether that is all there is (the engine had fewer candidates than asked for)."""
    candidates = index.search(q)
    if not candidates:
        return [], True
    total, df, avg = index.term_stats(terms)
    return ranking.good_enough(ranking.score_hits(candidates, terms, ranking.Stats(total, df, avg), style,
                                                  prefix=q.prefix)), len(candidates) < q.limit


def _mark_scheduled(session: Session, results: list[Result]) -> None:
    """Manuals whose newest version (what the index holds) takes effect later: 施行予定 (one query)."""
    slugs = {r.hit.ref for r in results if r.hit.kind == "manual"}
    if not slugs:
        return
    today = today_jst()
    later = dict(session.execute(
        select(Manual.slug, ManualVersion.effective_date).join(ManualVersion, and_(
            ManualVersion.manual_id == Manual.id, ManualVersion.number == Manual.current_version))
        .where(Manual.slug.in_(slugs), ManualVersion.effective_date > today)).all())
    for r in results:
        if r.hit.kind == "manual":
            r.scheduled = later.get(r.hit.ref)


def _facets(scored: list[ranking.Scored]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {"kind": {}, "owner": {}, "tag": {}}
    for s in scored:
        h = s.hit
        out["kind"][h.kind] = out["kind"].get(h.kind, 0) + 1
        if h.owner:
            out["owner"][h.owner] = out["owner"].get(h.owner, 0) + 1
        for t in h.tags:
            out["tag"][t] = out["tag"].get(t, 0) + 1
    return out


def search(session: Session, user: User | None, text: str, *, kind: str | None = None, owner: str | None = None,
           tag: str | None = None, ward: str | None = None, include_obsolete: bool = False, limit: int = 20,
           offset: int = 0, facets: bool = False, record: bool = True) -> Results:
    synonyms.ensure_current(session)
    index = get_index(session)
    vocab: Vocabulary | None = getattr(index, "vocab", None)
    searched = querying.rewrite_readings(text, vocab) if vocab else text
    terms, prefix = parse_query(searched)
    limit, offset = max(1, min(limit, 100)), max(0, offset)
    q = Query(terms=terms, prefix=prefix, kind=kind or None, owner=owner or None, tag=tag or None, ward=ward or None,
              include_obsolete=include_obsolete, limit=max(CANDIDATES, offset + limit), offset=0)
    style = ranking.query_style(searched, terms)
    passing, complete = _ranked(index, q, terms, style)
    hits: list[Hit] = []
    for s in passing[offset:offset + limit]:
        s.hit.score = s.score
        hits.append(s.hit)
    facet_counts: dict[str, dict[str, int]] = {}
    if facets and hits:
        # Without filters and with every candidate ranked, the results that pass are counted (so a
        # facet never promises what the ranking drops); otherwise the engine counts its matches.
        unfiltered = not (q.kind or q.owner or q.tag or q.ward)
        facet_counts = _facets(passing) if unfiltered and complete else index.facets(q)
    wanted = set(terms)
    results = [Result(h, analysis.snippet(h.body, wanted, prefix=prefix)) for h in hits]
    _mark_scheduled(session, results)
    out = Results(text, results, facet_counts, terms,
                  rewritten=searched if searched != " ".join(unicodedata.normalize("NFKC", text).split()) else None,
                  suggestion=querying.suggest(searched, vocab) if vocab and not prefix else None)
    if record and user is not None and not hits and offset == 0 and text.strip():
        usage.record_miss(session, user, text, kind or "")
    return out
