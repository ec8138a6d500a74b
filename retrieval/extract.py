"""Sentence scoring inside retrieved passages, and the extractive answer built from it.

Each sentence of the top passages gets an evidence score in [0, 1]:
    evidence = DENSE_WEIGHT * cosine(question, passage) + (1 - DENSE_WEIGHT) * overlap(question, sentence)
where `overlap` is the IDF-weighted share of the question's content words (Porter-stemmed) found in
the sentence. When the question asks for a type of answer (answer_types.py), a sentence keeps its
score only if it holds that type and scores at least RELEVANT_RATIO of the best sentence; any other
keeps TYPE_PENALTY of it (a "how many" question is not answered by a number in an unrelated
sentence). The best sentence is the quote; questions that ask for several things get
the runners-up that score nearly as well. A sentence longer than MAX_QUOTE_CHARS is abridged for
display (its first clause and the clauses holding question words, joined by " … "), while its
citation keeps the whole sentence as the exact quote. Whether to answer at all compares the best evidence
to the refusal threshold (calibrated on the Q&A set, see settings.py).
Does not paraphrase: every answer sentence is an exact quote.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from .answer_types import expected_type, has_type
from .catalog import terms
from .schema import Citation, Hit, Passage
from .sentences import sentence_spans

DENSE_WEIGHT = 0.55
TYPE_PENALTY = 0.45
RELEVANT_RATIO = 0.75  # a typed sentence must score this share of the best sentence to count as answering
SECOND_SENTENCE_RATIO = 0.92  # a single-answer question takes a runner-up only when it is this close
LIST_SENTENCE_RATIO = 0.75  # a question asking for several things takes runners-up down to this
MAX_QUOTE_CHARS = 250
MAX_ANSWER_CHARS = 300
MIN_CLAUSE_WORDS = 3  # shorter comma-separated pieces are list items and stay with their neighbour
_CLAUSE_END = re.compile(r"[,;:—–](?=\s)|\s(?=[“\"(])|[”\"](?=\s)")
_LIST_ASK = re.compile(r"\b(?:list|name (?:all|the)|both|each of)\b")


_local = threading.local()


def _stemmer():
    """One Porter stemmer per thread: a snowballstemmer instance keeps state while it works."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import snowballstemmer

        stemmer = _local.stemmer = snowballstemmer.stemmer("porter")
    return stemmer


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _stemmer().stemWord(word)


def stems(words: Sequence[str]) -> list[str]:
    """Porter stems, cached per word (sentences are re-scored for every question)."""
    return [_stem(w) for w in words]


_SINGULAR_S = {"news", "series", "species", "means", "politics", "economics", "physics", "headquarters", "this", "its"}
_AUXILIARIES = {
    "is", "are", "was", "were", "do", "does", "did", "has", "have", "had", "will", "would", "can", "could",
    "should", "may", "might", "must",
}  # fmt: skip


def asks_for_several(question: str) -> bool:
    """Whether the question asks for a list: "list ...", "both ...", or a plural noun after
    which/what ("which countries", "what kind of penalties"), read up to the first auxiliary verb."""
    low = question.lower()
    if _LIST_ASK.search(low):
        return True
    m = re.search(r"\b(?:which|what)\b((?:\s+[\w'’]+){1,4})", low)
    if not m:
        return False
    for word in m.group(1).split():
        if word.endswith(("'s", "’s")):
            continue  # a possessive ("Lavrov's remarks"), not a plural
        word = word.strip("'’")
        if word in _AUXILIARIES:
            break
        if word in _SINGULAR_S or word.endswith(("ss", "us", "is")):
            continue
        if word.endswith("s") and len(word) > 3:
            return True
    return False


@dataclass(frozen=True)
class ScoredSentence:
    passage: Passage
    start: int  # offsets into the source text
    end: int
    text: str
    score: float
    dense: float
    overlap: float
    rank: int  # rank of its passage in retrieval
    typed: bool = True  # holds the answer type the question asks for


def weighted_terms(question: str, context: str, doc_freq: dict[str, int], n_docs: int, context_weight: float):
    """{stem: weight}: IDF of each content word; words only in the context count `context_weight`."""
    weights: dict[str, float] = {}
    for source_text, factor in ((question, 1.0), (context, context_weight)):
        words = terms(source_text)
        for word, stem in zip(words, stems(words), strict=True):
            df = doc_freq.get(word, 0)
            idf = math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
            weights[stem] = max(weights.get(stem, 0.0), idf * factor)
    return weights


def _coverage(text: str, weights: dict[str, float], total: float) -> float:
    present = set(stems(terms(text)))
    return sum(w for stem, w in weights.items() if stem in present) / total


def score_sentences(hits: Sequence[Hit], weights: dict[str, float], question: str = "") -> list[ScoredSentence]:
    total = sum(weights.values()) or 1.0
    kind = expected_type(question) if question else None
    raw: list[tuple[int, Hit, int, int, float, bool]] = []
    for rank, hit in enumerate(hits):
        p = hit.passage
        for s, e in sentence_spans(p.text):
            text = p.text[s:e]
            overlap = _coverage(text, weights, total)
            raw.append((rank, hit, s, e, overlap, has_type(kind, text, question)))
    top = max((DENSE_WEIGHT * h.dense + (1 - DENSE_WEIGHT) * o for _, h, _, _, o, _ in raw), default=0.0)
    scored: list[ScoredSentence] = []
    for rank, hit, s, e, overlap, typed in raw:
        p = hit.passage
        score = DENSE_WEIGHT * hit.dense + (1 - DENSE_WEIGHT) * overlap
        # an answer of the asked type counts only in a sentence about the question, not anywhere
        answers_it = typed and score >= RELEVANT_RATIO * top
        if not answers_it:
            score *= TYPE_PENALTY
        quote = p.text[s:e]
        scored.append(
            ScoredSentence(p, p.start + s, p.start + e, quote, min(1.0, score), hit.dense, overlap, rank, answers_it)
        )
    scored.sort(key=lambda x: (-x.score, x.rank, x.start))
    return scored


def abridge(text: str, weights: dict[str, float], limit: int = MAX_QUOTE_CHARS) -> str:
    """A long sentence shortened for display: its first clause and the clauses that hold question
    words, in order, joined by " … ". Every piece is verbatim; the citation keeps the whole sentence."""
    if len(text) <= limit:
        return text
    cuts = sorted({0, len(text), *(m.end() for m in _CLAUSE_END.finditer(text))})
    clauses: list[tuple[int, int]] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        if not text[a:b].strip():
            continue
        if clauses and (len(text[a:b].split()) <= MIN_CLAUSE_WORDS or len(text[slice(*clauses[-1])].split()) <= 1):
            clauses[-1] = (clauses[-1][0], b)  # list items ("Britain, Germany, Italy") stay together
        else:
            clauses.append((a, b))
    total = sum(weights.values()) or 1.0
    value = {c: _coverage(text[c[0] : c[1]], weights, total) for c in clauses}
    keep = [c for i, c in enumerate(clauses) if i == 0 or value[c] > 0]

    def render(parts: list[tuple[int, int]]) -> str:
        out, prev_end = "", None
        for a, b in parts:
            piece = text[a:b].strip()
            if prev_end is not None:
                out += " " if a == prev_end else " … "
            out += piece
            prev_end = b
        return out

    while len(render(keep)) > limit and len(keep) > 1:
        keep.remove(min(keep[1:], key=lambda c: (value[c], -c[0])))
    shown = render(keep)
    if len(shown) > limit:  # one clause alone is too long: cut it at a word boundary
        cut = shown.rfind(" ", 0, limit - 2)
        shown = shown[: cut if cut > 0 else limit - 2].rstrip(",;: ") + " …"
    return shown


def compose(chosen: Sequence[ScoredSentence], weights: dict[str, float]) -> tuple[str, tuple[Citation, ...]]:
    """Answer text with [n] markers, and its citations (exact quotes), best evidence first."""
    ordered = list(chosen)
    citations = tuple(
        Citation(
            n=i,
            source=s.passage.source,
            quote=s.text,
            start=s.start,
            end=s.end,
            score=round(s.score, 4),
            passage_id=s.passage.id,
            paragraph=s.passage.paragraph,
        )
        for i, s in enumerate(ordered, start=1)
    )
    text = " ".join(f"{abridge(s.text, weights)} [{c.n}]" for s, c in zip(ordered, citations, strict=True))
    return text, citations


def pick(scored: Sequence[ScoredSentence], question: str = "") -> list[ScoredSentence]:
    """The best sentence, plus runners-up when the question asks for several things (or one is as good)."""
    if not scored:
        return []
    several = asks_for_several(question)
    ratio = LIST_SENTENCE_RATIO if several else SECOND_SENTENCE_RATIO
    limit = 3 if several else 2
    chosen = [scored[0]]
    for cand in scored[1:6]:
        if len(chosen) >= limit or cand.score < ratio * scored[0].score:
            break
        if any(c.passage.source == cand.passage.source and c.start == cand.start for c in chosen):
            continue
        if several or sum(len(c.text) for c in chosen) + len(cand.text) <= MAX_ANSWER_CHARS:
            chosen.append(cand)
    return chosen


POOL_FACTOR = 2  # passages scored per passage kept: sentence scoring reranks a wider fused pool


def rerank(hits: Sequence[Hit], scored: Sequence[ScoredSentence], k: int) -> tuple[list[Hit], list[ScoredSentence]]:
    """Keep the k passages whose best sentence scores highest (each hit's score becomes that value).

    Fusion by rank alone can push a passage that only one side finds (a rare name BM25 matches,
    or a paraphrase only the dense side sees) below passages that both sides find weakly; the
    sentence score weighs both signals by their values instead.
    """
    best: dict[str, float] = {}
    for s in scored:
        best.setdefault(s.passage.id, s.score)
    order = sorted(range(len(hits)), key=lambda i: (-best.get(hits[i].passage.id, 0.0), i))[:k]
    kept = [replace(hits[i], score=round(best.get(hits[i].passage.id, 0.0), 4)) for i in order]
    ids = {h.passage.id for h in kept}
    return kept, [s for s in scored if s.passage.id in ids]
