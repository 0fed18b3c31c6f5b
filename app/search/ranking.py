"""Final ranking, the same for every engine: the engine finds candidates (it may leave the commonest
terms out of that query, for speed), this module scores them with every query term.

BM25F by the role a field plays, not by where it is stored: a manual section is named by its own
heading (the manual's title and the chapters above are context shared by all its sections), a
ruling by its subject (its tags are context). Each field is length-normalised on its own, with a
floor, so a one-line section (「この手引きは、令和9年4月1日から施行する。」) gains nothing from being
short, and the manual title that all sections share does not decide between them.

Keyword queries (「国保 喪失」) want the manual section that governs the case above the rulings
about special cases; question-like queries (「…場合はどうするか」) want the ruling that matches the
case. A document must cover enough of what the query asks for (weighted by rarity; a term the
index does not know counts as unmatched), so junk returns nothing and is logged as not found.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from app.search import analysis
from app.search.backend import Hit

K1 = 1.2
# The body: BM25 with b, and a length floor (a share of the average) so a tiny body gains nothing from
# being short. The name and the context add a fixed amount per query term they hold, outside the
# saturation of the body's count: a section named for the term comes before one that repeats it, and
# the manual title that all its sections share does not decide between them.
B, FLOOR = 0.75, 0.5
DEFAULT_BODY_AVG = 60.0
NAME, CONTEXT = 1.6, 0.8
# A term the context already holds says less in the body (every section of 国民健康保険の手引き
# mentions 国民健康保険; the purpose section most of all).
IN_CONTEXT_BODY = 0.5
# How much the share of the query matched multiplies the score (1: in proportion).
COVERAGE = 0.75
# Kind prior by query style (multiplies the score).
PRIOR = {"keyword": {"manual": 1.0, "ruling": 0.7}, "question": {"manual": 0.8, "ruling": 1.0}}
# The share of the query's rarity-weighted terms a result must match (a keyword query names what it
# wants; a question tells a case in words of its own), and of the best result's score.
MIN_COVERAGE = {"keyword": 0.6, "question": 0.15}
MIN_RELATIVE = 0.08
# A question must be mostly in words the index knows (「火星の天気はどうなるか」 is not).
MIN_KNOWN = 0.5
QUESTION_RE = re.compile(r"[?？]|か$|か[。\s]|どう|いつ|どこ|だれ|誰|なぜ|何|場合|とき|たら|れば|ても|てよい|ていい|"
                         r"できる|出来る|べき|ですか|ますか|のか|には")


@dataclass
class Stats:
    total: int
    df: dict[str, int]
    avg: dict[str, float] = field(default_factory=dict)


def query_style(text: str, terms: list[str]) -> str:
    """"question" for a question or a sentence about a case, else "keyword"."""
    norm = unicodedata.normalize("NFKC", text).strip()
    if QUESTION_RE.search(norm) or len(set(terms)) >= 6:
        return "question"
    return "keyword"


def idf(df: int, total: int) -> float:
    return math.log(1 + (total - df + 0.5) / (df + 0.5))


@lru_cache(maxsize=50_000)
def _heading_terms(heading: str) -> tuple[str, ...]:
    return tuple(analysis.terms(heading))


analysis.on_synonyms_change(_heading_terms.cache_clear)


def fields_of(hit: Hit) -> dict[str, list[str]]:
    """The terms of a hit by role (see the module docstring)."""
    if hit.kind == "manual":
        own = list(_heading_terms(hit.heading))
        return {"name": own, "context": hit.title_terms.split() + hit.heading_terms.split(), "body": hit.body_terms.split()}
    return {"name": hit.title_terms.split(), "context": hit.heading_terms.split(), "body": hit.body_terms.split()}


def _count(words: list[str], term: str, prefix: bool) -> int:
    return sum(1 for x in words if x.startswith(term)) if prefix else words.count(term)


@dataclass
class Scored:
    hit: Hit
    score: float
    coverage: float


@dataclass
class Ranked:
    results: list[Scored]
    style: str
    known: float  # share of the query's weight in terms the index has


def score_hits(hits: list[Hit], terms: list[str], stats: Stats, style: str, *, prefix: bool = False) -> Ranked:
    """Every hit scored with every query term, best first."""
    wanted = list(dict.fromkeys(terms))
    if not wanted:
        return Ranked([], style, 0.0)
    total = max(stats.total, 1)
    weights = {t: idf(stats.df.get(t, 0), total) for t in wanted}
    mass = sum(weights.values()) or 1.0
    known = 1.0 if prefix else sum(w for t, w in weights.items() if stats.df.get(t, 0)) / mass
    avg = stats.avg.get("body") or DEFAULT_BODY_AVG
    out = []
    for hit in hits:
        roles = fields_of(hit)
        score = matched = 0.0
        for t in wanted:
            body = roles["body"]
            tf = _count(body, t, prefix) / (1 - B + B * max(len(body), FLOOR * avg) / avg)
            in_name = _count(roles["name"], t, prefix) > 0
            in_context = _count(roles["context"], t, prefix) > 0
            if in_context:
                tf *= IN_CONTEXT_BODY
            if tf or in_name or in_context:
                matched += weights[t]
                score += weights[t] * (tf * (K1 + 1) / (tf + K1) + NAME * in_name + CONTEXT * in_context)
        coverage = matched / mass
        score *= PRIOR[style].get(hit.kind, 1.0) * (1 - COVERAGE + COVERAGE * coverage)
        out.append(Scored(hit, score, coverage))
    out.sort(key=lambda s: -s.score)
    return Ranked(out, style, known)


def good_enough(ranked: Ranked) -> list[Scored]:
    """Only results that match enough of the query and are not far below the best one."""
    if ranked.style == "question" and ranked.known < MIN_KNOWN:
        return []
    kept = [s for s in ranked.results if s.coverage >= MIN_COVERAGE[ranked.style] - 1e-9]
    if not kept:
        return []
    best = kept[0].score
    return [s for s in kept if s.score >= MIN_RELATIVE * best]
