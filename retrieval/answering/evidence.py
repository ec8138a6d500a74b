"""Evidence: every sentence of the retrieved passages scored against the question, and the passages reranked by it.

Each sentence of the top passages gets an evidence score in [0, 1]:
    evidence = DENSE_WEIGHT * cosine(question, passage) + (1 - DENSE_WEIGHT) * overlap(question, sentence)
where `overlap` is the IDF-weighted share of the question's content words (Porter-stemmed) found in
the sentence. When the question asks for a type of answer (answer_types.py), a sentence keeps its
score only if it holds that type and scores at least RELEVANT_RATIO of the best sentence; any other
keeps TYPE_PENALTY of it (a "how many" question is not answered by a number in an unrelated
sentence). `rerank` keeps the passages whose best sentence scores highest.
Does not choose or format the answer (compose.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from retrieval.answering.answer_types import expected_type, has_type
from retrieval.schema import Hit, Passage
from retrieval.text import bm25_idf, sentence_spans, stems, terms, weighted_share

DENSE_WEIGHT = 0.55
TYPE_PENALTY = 0.45
RELEVANT_RATIO = 0.75  # a typed sentence must score this share of the best sentence to count as answering


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


def weighted_terms(
    question: str, context: str, doc_freq: dict[str, int], n_docs: int, context_weight: float
) -> dict[str, float]:
    """{stem: weight}: IDF of each content word; words only in the context count `context_weight`."""
    weights: dict[str, float] = {}
    for source_text, factor in ((question, 1.0), (context, context_weight)):
        words = terms(source_text)
        for word, stem in zip(words, stems(words), strict=True):
            idf = bm25_idf(doc_freq.get(word, 0), n_docs)
            weights[stem] = max(weights.get(stem, 0.0), idf * factor)
    return weights


def score_sentences(hits: Sequence[Hit], weights: dict[str, float], question: str = "") -> list[ScoredSentence]:
    kind = expected_type(question) if question else None
    raw: list[tuple[int, Hit, int, int, float, bool]] = []
    for rank, hit in enumerate(hits):
        p = hit.passage
        for s, e in sentence_spans(p.text):
            text = p.text[s:e]
            overlap = weighted_share(weights, text)
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
