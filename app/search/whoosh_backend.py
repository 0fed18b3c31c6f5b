"""Whoosh behind the same interface as the FTS5 index (`SEARCH_BACKEND=whoosh`).

Kept as a selectable engine (DESIGN.md): it receives the same Sudachi terms, pre-analysed into
space-separated strings, so the schema pickles no dictionary. One writer at a time with a lock
timeout per batch; one cached searcher per index generation (refreshed when the index changes).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from whoosh import index as windex
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.fields import BOOLEAN, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.query import And, Or, Prefix, Term

from app.search.backend import WEIGHTS, Hit, IndexDoc, Query, plan_terms

SCHEMA = Schema(
    key=ID(unique=True, stored=True), kind=ID(stored=True), ref=ID(stored=True), anchor=STORED,
    # stored: the final ranking (app.search.ranking) reads the terms of each candidate.
    title_terms=TEXT(analyzer=SpaceSeparatedTokenizer(), field_boost=WEIGHTS[0], stored=True),
    heading_terms=TEXT(analyzer=SpaceSeparatedTokenizer(), field_boost=WEIGHTS[1], stored=True),
    body_terms=TEXT(analyzer=SpaceSeparatedTokenizer(), field_boost=WEIGHTS[2], stored=True),
    title=STORED, heading=STORED, body=STORED, owner=ID(stored=True), tags=KEYWORD(stored=True, commas=True),
    ward=ID(stored=True), obsolete=BOOLEAN(stored=True), version=STORED,
)
FIELDS = ("title_terms", "heading_terms", "body_terms")
_lock = threading.Lock()
_searchers: dict[str, object] = {}


class WhooshIndex:
    def __init__(self, directory: str | Path) -> None:
        self.path = str(Path(directory) / "whoosh")

    def _ix(self):  # type: ignore[no-untyped-def]
        Path(self.path).mkdir(parents=True, exist_ok=True)
        if windex.exists_in(self.path):
            return windex.open_dir(self.path)
        return windex.create_in(self.path, SCHEMA)

    def _searcher(self):  # type: ignore[no-untyped-def]
        with _lock:
            searcher = _searchers.get(self.path)
            if searcher is None:
                searcher = _searchers[self.path] = self._ix().searcher()
            elif not searcher.up_to_date():  # type: ignore[attr-defined]
                # A new searcher, not searcher.refresh(): the refreshed one miscounted deletions.
                searcher.close()  # type: ignore[attr-defined]
                searcher = _searchers[self.path] = self._ix().searcher()
            return searcher

    def upsert(self, docs: Iterable[IndexDoc], *, replace_prefixes: Iterable[str] = ()) -> int:
        writer = self._ix().writer(timeout=30)
        n = 0
        try:
            for prefix in replace_prefixes:
                writer.delete_by_query(Prefix("key", prefix))
            for d in docs:
                writer.update_document(
                    key=d.key, kind=d.kind, ref=d.ref, anchor=d.anchor, title_terms=d.title_terms,
                    heading_terms=d.heading_terms, body_terms=d.body_terms, title=d.title, heading=d.heading,
                    body=d.body, owner=d.owner, tags=",".join(d.tags), ward=d.ward, obsolete=d.obsolete,
                    version=d.version)
                n += 1
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        return n

    def delete(self, prefix: str) -> None:
        writer = self._ix().writer(timeout=30)
        writer.delete_by_query(Prefix("key", prefix))
        writer.commit()

    def clear(self) -> None:
        Path(self.path).mkdir(parents=True, exist_ok=True)
        windex.create_in(self.path, SCHEMA)
        with _lock:
            _searchers.pop(self.path, None)

    def count(self) -> int:
        return self._searcher().doc_count()  # type: ignore[attr-defined]

    def versions(self, kind: str) -> dict[str, str]:
        s = self._searcher()
        return {f["ref"]: f.get("version", "") for f in s.documents(kind=kind)}  # type: ignore[attr-defined]

    def _plan(self, q: Query) -> list[str]:
        terms = list(dict.fromkeys(q.terms))
        if q.prefix or len(terms) < 2:
            return terms
        s = self._searcher()
        df = {t: max(s.doc_frequency(f, t) for f in FIELDS) for t in terms}  # type: ignore[attr-defined]
        return plan_terms(terms, df, s.doc_count())  # type: ignore[attr-defined]

    def _query(self, terms: list[str], prefix: bool, op: str):  # type: ignore[no-untyped-def]
        per_term = [Or([Prefix(f, t) if prefix else Term(f, t) for f in FIELDS]) for t in terms]
        return And(per_term) if op == "AND" else Or(per_term)

    def _filter(self, q: Query):  # type: ignore[no-untyped-def]
        parts = []
        if q.kind:
            parts.append(Term("kind", q.kind))
        if q.owner:
            parts.append(Term("owner", q.owner))
        if q.tag:
            parts.append(Term("tags", q.tag))
        if q.ward:
            parts.append(Term("ward", q.ward))
        if not q.include_obsolete:
            parts.append(Term("obsolete", False))
        return And(parts) if parts else None

    def search(self, q: Query) -> list[Hit]:
        if not q.terms:
            return []
        terms = self._plan(q)
        wanted = q.offset + q.limit
        s = self._searcher()
        found: list[tuple[dict, float]] = []
        seen: set[str] = set()
        for op in (("AND", "OR") if len(terms) > 1 else ("OR",)):
            # top k only: asking Whoosh for len(results) would score every match.
            for hit in s.search(self._query(terms, q.prefix, op), limit=wanted,  # type: ignore[attr-defined]
                                filter=self._filter(q)):
                if hit["key"] not in seen:
                    seen.add(hit["key"])
                    found.append((hit.fields(), hit.score))
            if len(found) >= wanted:
                break
        return [Hit(f["key"], f["kind"], f["ref"], f.get("anchor", ""), f.get("title", ""), f.get("heading", ""),
                    f.get("owner", ""), [t for t in f.get("tags", "").split(",") if t], f.get("ward", ""),
                    f.get("body", ""), score, f.get("title_terms", ""), f.get("heading_terms", ""),
                    f.get("body_terms", "")) for f, score in found[q.offset:wanted]]

    def term_stats(self, terms: list[str]) -> tuple[int, dict[str, int], dict[str, float]]:
        s = self._searcher()
        total = s.doc_count()  # type: ignore[attr-defined]
        df = {t: max(s.doc_frequency(f, t) for f in FIELDS) for t in dict.fromkeys(terms)}  # type: ignore[attr-defined]
        body = s.field_length("body_terms")  # type: ignore[attr-defined]
        return total, {t: n for t, n in df.items() if n}, ({"body": body / total} if total else {})

    def facets(self, q: Query) -> dict[str, dict[str, int]]:
        if not q.terms:
            return {}
        base = Query(terms=q.terms, prefix=q.prefix, include_obsolete=q.include_obsolete, limit=500)
        out: dict[str, dict[str, int]] = {"kind": {}, "owner": {}, "tag": {}}
        for h in self.search(base):
            out["kind"][h.kind] = out["kind"].get(h.kind, 0) + 1
            if h.owner:
                out["owner"][h.owner] = out["owner"].get(h.owner, 0) + 1
            for t in h.tags:
                out["tag"][t] = out["tag"].get(t, 0) + 1
        return out
