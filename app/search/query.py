"""What the clerk typed, made searchable: kana words by their reading (いにんじょう, ｲﾆﾝｼﾞｮｳ → 委任状;
ひきつぎ → 引継ぎ) and 「もしかして」 for a compound the index does not have but nearly has
(国民健康保健 → 国民健康保険, 扶養紹介 → 扶養照会, 療育手張 → 療育手帳). Both only offer words of the
index's own vocabulary (app.search.vocab), so a suggestion always finds something."""

from __future__ import annotations

import unicodedata

from app.search import analysis
from app.search.vocab import Vocabulary


def rewrite_readings(text: str, vocab: Vocabulary) -> str:
    """Each all-kana word (full or half width) replaced by the indexed word read so, when there is one
    (the one in most documents), or by two words that together are read so."""
    out = []
    for part in unicodedata.normalize("NFKC", text).split():
        if len(part) >= 2 and analysis.is_kana(part):
            kana = analysis.hiragana(part)
            found = vocab.by_reading(kana, 1)
            if found:
                out.append(found[0][0])
                continue
            pair = _two_words(kana, vocab)
            if pair:
                out.append(pair)
                continue
        out.append(part)
    return " ".join(out)


def _two_words(kana: str, vocab: Vocabulary) -> str | None:
    best: tuple[int, str] | None = None
    for i in range(2, len(kana) - 1):
        left, right = vocab.by_reading(kana[:i], 1), vocab.by_reading(kana[i:], 1)
        if left and right:
            weight = min(left[0][1], right[0][1])
            if best is None or weight > best[0]:
                best = (weight, f"{left[0][0]} {right[0][0]}")
    return best[1] if best else None


def distance(a: str, b: str) -> int:
    """Levenshtein distance (short strings)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _compounds(text: str) -> list[tuple[str, str]]:
    """The query's noun compounds, longest only (not their parts)."""
    _tokens, phrases = analysis.analyse_doc(text)
    return [(p, r) for p, r in phrases.items() if not any(p != q and p in q for q in phrases)]


def _closest(phrase: str, reading: str, vocab: Vocabulary) -> str | None:
    """An indexed compound the clerk probably meant: read the same (the IME chose other kanji) or
    one edit away (two for long words); the nearest, then the most common."""
    best: tuple[int, int, int, str] | None = None
    for cand, cand_reading, df in vocab.near(phrase, reading):
        d = distance(phrase, cand)
        same_reading = cand_reading == reading
        if d == 0 or not (same_reading and d <= max(1, len(phrase) // 2)
                          or d == 1 and len(phrase) >= 3 or d == 2 and len(phrase) >= 6):
            continue
        key = (0 if same_reading else 1, d, -df, cand)
        if best is None or key < best:
            best = key
    return best[3] if best else None


def suggest(text: str, vocab: Vocabulary) -> str | None:
    """「もしかして」: the query with each unknown compound replaced by its closest indexed one."""
    norm = analysis.normalize(text).strip()
    compounds = [(p, r) for p, r in _compounds(norm) if len(p) >= 2]
    known = vocab.df(p for p, _ in compounds)
    out = norm
    for phrase, reading in compounds:
        if known.get(phrase):
            continue
        fix = _closest(phrase, reading, vocab)
        if fix:
            out = out.replace(phrase, fix)
    return out if out != norm else None
