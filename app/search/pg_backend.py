"""The search index in PostgreSQL itself (`SEARCH_BACKEND=postgres`, the default on PostgreSQL).

Same interface and same document model as `FtsIndex` (backend.py): one row per manual section or
ruling, fed with the same Sudachi terms (`analysis.index_text`), stored as text. Why in the
database: every host sees one index at once, and the index is written in the caller's transaction
(the outbox consumer's, or the command's), so it commits or rolls back with the work that changed
it — nothing is committed here.

Ranking is FTS5's bm25 (k1 1.2, b 0.75, the field weights of backend.WEIGHTS), computed in SQL from
a postings table (migration 0019): one row per (term, document) with the term's weighted frequency
(8 per occurrence in the title, 4 in a heading, 1 in the text) and the document's length, made by
PostgreSQL's 'simple' parser from the stored terms in the same statement that writes the document.
A query reads only its terms' entries from one covering index: documents with every term are
found by joining those entries on the document id, any-term queries by adding them up. Document
frequencies and corpus totals come from tables kept in step with every write, like FTS5's term_df.
Writers take one transaction-level advisory lock, so two hosts indexing at the same time queue
instead of dead-locking on the shared term counts.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from app import faults
from app.search.backend import ALL_TERMS_MAX, WEIGHTS, Hit, IndexDoc, Query, plan_terms

TABLES = ("search_postings", "search_docs", "search_terms", "search_stats")  # emptied in this order
ALL_TABLES = (*TABLES, "search_doc_phrases", "search_vocab")  # with the vocabulary (pg_vocab.TABLES)
LOCK_KEY = 727071  # migrations use 727070
K1, B = 1.2, 0.75
FACET_ROWS = 2000
# Up to this many terms, documents with every term are found by joining their postings on the
# document id; longer queries add them up and keep the documents that have them all.
JOIN_TERMS_MAX = 4
# The postings of the documents just written, from their stored terms (weights as backend.WEIGHTS).
_POSTINGS = (
    "INSERT INTO search_postings (doc_id, term, wtf, dl, live) SELECT d.id, u.lexeme,"
    f" (SELECT sum(CASE w WHEN 'A' THEN {WEIGHTS[0]} WHEN 'B' THEN {WEIGHTS[1]} ELSE {WEIGHTS[2]} END)"
    " FROM unnest(u.weights) w), d.doclen, NOT d.obsolete FROM search_docs d,"
    " unnest(setweight(to_tsvector('simple', d.title_terms), 'A') || setweight(to_tsvector('simple', d.heading_terms), 'B')"
    " || setweight(to_tsvector('simple', d.body_terms), 'C')) u WHERE d.key = ANY(:keys)")
_COLUMNS = ("d.key, d.kind, d.ref, d.anchor, d.title, d.heading, d.owner, d.tags, d.ward, d.body, d.title_terms,"
            " d.heading_terms, d.body_terms")


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _words(d: IndexDoc) -> list[str]:
    return f"{d.title_terms} {d.heading_terms} {d.body_terms}".split()


class PgIndex:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _exec(self, sql: str, params: dict[str, Any] | list[dict[str, Any]] | None = None) -> Any:
        return self.session.execute(text(sql), params or {})

    def close(self) -> None:
        """Nothing to close: the index lives in the caller's session."""

    # --- writing ---------------------------------------------------------------------------------

    def _lock(self) -> None:
        self._exec("SELECT pg_advisory_xact_lock(:k)", {"k": LOCK_KEY})

    def upsert(self, docs: Iterable[IndexDoc], *, replace_prefixes: Iterable[str] = ()) -> int:
        """Write documents in the caller's transaction; `replace_prefixes` first removes the old
        documents of the same objects (a manual's sections change with every version)."""
        docs = list(docs)
        self._lock()
        delta: Counter[str] = Counter()
        counts = [0, 0, 0]  # documents, tokens, body tokens
        for prefix in replace_prefixes:
            self._delete_rows("key LIKE :p", {"p": _like_prefix(prefix)}, delta, counts)
        if docs:
            self._delete_rows("key = ANY(:keys)", {"keys": [d.key for d in docs]}, delta, counts)
        rows = []
        for d in docs:
            words = _words(d)
            delta.update(set(words))
            counts[0] += 1
            counts[1] += len(words)
            counts[2] += len(d.body_terms.split())
            rows.append({"key": d.key, "kind": d.kind, "ref": d.ref, "anchor": d.anchor, "title": d.title,
                         "heading": d.heading, "owner": d.owner, "tags": list(d.tags), "ward": d.ward,
                         "obsolete": bool(d.obsolete), "body": d.body, "version": d.version,
                         "tt": d.title_terms, "ht": d.heading_terms, "bt": d.body_terms, "n": len(words)})
            faults.point("index.during")
        for start in range(0, len(rows), 500):
            self._exec("INSERT INTO search_docs(key, kind, ref, anchor, title, heading, owner, tags, ward, obsolete,"
                       " body, version, title_terms, heading_terms, body_terms, doclen) VALUES (:key, :kind, :ref,"
                       " :anchor, :title, :heading, :owner, :tags, :ward, :obsolete, :body, :version, :tt, :ht, :bt,"
                       " :n)", rows[start:start + 500])
        for start in range(0, len(rows), 2000):
            self._exec(_POSTINGS, {"keys": [r["key"] for r in rows[start:start + 2000]]})
        self._apply(delta, counts)
        return len(docs)

    def _delete_rows(self, where: str, params: dict[str, Any], delta: Counter[str], counts: list[int]) -> None:
        for tt, ht, bt in self._exec(f"DELETE FROM search_docs WHERE {where}"
                                     " RETURNING title_terms, heading_terms, body_terms", params):
            words = f"{tt} {ht} {bt}".split()
            delta.subtract(set(words))
            counts[0] -= 1
            counts[1] -= len(words)
            counts[2] -= len(bt.split())

    def _apply(self, delta: Counter[str], counts: list[int]) -> None:
        changed = sorted((t, c) for t, c in delta.items() if c)
        for start in range(0, len(changed), 5000):
            part = changed[start:start + 5000]
            self._exec("INSERT INTO search_terms(term, df) SELECT * FROM unnest(CAST(:t AS text[]), CAST(:c AS int[]))"
                       " ON CONFLICT (term) DO UPDATE SET df = search_terms.df + excluded.df",
                       {"t": [t for t, _ in part], "c": [c for _, c in part]})
        if any(c < 0 for _, c in changed):
            self._exec("DELETE FROM search_terms WHERE term = ANY(:t) AND df <= 0",
                       {"t": [t for t, c in changed if c < 0]})
        if any(counts):
            self._exec("INSERT INTO search_stats(id, docs, tokens, body_tokens) VALUES (1, :d, :n, :b)"
                       " ON CONFLICT (id) DO UPDATE SET docs = search_stats.docs + excluded.docs,"
                       " tokens = search_stats.tokens + excluded.tokens,"
                       " body_tokens = search_stats.body_tokens + excluded.body_tokens",
                       {"d": counts[0], "n": counts[1], "b": counts[2]})

    def delete(self, prefix: str) -> None:
        self._lock()
        delta: Counter[str] = Counter()
        counts = [0, 0, 0]
        self._delete_rows("key LIKE :p", {"p": _like_prefix(prefix)}, delta, counts)
        self._apply(delta, counts)

    def clear(self) -> None:
        # DELETE, not TRUNCATE: searches go on reading the old index until a reindex commits.
        self._lock()
        for table in TABLES:
            self._exec(f"DELETE FROM {table}")

    # --- reading ---------------------------------------------------------------------------------

    def count(self) -> int:
        return int(self._exec("SELECT count(*) FROM search_docs").scalar_one())

    def versions(self, kind: str) -> dict[str, str]:
        """ref → indexed version, for consistency checks."""
        rows = self._exec("SELECT ref, max(version) FROM search_docs WHERE kind = :k GROUP BY ref", {"k": kind})
        return {r[0]: r[1] for r in rows}

    def stats(self) -> tuple[int, float]:
        """(documents, average document length in terms) — FTS5's nRow and avgdl."""
        row = self._exec("SELECT docs, tokens FROM search_stats WHERE id = 1").first()
        docs, tokens = (int(row[0]), int(row[1])) if row else (0, 0)
        return docs, (tokens / docs if docs else 1.0) or 1.0

    def term_df(self, terms: list[str]) -> dict[str, int]:
        """Documents containing each term (in any field)."""
        if not terms:
            return {}
        return dict(self._exec("SELECT term, df FROM search_terms WHERE term = ANY(:t)", {"t": list(terms)}).all())

    def term_stats(self, terms: list[str]) -> tuple[int, dict[str, int], dict[str, float]]:
        """(documents, document frequency per term, average field lengths) for the final ranking."""
        row = self._exec("SELECT docs, body_tokens FROM search_stats WHERE id = 1").first()
        total, body = (int(row[0]), int(row[1])) if row else (0, 0)
        return total, self.term_df(list(dict.fromkeys(terms))), ({"body": body / total} if total else {})

    def plan(self, q: Query) -> list[str]:
        """The query's terms, rarest first, without those in most documents (when rarer ones remain)."""
        terms = list(dict.fromkeys(q.terms))
        if q.prefix or len(terms) < 2:
            return terms
        return plan_terms(terms, self.term_df(terms), self.stats()[0])

    def _filters(self, q: Query, params: dict[str, Any]) -> str:
        """Conditions on the document (alias d) for the facet filters; "" when there are none."""
        clauses = []
        for name in ("kind", "owner", "ward"):
            value = getattr(q, name)
            if value:
                clauses.append(f"d.{name} = :f_{name}")
                params[f"f_{name}"] = value
        if q.tag:
            clauses.append(":f_tag = ANY(d.tags)")
            params["f_tag"] = q.tag
        return "".join(f" AND {c}" for c in clauses)

    @staticmethod
    def _term_match(alias: str, i: int, q: Query, params: dict[str, Any], term: str) -> str:
        """The postings of query term i: the term itself, or (a one-character query) every term
        starting with it — a range in the index's byte order."""
        params[f"t{i}"] = term.lower()  # as the 'simple' parser stored it
        if not q.prefix:
            return f"{alias}.term = :t{i}"
        params[f"u{i}"] = term.lower() + "\U0010ffff"
        return f"{alias}.term >= :t{i} AND {alias}.term < :u{i}"

    def search(self, q: Query) -> list[Hit]:
        """Top hits by bm25: documents with every (meaningful) term first, then any of them."""
        if not q.terms:
            return []
        terms = self.plan(q)
        wanted = q.offset + q.limit
        every = list(dict.fromkeys(q.terms))
        stages = [(terms, "&")] if len(terms) > 1 else []
        if len(every) != len(terms) and len(every) <= ALL_TERMS_MAX:
            stages.insert(0, (every, "&"))  # as FTS5: a short query's documents with all its terms first
        rows: list[Any] = []
        for stage_terms, op in [*stages, (terms, "|")]:
            if len(rows) >= wanted:
                break
            seen = {r.key for r in rows}
            rows += [r for r in self._ranked(q, stage_terms, op, wanted) if r.key not in seen]
        return [Hit(r.key, r.kind, r.ref, r.anchor, r.title, r.heading, r.owner, list(r.tags), r.ward, r.body,
                    float(r.score), r.title_terms, r.heading_terms, r.body_terms) for r in rows[q.offset:wanted]]

    def _idf(self, terms: list[str], prefix: bool) -> tuple[list[float], float]:
        total, avgdl = self.stats()
        if prefix:  # one term: its idf orders nothing
            return [1.0] * len(terms), avgdl
        df = self.term_df(terms)
        out = []
        for t in terms:
            n = df.get(t, 0)
            idf = math.log((total - n + 0.5) / (n + 0.5)) if total else 1.0
            out.append(idf if idf > 0 else 1e-6)  # as FTS5: a term in most documents still counts a little
        return out, avgdl

    def _ranked(self, q: Query, terms: list[str], op: str, limit: int) -> list[Any]:
        idfs, avgdl = self._idf(terms, q.prefix)
        params: dict[str, Any] = {"k1p": K1 + 1, "c1": K1 * (1 - B), "c2": K1 * B / avgdl, "limit": limit}
        for i, idf in enumerate(idfs):
            params[f"idf{i}"] = idf
        docs = self._filters(q, params)
        live = "" if q.include_obsolete else " AND p0.live"
        if op == "&" and not q.prefix and len(terms) <= JOIN_TERMS_MAX:
            # Documents with every term: the terms' postings joined on the document id.
            joins = "".join(f" JOIN search_postings p{i} ON p{i}.doc_id = p0.doc_id AND"
                            f" {self._term_match(f'p{i}', i, q, params, t)}" for i, t in enumerate(terms) if i)
            where = self._term_match("p0", 0, q, params, terms[0])
            score = " + ".join(_bm25(f"p{i}.wtf", f"p{i}.dl", i) for i in range(len(terms)))
            docs_join = " JOIN search_docs d ON d.id = p0.doc_id" if docs else ""
            scoring = (f"SELECT p0.doc_id, {score} AS score FROM search_postings p0{joins}{docs_join}"
                       f" WHERE {where}{live}{docs}")
        else:
            # Any term (or every term of a long query): each term's weighted frequency per document,
            # then bm25 added up over the terms.
            parts = []
            for i, t in enumerate(terms):
                match = self._term_match("p0", i, q, params, t)
                docs_join = " JOIN search_docs d ON d.id = p0.doc_id" if docs else ""
                parts.append(f"SELECT p0.doc_id, {i} AS i, sum(p0.wtf) AS f, max(p0.dl) AS dl FROM search_postings p0"
                             f"{docs_join} WHERE {match}{live}{docs} GROUP BY p0.doc_id")
            per_term = " UNION ALL ".join(parts)
            score = " + ".join(f"CASE f.i WHEN {i} THEN {_bm25('f.f', 'f.dl', i)} ELSE 0 END" for i in range(len(terms)))
            having = f" HAVING count(*) = {len(terms)}" if op == "&" else ""
            scoring = f"SELECT f.doc_id, sum({score}) AS score FROM ({per_term}) f GROUP BY f.doc_id{having}"
        sql = (f"WITH top AS ({scoring} ORDER BY score DESC, 1 LIMIT :limit)"
               f" SELECT {_COLUMNS}, top.score FROM top JOIN search_docs d ON d.id = top.doc_id"
               " ORDER BY top.score DESC, d.id")
        return list(self._exec(sql, params))

    def facets(self, q: Query) -> dict[str, dict[str, int]]:
        """Counts per kind, owner and tag for the same query without those filters (over at most
        FACET_ROWS of the documents with any of its terms)."""
        if not q.terms:
            return {}
        base = Query(terms=q.terms, prefix=q.prefix, include_obsolete=q.include_obsolete)
        params: dict[str, Any] = {"limit": FACET_ROWS}
        live = "" if base.include_obsolete else " AND p0.live"
        matched = " UNION ".join(f"SELECT p0.doc_id FROM search_postings p0 WHERE"
                                 f" {self._term_match('p0', i, base, params, t)}{live}"
                                 for i, t in enumerate(self.plan(base)))
        rows = self._exec(f"SELECT d.kind, d.owner, d.tags FROM search_docs d WHERE d.id IN"
                          f" (SELECT doc_id FROM ({matched}) m LIMIT :limit)", params)
        out: dict[str, dict[str, int]] = {"kind": {}, "owner": {}, "tag": {}}
        for kind, owner, tags in rows:
            out["kind"][kind] = out["kind"].get(kind, 0) + 1
            if owner:
                out["owner"][owner] = out["owner"].get(owner, 0) + 1
            for t in tags:
                out["tag"][t] = out["tag"].get(t, 0) + 1
        return out


def vacuum(engine: Engine) -> None:
    """VACUUM (ANALYZE) the index's tables, on a connection of its own outside any transaction."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ALL_TABLES:
            conn.exec_driver_sql(f"VACUUM (ANALYZE) {table}")


def _bm25(f: str, dl: str, i: int) -> str:
    """FTS5's bm25 for query term i, from its weighted frequency `f` in a document of length `dl`:
    idf · f · (k1 + 1) / (f + k1 · (1 − b + b · dl / avgdl)), the constants bound as float8."""
    return (f"CAST(:idf{i} AS float8) * {f} * CAST(:k1p AS float8)"
            f" / ({f} + CAST(:c1 AS float8) + CAST(:c2 AS float8) * {dl})")
