"""The index's vocabulary (app.search.vocab) in PostgreSQL, beside the PostgreSQL index: with
several hosts, a phrase a publication brings is offered by 「もしかして」 and readings on every host at
once, not only on the host that indexed it. Written in the caller's transaction (like PgIndex),
under the index's advisory lock, so it commits or rolls back with the index it describes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.search.vocab import Vocabulary

TABLES = ("search_doc_phrases", "search_vocab")  # migration 0019
_MAX = "\U0010ffff"  # after every character: "x" ≤ key < "x" + _MAX is the prefix range in byte order


class PgVocabulary(Vocabulary):
    def __init__(self, session: Session) -> None:  # no file: the rows live in the database
        self.session = session

    def _exec(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        return self.session.execute(text(sql), params or {})

    def update(self, docs: dict[str, dict[str, str]], replace_prefixes: Iterable[str] = ()) -> None:
        delta: Counter[str] = Counter()
        readings: dict[str, str] = {}
        for prefix in replace_prefixes:
            self._take_out("key >= :k AND key < :k || :max", {"k": prefix, "max": _MAX}, delta)
        if docs:
            self._take_out("key = ANY(:keys)", {"keys": list(docs)}, delta)
            self._exec("INSERT INTO search_doc_phrases(key, phrases) SELECT * FROM unnest(CAST(:k AS text[]),"
                       " CAST(:p AS text[]))", {"k": list(docs), "p": ["\n".join(p) for p in docs.values()]})
        for phrases in docs.values():
            delta.update(phrases.keys())
            readings.update(phrases)
        added = sorted((p, n) for p, n in delta.items() if n > 0)
        if added:
            self._exec("INSERT INTO search_vocab(phrase, reading, rev, df) SELECT * FROM unnest(CAST(:p AS text[]),"
                       " CAST(:r AS text[]), CAST(:v AS text[]), CAST(:n AS int[]))"
                       " ON CONFLICT (phrase) DO UPDATE SET df = search_vocab.df + excluded.df",
                       {"p": [p for p, _ in added], "r": [readings.get(p, "") for p, _ in added],
                        "v": [p[::-1] for p, _ in added], "n": [n for _, n in added]})
        removed = sorted((p, n) for p, n in delta.items() if n < 0)
        if removed:
            self._exec("UPDATE search_vocab v SET df = v.df + d.n FROM unnest(CAST(:p AS text[]), CAST(:n AS int[]))"
                       " AS d(phrase, n) WHERE v.phrase = d.phrase", {"p": [p for p, _ in removed],
                                                                      "n": [n for _, n in removed]})
            self._exec("DELETE FROM search_vocab WHERE phrase = ANY(:p) AND df <= 0", {"p": [p for p, _ in removed]})

    def _take_out(self, where: str, params: dict[str, Any], delta: Counter[str]) -> None:
        for (phrases,) in self._exec(f"DELETE FROM search_doc_phrases WHERE {where} RETURNING phrases", params):
            delta.subtract(line.split("\t", 1)[0] for line in phrases.split("\n") if line)

    def count(self) -> int:
        return int(self._exec("SELECT count(*) FROM search_doc_phrases").scalar_one())

    def clear(self) -> None:
        for table in TABLES:
            self._exec(f"DELETE FROM {table}")

    def by_reading(self, reading: str, limit: int = 5) -> list[tuple[str, int]]:
        return [(p, n) for p, n in self._exec(
            "SELECT phrase, df FROM search_vocab WHERE reading = :r ORDER BY df DESC, length(phrase), phrase LIMIT :l",
            {"r": reading, "l": limit})]

    def df(self, phrases: Iterable[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(phrases))
        if not wanted:
            return {}
        return dict(self._exec("SELECT phrase, df FROM search_vocab WHERE phrase = ANY(:p)", {"p": wanted}).all())

    def near(self, phrase: str, reading: str, limit: int = 300) -> list[tuple[str, str, int]]:
        half = max(1, len(phrase) // 2)
        rows = self._exec(
            "SELECT phrase, reading, df FROM search_vocab WHERE reading = :r AND phrase <> :p"
            " UNION SELECT phrase, reading, df FROM search_vocab WHERE phrase >= :a AND phrase < :a || :max"
            " AND length(phrase) BETWEEN :lo AND :hi"
            " UNION SELECT phrase, reading, df FROM search_vocab WHERE rev >= :b AND rev < :b || :max"
            " AND length(phrase) BETWEEN :lo AND :hi LIMIT :l",
            {"r": reading, "p": phrase, "a": phrase[:half], "b": phrase[::-1][:half], "max": _MAX,
             "lo": len(phrase) - 2, "hi": len(phrase) + 2, "l": limit})
        return [(p, r, n) for p, r, n in rows]
