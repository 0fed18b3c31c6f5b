"""Japanese analysis shared by indexing and querying (DESIGN.md, "Search").

NFKC (full/half width), a small synonym table for what no dictionary merges, then SudachiPy split
mode A normalised forms, so 引き継ぎ/引継ぎ/引継, 申し込み/申込み/申込, 取り扱い/取扱い, 手続き/手続 and
子ども/子供 become one term. Particles, auxiliaries and symbols are not terms.

Sudachi's tokenizer is not thread-safe and cannot be pickled: one per thread, created lazily.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from markupsafe import Markup, escape

# canonical ← variants (applied to NFKC text before tokenising, for documents and queries alike).
# The default table; the admin keeps the city's own in the database (app.search.synonyms), which
# replaces it in each process with `set_synonyms`.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "マイナンバーカード": ("個人番号カード", "マイナカード"),
    "マイナンバー": ("個人番号",),
    "国民健康保険": ("国保",),
    "後期高齢者医療": ("後期高齢",),
    "住民票の写し": ("住民票写し",),
    "生活保護": ("生保",),
    "児童手当": ("児手",),
}


@dataclass
class _Table:
    pattern: re.Pattern[str] | None
    canonical: dict[str, str]


def _compile(table: dict[str, tuple[str, ...]]) -> _Table:
    canonical = {unicodedata.normalize("NFKC", v): unicodedata.normalize("NFKC", k)
                 for k, vs in table.items() for v in vs if v}
    if not canonical:
        return _Table(None, {})
    return _Table(re.compile("|".join(re.escape(v) for v in sorted(canonical, key=len, reverse=True))), canonical)


_table = _compile(SYNONYMS)


def set_synonyms(table: dict[str, tuple[str, ...]]) -> None:
    """Use this synonym table from now on (analysis caches that depend on it are emptied)."""
    global _table
    _table = _compile(table)
    reading.cache_clear()
    for hook in _on_change:
        hook()


_on_change: list[Callable[[], None]] = []


def on_synonyms_change(hook: Callable[[], None]) -> None:
    _on_change.append(hook)


SKIP_POS = {"助詞", "助動詞", "補助記号", "記号", "空白"}
_local = threading.local()


def _tokenizer():  # type: ignore[no-untyped-def]
    tok = getattr(_local, "tokenizer", None)
    if tok is None:
        from sudachipy import Dictionary, SplitMode

        tok = _local.tokenizer = Dictionary(dict="core").tokenizer(mode=SplitMode.A)
    return tok


def load_dictionary() -> None:
    """Load the dictionary now rather than at the first search (a server's master, once for all
    the workers it forks: app/gunicorn_conf.py)."""
    _tokenizer()


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    table = _table
    if table.pattern is None:
        return text
    return table.pattern.sub(lambda m: table.canonical[m.group(0)], text)


@dataclass(frozen=True)
class Token:
    term: str
    start: int  # offsets in the normalised text
    end: int


def analyse(text: str) -> list[Token]:
    return _analyse(text, None)


def analyse_doc(text: str) -> tuple[list[Token], dict[str, str]]:
    """Tokens and the document's vocabulary: its noun compounds (委任状, 扶養照会, 国民健康保険 and
    their parts up to PHRASE_PARTS morphemes) → reading in hiragana, for readings and 「もしかして」."""
    phrases: dict[str, str] = {}
    return _analyse(text, phrases), phrases


PHRASE_POS = {"名詞", "接尾辞", "接頭辞"}
PHRASE_PARTS = 4


def _add_phrases(run: list[tuple[str, str]], out: dict[str, str]) -> None:
    for i in range(len(run)):
        for j in range(i + 1, min(len(run), i + PHRASE_PARTS) + 1):
            surface = "".join(x for x, _ in run[i:j])
            if len(surface) >= 2:
                out.setdefault(surface, hiragana("".join(r for _, r in run[i:j])))
    if len(run) > PHRASE_PARTS:
        out.setdefault("".join(x for x, _ in run), hiragana("".join(r for _, r in run)))


def _analyse(text: str, phrases: dict[str, str] | None) -> list[Token]:
    text = normalize(text)
    out: list[Token] = []
    # Sudachi has an input size limit; long texts go through in paragraphs.
    offset = 0
    for chunk in _chunks(text):
        prev = None
        run: list[tuple[str, str]] = []
        for m in _tokenizer().tokenize(chunk):
            pos = m.part_of_speech()
            if phrases is not None:
                if pos[0] in PHRASE_POS and pos[1] != "数詞":
                    run.append((m.surface(), m.reading_form()))
                elif run:
                    _add_phrases(run, phrases)
                    run = []
            if pos[0] in SKIP_POS:
                prev = None
                continue
            term = m.normalized_form().lower()
            if not term.strip():
                continue
            out.append(Token(term, offset + m.begin(), offset + m.end()))
            if pos[0] == "動詞" and pos[5].startswith("連用形"):
                # 引継ぎ、申込み… used as verbs split into 引+継ぎ: also emit the noun they spell,
                # so a search for 引き継ぎ finds the verb use too.
                for start, surface in ((m.begin(), m.surface()),
                                       *(((prev.begin(), prev.surface() + m.surface()),) if prev else ())):
                    noun = _noun_form(surface)
                    if noun and noun != term:
                        out.append(Token(noun, offset + start, offset + m.end()))
            prev = m if pos[0] == "動詞" else None
        if run and phrases is not None:
            _add_phrases(run, phrases)
        offset += len(chunk)
    return out


_KANA_RE = re.compile(r"^[\u3041-\u3096\u30a1-\u30fa\u30fc]+$")


def is_kana(text: str) -> bool:
    return bool(_KANA_RE.match(text))


def hiragana(text: str) -> str:
    """Katakana → hiragana (readings compare in one script; ー stays)."""
    return "".join(chr(ord(c) - 0x60) if "\u30a1" <= c <= "\u30f6" else c for c in text)


@lru_cache(maxsize=4096)
def reading(text: str) -> str:
    """The reading of a (short) text in hiragana, by Sudachi."""
    return hiragana("".join(m.reading_form() for m in _tokenizer().tokenize(normalize(text))))


@lru_cache(maxsize=4096)
def _noun_form(surface: str) -> str | None:
    morphemes = list(_tokenizer().tokenize(surface))
    if len(morphemes) == 1 and morphemes[0].part_of_speech()[0] == "名詞":
        return morphemes[0].normalized_form().lower()
    return None


def _chunks(text: str, size: int = 4000) -> list[str]:
    if len(text) <= size:
        return [text]
    parts, start = [], 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            cut = text.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        parts.append(text[start:end])
        start = end
    return parts


def terms(text: str) -> list[str]:
    return [t.term for t in analyse(text)]


def index_text(text: str) -> str:
    """The string stored in the full-text index: terms separated by spaces."""
    return " ".join(terms(text))


def index_doc_text(text: str) -> tuple[str, dict[str, str]]:
    """`index_text` and the text's phrases (see `analyse_doc`) in one pass."""
    tokens, phrases = analyse_doc(text)
    return " ".join(t.term for t in tokens), phrases


def snippet(text: str, query_terms: set[str], width: int = 120, *, prefix: bool = False) -> Markup:
    """A window of the text around the densest cluster of query terms, the terms marked with <mark>.
    Matching is on normalised terms, so a variant spelling in the text is highlighted as typed there.
    With `prefix`, a term matches when it starts with a query term (one-character queries)."""
    norm = normalize(text)

    def hit(term: str) -> bool:
        return term in query_terms or (prefix and any(term.startswith(q) for q in query_terms))

    tokens = [t for t in analyse(text) if hit(t.term)] if query_terms else []
    if not tokens:
        return escape(_squash(norm[:width])) + ("…" if len(norm) > width else "")
    best_start, best_hits = tokens[0].start, 0
    for i, tok in enumerate(tokens):
        hits = sum(1 for t in tokens[i:] if t.start < tok.start + width)
        if hits > best_hits:
            best_start, best_hits = tok.start, hits
    start = max(0, best_start - width // 4)
    end = min(len(norm), start + width)
    out = Markup("…") if start > 0 else Markup("")
    pos = start
    for tok in tokens:
        if tok.start < start or tok.end > end or tok.start < pos:
            continue
        out += escape(_squash(norm[pos:tok.start])) + Markup("<mark>{}</mark>").format(norm[tok.start:tok.end])
        pos = tok.end
    out += escape(_squash(norm[pos:end]))
    return out + (Markup("…") if end < len(norm) else Markup(""))


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@lru_cache(maxsize=8192)
def sort_reading(text: str) -> str:
    """The reading in katakana (Sudachi's reading forms; symbols and spaces dropped), for 50音順.
    Cached: titles and names are read again and again."""
    out = []
    for chunk in _chunks(unicodedata.normalize("NFKC", text)[:400]):
        for m in _tokenizer().tokenize(chunk):
            if m.part_of_speech()[0] in ("補助記号", "空白"):
                continue
            out.append(m.reading_form() or m.surface())
    return "".join(out)
