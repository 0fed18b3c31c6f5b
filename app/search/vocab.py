"""The index's own vocabulary: every noun compound of the indexed documents with its reading and
document frequency. Readings (いにんじょう → 委任状) and 「もしかして」 (国民健康保健 → 国民健康保険)
look words up here, so they only ever offer what a search will find.

Kept beside the engine's index (same directory, same life: written by the same upserts, cleared by
the same reindex) and independent of the engine, so the FTS5 and Whoosh backends share it; with the
PostgreSQL index it lives in the database too (app.search.pg_vocab), one for every host.
`Indexed` wraps an engine and keeps the vocabulary in step with it.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from app.search.backend import thread_connection

SCHEMA = """
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS vocab (
    phrase TEXT PRIMARY KEY, reading TEXT NOT NULL, rev TEXT NOT NULL, df INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS vocab_reading ON vocab(reading);
CREATE INDEX IF NOT EXISTS vocab_rev ON vocab(rev);
-- Each document's phrases, to take them out again when it is replaced or deleted.
CREATE TABLE IF NOT EXISTS doc_phrases (key TEXT PRIMARY KEY, phrases TEXT NOT NULL) WITHOUT ROWID;
"""

class Vocabulary:
    def __init__(self, directory: str | Path) -> None:
        self.path = str(Path(directory) / "vocab.sqlite3")

    def _conn(self) -> sqlite3.Connection:
        return thread_connection(self.path, SCHEMA)

    def update(self, docs: dict[str, dict[str, str]], replace_prefixes: Iterable[str] = ()) -> None:
        """Documents (key → {phrase: reading}) replace their old phrases; `replace_prefixes` first."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            delta: Counter[str] = Counter()
            readings: dict[str, str] = {}
            for prefix in replace_prefixes:
                self._remove(conn, prefix, False, delta)
            for key, phrases in docs.items():
                self._remove(conn, key, True, delta)
                conn.execute("INSERT INTO doc_phrases(key, phrases) VALUES (?, ?)",
                             (key, "\n".join(phrases)))  # the readings live in vocab only
                delta.update(phrases.keys())
                readings.update(phrases)
            for phrase, n in delta.items():
                if n > 0:
                    conn.execute("INSERT INTO vocab(phrase, reading, rev, df) VALUES (?, ?, ?, ?) "
                                 "ON CONFLICT(phrase) DO UPDATE SET df = df + ?",
                                 (phrase, readings.get(phrase, ""), phrase[::-1], n, n))
                elif n < 0:
                    conn.execute("UPDATE vocab SET df = df + ? WHERE phrase = ?", (n, phrase))
            conn.execute("DELETE FROM vocab WHERE df <= 0")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _remove(conn: sqlite3.Connection, key: str, exact: bool, delta: Counter[str]) -> None:
        if exact:
            rows = conn.execute("SELECT key, phrases FROM doc_phrases WHERE key = ?", (key,)).fetchall()
        else:
            rows = conn.execute("SELECT key, phrases FROM doc_phrases WHERE key >= ? AND key < ?",
                                (key, key + "\uffff")).fetchall()
        for doc_key, phrases in rows:
            delta.subtract(line.split("\t", 1)[0] for line in phrases.split("\n") if line)
            conn.execute("DELETE FROM doc_phrases WHERE key = ?", (doc_key,))

    def count(self) -> int:
        """Documents whose phrases are kept (one per indexed document when in step with the index)."""
        return int(self._conn().execute("SELECT count(*) FROM doc_phrases").fetchone()[0])

    def clear(self) -> None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM vocab")
        conn.execute("DELETE FROM doc_phrases")
        conn.execute("COMMIT")

    def by_reading(self, reading: str, limit: int = 5) -> list[tuple[str, int]]:
        """Phrases read so, the most documents first."""
        return [(p, n) for p, n in self._conn().execute(
            "SELECT phrase, df FROM vocab WHERE reading = ? ORDER BY df DESC, length(phrase) LIMIT ?", (reading, limit))]

    def df(self, phrases: Iterable[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(phrases))
        if not wanted:
            return {}
        return dict(self._conn().execute(
            f"SELECT phrase, df FROM vocab WHERE phrase IN ({','.join('?' * len(wanted))})", wanted))

    def near(self, phrase: str, reading: str, limit: int = 300) -> list[tuple[str, str, int]]:
        """Candidates within one or two edits: the same reading, or the same first or last half (one
        edit leaves one half intact), of a similar length. The caller measures the distance."""
        half = max(1, len(phrase) // 2)
        lo, hi = len(phrase) - 2, len(phrase) + 2
        conn = self._conn()
        rows = conn.execute(
            "SELECT phrase, reading, df FROM vocab WHERE reading = ? AND phrase <> ? "
            "UNION SELECT phrase, reading, df FROM vocab WHERE phrase >= ? AND phrase < ? AND length(phrase) BETWEEN ? AND ? "
            "UNION SELECT phrase, reading, df FROM vocab WHERE rev >= ? AND rev < ? AND length(phrase) BETWEEN ? AND ? "
            "LIMIT ?",
            (reading, phrase, phrase[:half], phrase[:half] + "\uffff", lo, hi,
             phrase[::-1][:half], phrase[::-1][:half] + "\uffff", lo, hi, limit)).fetchall()
        return [(p, r, n) for p, r, n in rows]


class Indexed:
    """An engine with the vocabulary kept in step: the engine's interface, plus `vocab`."""

    def __init__(self, engine: Any, vocab: Vocabulary) -> None:
        self.engine = engine
        self.vocab = vocab

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def upsert(self, docs: Iterable[Any], *, replace_prefixes: Iterable[str] = ()) -> int:
        docs = list(docs)
        prefixes = list(replace_prefixes)
        n = self.engine.upsert(docs, replace_prefixes=prefixes)
        self.vocab.update({d.key: d.phrases for d in docs}, prefixes)
        return n

    def delete(self, prefix: str) -> None:
        self.engine.delete(prefix)
        self.vocab.update({}, [prefix])

    def clear(self) -> None:
        self.engine.clear()
        self.vocab.clear()
