"""Sentence scoring inside retrieved passages, and the extractive answer built from it.

Each sentence of the top passages gets an evidence score in [0, 1]:
    evidence = DENSE_WEIGHT * cosine(question, passage) + (1 - DENSE_WEIGHT) * overlap(question, sentence)
where `overlap` is the IDF-weighted share of the question's content words (Porter-stemmed) found in
the sentence. The best sentence is the quote; a second one joins it when it scores nearly as well
and the answer stays short. Whether to answer at all compares the best evidence to the refusal
threshold (calibrated on the Q&A set, see settings.py).
Does not paraphrase: every answer sentence is an exact quote.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from .catalog import terms
from .schema import Hit, Passage
from .sentences import sentence_spans

DENSE_WEIGHT = 0.55
SECOND_SENTENCE_RATIO = 0.92
MAX_ANSWER_CHARS = 300


@lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("porter")


def stems(words: Sequence[str]) -> list[str]:
    return _stemmer().stemWords(list(words))


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


def score_sentences(hits: Sequence[Hit], weights: dict[str, float]) -> list[ScoredSentence]:
    total = sum(weights.values()) or 1.0
    scored: list[ScoredSentence] = []
    for rank, hit in enumerate(hits):
        p = hit.passage
        for s, e in sentence_spans(p.text):
            text = p.text[s:e]
            present = set(stems(terms(text)))
            overlap = sum(w for stem, w in weights.items() if stem in present) / total
            score = DENSE_WEIGHT * hit.dense + (1 - DENSE_WEIGHT) * overlap
            scored.append(ScoredSentence(p, p.start + s, p.start + e, text, min(1.0, score), hit.dense, overlap, rank))
    scored.sort(key=lambda x: (-x.score, x.rank, x.start))
    return scored


def pick(scored: Sequence[ScoredSentence]) -> list[ScoredSentence]:
    """The best sentence, plus the runner-up when it is nearly as good and the answer stays short."""
    if not scored:
        return []
    chosen = [scored[0]]
    for cand in scored[1:3]:
        if cand.score < SECOND_SENTENCE_RATIO * scored[0].score:
            break
        if cand.passage.source == chosen[0].passage.source and cand.start == chosen[0].start:
            continue
        if sum(len(c.text) for c in chosen) + len(cand.text) <= MAX_ANSWER_CHARS:
            chosen.append(cand)
            break
    return chosen
