"""The answer engine: question (+ history) -> retrieve -> extract or generate -> cited Answer.

`Engine.answer()` is the one call every front-end makes. Offline (no RAGBOT_LLM_MODEL) the answer
is the best-supported sentence(s) of the retrieved passages, each an exact quote with its offsets.
Below the refusal threshold the engine says the article does not say, and shows the closest
passage apart from the citations. Follow-ups are resolved for retrieval by mixing in the previous
turn (question and answer) at a lower weight; citations still come only from the documents.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .errors import InputError
from .extract import ScoredSentence, pick, score_sentences, weighted_terms
from .index import Index
from .retrieve import Query, retrieve
from .schema import Answer, Citation, Hit, Span, Turn
from .settings import Settings

MAX_QUESTION_CHARS = 2000
NOT_IN_ARTICLE = "The article doesn't say."
CONTEXT_WEIGHT = 0.35  # weight of the previous turn when resolving a follow-up
_MARKER = re.compile(r"\[\d+\]")


@dataclass(frozen=True)
class TextDelta:
    """A piece of answer text as it is generated (markers may be held back)."""

    text: str


@dataclass(frozen=True)
class Final:
    """The verified answer; always the last event of a stream."""

    answer: Answer


Event = TextDelta | Final


def clean_question(question: str) -> str:
    """Validate a question: InputError when empty or too long; control characters become spaces."""
    if not isinstance(question, str):
        raise InputError("the question must be text")
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(f"the question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}")
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in question)
    text = " ".join(text.split())
    if not text:
        raise InputError("the question is empty: type a question about the documents")
    return text


def strip_markers(text: str) -> str:
    return " ".join(_MARKER.sub("", text).split())


@dataclass
class Retrieval:
    question: str
    hits: list[Hit]
    sentences: list[ScoredSentence]
    ms: float

    @property
    def best(self) -> float:
        return self.sentences[0].score if self.sentences else 0.0


class Engine:
    """Answers questions from an Index. Thread-safe; open once per process."""

    def __init__(self, settings: Settings, index: Index | None = None) -> None:
        self.settings = settings
        self._index = index

    @property
    def index(self) -> Index:
        if self._index is None:
            self._index = Index.open(self.settings)
        return self._index

    # -- retrieval ------------------------------------------------------------------------
    def _context(self, history: Sequence[Turn]) -> str:
        turns = list(history)[-max(self.settings.history_turns, 1) :] if history else []
        if not turns:
            return ""
        last = turns[-1]
        return f"{last.question} {strip_markers(last.answer)}".strip()

    def retrieve(self, question: str, history: Sequence[Turn] = (), *, k: int | None = None, strategy: str = "hybrid") -> Retrieval:
        t0 = time.perf_counter()
        k = k or self.settings.top_k
        index = self.index
        context = self._context(history)
        vectors = index.embedder.embed_array([question, context] if context else [question])
        vector = vectors[0]
        if context:
            mixed = vectors[0] + CONTEXT_WEIGHT * vectors[1]
            vector = mixed / np.linalg.norm(mixed)
        text = f"{question} {context}" if context else question
        hits = retrieve(index, Query(text=text, vector=vector), k, strategy=strategy)
        words = [w for w in re.findall(r"\w+", text.lower())]
        weights = weighted_terms(question, context, index.catalog.doc_freq(words), max(index.catalog.live_count(), 1), CONTEXT_WEIGHT)
        sentences = score_sentences(hits, weights)
        return Retrieval(question, hits, sentences, (time.perf_counter() - t0) * 1000)

    # -- answering ------------------------------------------------------------------------
    def answer(self, question: str, history: Sequence[Turn] = (), *, k: int | None = None, strategy: str = "hybrid") -> Answer:
        """Answer one question; `history` holds the earlier turns of the conversation."""
        final = None
        for event in self.stream(question, history, k=k, strategy=strategy):
            if isinstance(event, Final):
                final = event.answer
        assert final is not None
        return final

    def stream(self, question: str, history: Sequence[Turn] = (), *, k: int | None = None, strategy: str = "hybrid") -> Iterator[Event]:
        """Events of one answer: zero or more TextDelta, then exactly one Final."""
        t0 = time.perf_counter()
        asked = question
        question = clean_question(question)
        found = self.retrieve(question, history, k=k, strategy=strategy)
        t1 = time.perf_counter()
        if found.best < self.settings.refusal_threshold or not found.sentences:
            answer = self.refusal(asked, found)
        else:
            answer = self.extractive(asked, found)
        total = (time.perf_counter() - t0) * 1000
        timings = {"retrieve": found.ms, "generate": (time.perf_counter() - t1) * 1000, "total": total}
        yield Final(replace(answer, timings_ms=timings))

    def refusal(self, asked: str, found: Retrieval, note: str | None = None) -> Answer:
        closest = None
        if found.sentences:
            top = found.sentences[0].passage
            closest = Span(top.source, top.text, top.start, top.end, round(found.best, 4))
        return Answer(
            question=asked,
            answer=NOT_IN_ARTICLE,
            answerable=False,
            note=note,
            closest=closest,
            retrieved=tuple(found.hits),
        )

    def extractive(self, asked: str, found: Retrieval, note: str | None = None) -> Answer:
        chosen = sorted(pick(found.sentences), key=lambda s: (s.passage.source, s.start))
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
            for i, s in enumerate(chosen, start=1)
        )
        text = " ".join(f"{c.quote} [{c.n}]" for c in citations)
        return Answer(question=asked, answer=text, answerable=True, note=note, citations=citations, retrieved=tuple(found.hits))
