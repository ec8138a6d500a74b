"""The question as a query: validation, follow-up context, and retrieval down to scored sentences.

`clean_question` is the one gate every question passes (empty, too long, undecodable bytes).
`find` turns a question (+ history) into a `Retrieval`: the question embedded (a follow-up mixes in
the previous turn at CONTEXT_WEIGHT; followup.py decides whether a question is one), its words
respelled against the index for the lexical side, hybrid search over a wider pool, every sentence of
the pool scored, the best k passages kept.
Does not decide whether or how to answer (see engine.py).
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from retrieval.answering.evidence import POOL_FACTOR, ScoredSentence, rerank, score_sentences, weighted_terms
from retrieval.answering.followup import resolve
from retrieval.answering.question import QuestionAnalysis, analyse
from retrieval.answering.retrieve import Query, retrieve
from retrieval.answering.spelling import respell
from retrieval.errors import InputError
from retrieval.schema import Hit, Turn
from retrieval.storage.index import Index
from retrieval.text import bm25_idf, strip_markers

MAX_QUESTION_CHARS = 2000
CONTEXT_WEIGHT = 0.35  # weight of the previous turn when resolving a follow-up
MAX_TURN_CHARS = 2000  # of an earlier question or answer, as used to resolve a follow-up
SURROGATE = re.compile("[\ud800-\udfff]")


def clean_question(question: str) -> str:
    """Validate a question: InputError when empty, too long or not valid text; control characters become spaces."""
    if not isinstance(question, str):
        raise InputError("the question must be text")
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(f"the question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}")
    if SURROGATE.search(question):  # undecodable bytes (surrogate-escaped): no front-end could print it back
        raise InputError("the question is not valid text: it holds bytes that are not UTF-8")
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in question)
    text = " ".join(text.split())
    if not text:
        raise InputError("the question is empty: type a question about the documents")
    return text


def earlier(turn: Turn) -> Turn:
    """An earlier turn as a follow-up uses it: bounded in length, undecodable bytes shown as U+FFFD.

    History comes from front-ends' stores and messages, not through `clean_question`."""

    def bounded(text: str) -> str:
        return SURROGATE.sub("\ufffd", text[:MAX_TURN_CHARS])

    return Turn(bounded(turn.question), bounded(turn.answer))


@dataclass
class Retrieval:
    """What a question found: the kept passages, their sentences best first, and the question's weights."""

    question: str
    hits: list[Hit]
    sentences: list[ScoredSentence]
    ms: float
    weights: dict[str, float] = field(default_factory=dict)
    documents: int = 1  # documents in the index (the refusal names "the article" or "the documents")
    followup: bool = False  # the previous turn was used (followup.py decided the question needs it)
    analysis: QuestionAnalysis | None = None  # of the question as searched (typos respelled)
    doc_freq: dict[str, int] = field(default_factory=dict)  # passages holding each word of the query
    n_docs: int = 1  # live passages

    @property
    def best(self) -> float:
        return self.sentences[0].score if self.sentences else 0.0


def context_of(history: Sequence[Turn], history_turns: int) -> str:
    """The previous turn (question and answer, markers removed) as retrieval context; "" for none."""
    turns = list(history)[-max(history_turns, 1) :] if history else []
    if not turns:
        return ""
    last = earlier(turns[-1])
    return f"{last.question} {strip_markers(last.answer)}".strip()


def find(
    index: Index, question: str, history: Sequence[Turn] = (), *, k: int, history_turns: int, strategy: str = "hybrid"
) -> Retrieval:
    """Retrieve and score evidence for a (clean) question; `strategy` is hybrid, dense or bm25. The previous
    turn is used only when the question is a follow-up (followup.py)."""
    t0 = time.perf_counter()
    found, used = resolve(
        question, context_of(history, history_turns), lambda context: search(index, question, context, k, strategy)
    )
    return replace(found, ms=(time.perf_counter() - t0) * 1000, followup=used)


def search(index: Index, question: str, context: str, k: int, strategy: str) -> Retrieval:
    """One search for a (clean) question, with `context` (an earlier turn) mixed in at CONTEXT_WEIGHT."""
    t0 = time.perf_counter()
    vectors = index.embedder.embed_array([question, context] if context else [question])
    vector = vectors[0]
    if context:
        mixed = vectors[0] + CONTEXT_WEIGHT * vectors[1]
        vector = mixed / np.linalg.norm(mixed)
    lexical = respell(question, index.catalog)  # typos fixed for BM25 and overlap; dense sees the original
    text = f"{lexical} {context}" if context else lexical
    hits = retrieve(index, Query(text=text, vector=vector), k * POOL_FACTOR, strategy=strategy)
    words = re.findall(r"\w+", text.lower())
    doc_freq = index.catalog.doc_freq(words)
    n_docs = max(index.catalog.live_count(), 1)
    weights = weighted_terms(lexical, context, doc_freq, n_docs, CONTEXT_WEIGHT)
    hits, sentences = rerank(hits, score_sentences(hits, weights, question), k)
    documents = index.catalog.document_count()
    analysis = analyse(lexical, idf=lambda w: bm25_idf(doc_freq.get(w, 0), n_docs))
    ms = (time.perf_counter() - t0) * 1000
    return Retrieval(
        question, hits, sentences, ms, weights, documents, analysis=analysis, doc_freq=doc_freq, n_docs=n_docs
    )


def weigh(index: Index, text: str) -> dict[str, float]:
    """IDF weight of each content stem of `text` over the index (for the citation support check)."""
    catalog = index.catalog
    words = re.findall(r"\w+", text.lower())
    weights: dict[str, float] = weighted_terms(text, "", catalog.doc_freq(words), max(catalog.live_count(), 1), 0.0)
    return weights
