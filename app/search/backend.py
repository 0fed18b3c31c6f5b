"""The search index behind one small interface.

Default backend: SQLite FTS5 in a file under SEARCH_INDEX_DIR, fed with the Sudachi terms of
`analysis`. Why not Whoosh by default: DESIGN.md measured Whoosh at 0.5–2.4 s p95 for sentence
queries at the target scale against 3–124 ms for FTS5 over the same terms, and the budget is
100 ms. The index is derived (rebuildable with `flask search reindex`) and per host, like a Whoosh
directory would be, so it serves a PostgreSQL deployment just as well. SQLite's own locking gives
one writer at a time across processes (WAL, busy timeout), which Whoosh's writer lock did badly.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from app import faults

SCHEMA = """
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS docs (
    rowid INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    anchor TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL,
    heading TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '',
    ward TEXT NOT NULL DEFAULT '',
    obsolete INTEGER NOT NULL DEFAULT 0,
    body TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS docs_kind ON docs(kind);
CREATE INDEX IF NOT EXISTS docs_ref ON docs(kind, ref);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    title, heading, body, tokenize = 'unicode61 remove_diacritics 0', prefix = '1 2'
);
-- Document frequency per term, kept in step with every write: the query planner drops terms
-- that are in most documents (they cost the most postings and rank nothing).
CREATE TABLE IF NOT EXISTS term_df (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
-- Running totals for length normalisation in ranking (body terms over all documents).
CREATE TABLE IF NOT EXISTS totals (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
"""

# A term in more than this share of the documents is left out of a query that has rarer terms
# (only on a corpus large enough for the share to mean something).
COMMON_SHARE = 0.2
COMMON_MIN_DOCS = 500
# Up to this many query terms, the candidates with every term (common ones too) are looked up first.
ALL_TERMS_MAX = 4


def plan_terms(terms: list[str], df: dict[str, int], total: int) -> list[str]:
    """Query terms rarest first: terms no document has are dropped, and on a large corpus so are
    terms in most documents (they cost the most postings and rank nothing) — unless nothing is left."""
    present = [t for t in terms if df.get(t, 0) > 0] or terms
    ranked = sorted(present, key=lambda t: df.get(t, 0))
    if total < COMMON_MIN_DOCS:
        return ranked
    return [t for t in ranked if df.get(t, 0) <= COMMON_SHARE * total] or ranked[:1]

# Field weights for bm25: a hit in a manual title or section heading outranks one in the text.
WEIGHTS = (8.0, 4.0, 1.0)


@dataclass
class IndexDoc:
    key: str  # "manual:<slug>#<anchor>" or "ruling:<number>"
    kind: str  # "manual" / "ruling"
    ref: str  # slug or ruling number
    title: str
    title_terms: str
    heading: str = ""
    heading_terms: str = ""
    body: str = ""  # plain text, for snippets
    body_terms: str = ""
    anchor: str = ""
    owner: str = ""
    tags: list[str] = field(default_factory=list)
    ward: str = ""
    obsolete: bool = False
    version: str = ""  # what was indexed (commit id / updated time): for doctor
    # noun compound → reading, for the vocabulary beside the index (app.search.vocab); engines ignore it
    phrases: dict[str, str] = field(default_factory=dict)


@dataclass
class Hit:
    key: str
    kind: str
    ref: str
    anchor: str
    title: str
    heading: str
    owner: str
    tags: list[str]
    ward: str
    body: str
    score: float
    # The indexed terms, for the final ranking in Python (app.search.ranking), which every engine shares.
    title_terms: str = ""
    heading_terms: str = ""
    body_terms: str = ""


@dataclass
class Query:
    terms: list[str]
    prefix: bool = False  # a one-character query: match terms starting with it
    kind: str | None = None
    owner: str | None = None
    tag: str | None = None
    ward: str | None = None
    include_obsolete: bool = False
    limit: int = 20
    offset: int = 0


_local = threading.local()


def thread_connection(path: str, schema: str, *, rows: bool = False) -> sqlite3.Connection:
    """One connection per thread and file (autocommit; callers BEGIN IMMEDIATE to write), made with
    its schema on first use. Shared by the index and the vocabulary beside it."""
    conns = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    conn = conns.get(path)
    if conn is None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        if rows:
            conn.row_factory = sqlite3.Row
        conn.executescript(schema)
        conns[path] = conn
    return conn


class FtsIndex:
    def __init__(self, directory: str | Path) -> None:
        self.path = str(Path(directory) / "search.sqlite3")

    def _conn(self) -> sqlite3.Connection:
        return thread_connection(self.path, SCHEMA, rows=True)

    def close(self) -> None:
        conns = getattr(_local, "conns", {})
        conn = conns.pop(self.path, None)
        if conn is not None:
            conn.close()

    def upsert(self, docs: Iterable[IndexDoc], *, replace_prefixes: Iterable[str] = ()) -> int:
        """Write documents in one transaction; `replace_prefixes` first removes the old documents
        of the same objects (a manual's sections change with every version)."""
        conn = self._conn()
        n = 0
        added: Counter[str] = Counter()
        body_len = 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            for prefix in replace_prefixes:
                self._delete(conn, prefix)
            for d in docs:
                self._delete(conn, d.key, exact=True)
                added.update(set(f"{d.title_terms} {d.heading_terms} {d.body_terms}".split()))
                body_len += len(d.body_terms.split())
                cur = conn.execute(
                    "INSERT INTO docs(key, kind, ref, anchor, title, heading, owner, tags, ward, obsolete, body, version)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (d.key, d.kind, d.ref, d.anchor, d.title, d.heading, d.owner, "\n".join(d.tags), d.ward,
                     int(d.obsolete), d.body, d.version),
                )
                conn.execute("INSERT INTO fts(rowid, title, heading, body) VALUES (?,?,?,?)",
                             (cur.lastrowid, d.title_terms, d.heading_terms, d.body_terms))
                n += 1
                faults.point("index.during")
            conn.executemany("INSERT INTO term_df(term, df) VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = df + ?",
                             [(t, c, c) for t, c in added.items()])
            self._add_total(conn, "body_terms", body_len)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return n

    def _delete(self, conn: sqlite3.Connection, key: str, *, exact: bool = False) -> None:
        if exact:
            rows = conn.execute("SELECT rowid FROM docs WHERE key = ?", (key,)).fetchall()
        else:
            rows = conn.execute("SELECT rowid FROM docs WHERE key >= ? AND key < ?", (key, key + "\uffff")).fetchall()
        removed: Counter[str] = Counter()
        body_len = 0
        for row in rows:
            old = conn.execute("SELECT title, heading, body FROM fts WHERE rowid = ?", (row[0],)).fetchone()
            if old is not None:
                removed.update(set(" ".join(old).split()))
                body_len += len(old[2].split())
            conn.execute("DELETE FROM fts WHERE rowid = ?", (row[0],))
            conn.execute("DELETE FROM docs WHERE rowid = ?", (row[0],))
        conn.executemany("UPDATE term_df SET df = df - ? WHERE term = ?", [(c, t) for t, c in removed.items()])
        self._add_total(conn, "body_terms", -body_len)

    @staticmethod
    def _add_total(conn: sqlite3.Connection, name: str, n: int) -> None:
        if n:
            conn.execute("INSERT INTO totals(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + ?",
                         (name, n, n))

    def delete(self, prefix: str) -> None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._delete(conn, prefix)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def clear(self) -> None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM fts")
        conn.execute("DELETE FROM docs")
        conn.execute("DELETE FROM term_df")
        conn.execute("DELETE FROM totals")
        conn.execute("COMMIT")

    def versions(self, kind: str) -> dict[str, str]:
        """ref → indexed version, for consistency checks."""
        rows = self._conn().execute("SELECT ref, max(version) FROM docs WHERE kind = ? GROUP BY ref", (kind,))
        return {r[0]: r[1] for r in rows}

    @staticmethod
    def _match(terms: list[str], prefix: bool, op: str) -> str:
        quoted = ['"' + t.replace('"', '""') + '"' for t in dict.fromkeys(terms)]
        if prefix:
            quoted = [t + "*" for t in quoted]
        return f" {op} ".join(quoted)

    def plan(self, q: Query) -> list[str]:
        """The query's terms, rarest first, without those in most documents (when rarer ones remain)."""
        terms = list(dict.fromkeys(q.terms))
        if q.prefix or len(terms) < 2:
            return terms
        conn = self._conn()
        total = conn.execute("SELECT count(*) FROM docs").fetchone()[0]
        df = dict(conn.execute(f"SELECT term, df FROM term_df WHERE term IN ({','.join('?' * len(terms))})", terms))
        return plan_terms(terms, df, total)

    def term_stats(self, terms: list[str]) -> tuple[int, dict[str, int], dict[str, float]]:
        """(documents, document frequency per term, average field lengths) for the final ranking."""
        conn = self._conn()
        total = conn.execute("SELECT count(*) FROM docs").fetchone()[0]
        terms = list(dict.fromkeys(terms))
        df = dict(conn.execute(f"SELECT term, df FROM term_df WHERE term IN ({','.join('?' * len(terms))})", terms)) \
            if terms else {}
        row = conn.execute("SELECT value FROM totals WHERE name = 'body_terms'").fetchone()
        return total, df, ({"body": row[0] / total} if row and total else {})

    def _where(self, q: Query, terms: list[str], op: str = "OR") -> tuple[str, list[object]]:
        clauses: list[str] = ["fts MATCH ?"]
        params: list[object] = [self._match(terms, q.prefix, op)]
        if q.kind:
            clauses.append("d.kind = ?")
            params.append(q.kind)
        if q.owner:
            clauses.append("d.owner = ?")
            params.append(q.owner)
        if q.tag:
            clauses.append("('\n' || d.tags || '\n') LIKE ?")
            params.append(f"%\n{q.tag}\n%")
        if q.ward:
            clauses.append("d.ward = ?")
            params.append(q.ward)
        if not q.include_obsolete:
            clauses.append("d.obsolete = 0")
        return " AND ".join(clauses), params

    def search(self, q: Query) -> list[Hit]:
        """Top hits by bm25: documents with every (meaningful) term first, then any of them.
        Only the top k are ranked and returned: no total count (it costs as much as the search)."""
        if not q.terms:
            return []
        terms = self.plan(q)
        wanted = q.offset + q.limit
        every = list(dict.fromkeys(q.terms))
        stages = [(terms, "AND")] if len(terms) > 1 else []
        if len(every) != len(terms) and len(every) <= ALL_TERMS_MAX:
            # A short query whose common terms were left out: the documents with all of them come
            # first (「児童手当 認定」 must not be searched as 児童 alone); an AND of few terms is cheap.
            stages.insert(0, (every, "AND"))
        rows: list[sqlite3.Row] = []
        for stage_terms, op in [*stages, (terms, "OR")]:
            if len(rows) >= wanted:
                break
            seen = {r["key"] for r in rows}
            rows += [r for r in self._ranked(q, stage_terms, op, wanted) if r["key"] not in seen]
        rows = rows[q.offset:wanted]
        return [Hit(r["key"], r["kind"], r["ref"], r["anchor"], r["title"], r["heading"], r["owner"],
                    [t for t in r["tags"].split("\n") if t], r["ward"], r["body"], -r["score"],
                    r["t_terms"], r["h_terms"], r["b_terms"]) for r in rows]

    def _ranked(self, q: Query, terms: list[str], op: str, limit: int) -> list[sqlite3.Row]:
        where, params = self._where(q, terms, op)
        sql = (f"SELECT d.*, fts.title AS t_terms, fts.heading AS h_terms, fts.body AS b_terms, "
               f"bm25(fts, {WEIGHTS[0]}, {WEIGHTS[1]}, {WEIGHTS[2]}) AS score "
               f"FROM fts JOIN docs d ON d.rowid = fts.rowid WHERE {where} ORDER BY score LIMIT ?")
        return self._conn().execute(sql, [*params, limit]).fetchall()

    def facets(self, q: Query) -> dict[str, dict[str, int]]:
        """Counts per kind, owner and tag for the same query without those filters (top values)."""
        if not q.terms:
            return {}
        base = Query(terms=q.terms, prefix=q.prefix, include_obsolete=q.include_obsolete)
        where, params = self._where(base, self.plan(base))
        rows = self._conn().execute(
            f"SELECT d.kind, d.owner, d.tags FROM fts JOIN docs d ON d.rowid = fts.rowid WHERE {where} LIMIT 2000",
            params).fetchall()
        out: dict[str, dict[str, int]] = {"kind": {}, "owner": {}, "tag": {}}
        for r in rows:
            out["kind"][r["kind"]] = out["kind"].get(r["kind"], 0) + 1
            if r["owner"]:
                out["owner"][r["owner"]] = out["owner"].get(r["owner"], 0) + 1
            for t in r["tags"].split("\n"):
                if t:
                    out["tag"][t] = out["tag"].get(t, 0) + 1
        return out

    def count(self) -> int:
        return self._conn().execute("SELECT count(*) FROM docs").fetchone()[0]
