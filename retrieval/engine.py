"""The answer engine: question (+ history) -> evidence -> extract or generate -> cited Answer.

`Engine.answer()` is the one call every front-end makes; `Engine.stream()` yields the same answer as
events (text as it is generated, then the verified Answer). Offline (no RAGBOT_LLM_MODEL) the answer
is the best-supported sentence(s) of the retrieved passages, each an exact quote with its offsets
(answering/compose.py); below the refusal threshold the engine says the documents don't say and
shows the closest passage. With a language model (RAGBOT_LLM_MODEL, or one passed in), the
generation flow (generation/generate.py) answers from numbered passages and verifies every citation.
Orchestration only: validation, retrieval and both answer flows live in their own modules.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from retrieval.answering.compose import extractive_answer, refusal_answer
from retrieval.answering.judge import Judge, thresholds
from retrieval.answering.query import Retrieval, clean_question, find, weigh
from retrieval.generation.generate import TextDelta, generate

__all__ = ["Engine", "Event", "Final", "TextDelta"]
from retrieval.generation.llm import ChatModel
from retrieval.schema import Answer, DocumentSummary, Overview, Turn
from retrieval.settings import Settings
from retrieval.storage.index import Index


@dataclass(frozen=True)
class Final:
    """The verified answer; always the last event of a stream."""

    answer: Answer


Event = TextDelta | Final


class Engine:
    """Answers questions from an Index. Thread-safe; open once per process."""

    def __init__(
        self, settings: Settings, index: Index | None = None, llm: ChatModel | None = None, judge: Judge | None = None
    ) -> None:
        self.settings = settings
        self._index = index
        self._llm = llm
        self._judge = judge

    @property
    def judge(self) -> Judge:
        """The answerability judge (judge.json, loaded once); JudgeFileError when it is missing or corrupt."""
        if self._judge is None:
            self._judge = Judge.load()
        return self._judge

    @property
    def thresholds(self) -> tuple[float, float]:
        """(refusal, confident): the settings' values, else the judge file's calibrated ones."""
        return thresholds(self.settings, self.judge)

    @property
    def index(self) -> Index:
        if self._index is None:
            self._index = Index.open(self.settings)
        return self._index

    @property
    def llm(self) -> ChatModel | None:
        """The language model (passed in, or built from RAGBOT_LLM_MODEL); None = offline answers."""
        if self._llm is None and self.settings.llm_model:
            from retrieval.generation.llm import LiteLLM

            self._llm = LiteLLM(self.settings)
        return self._llm

    def describe(self) -> Overview:
        """What this engine answers from: the ingested documents, the live passage count and the models."""
        catalog = self.index.catalog
        documents = tuple(DocumentSummary(d.source, d.title, d.passages, d.date) for d in catalog.documents())
        return Overview(documents, catalog.live_count(), self.settings.embedding_model, self.settings.llm_model)

    def retrieve(
        self, question: str, history: Sequence[Turn] = (), *, k: int | None = None, strategy: str = "hybrid"
    ) -> Retrieval:
        """Evidence for a clean question: the kept passages and their sentences, best first."""
        return find(
            self.index,
            question,
            history,
            k=k or self.settings.top_k,
            history_turns=self.settings.history_turns,
            strategy=strategy,
        )

    def weigh(self, text: str) -> dict[str, float]:
        """IDF weight of each content stem of `text` over the index."""
        return weigh(self.index, text)

    def extractive(self, asked: str, found: Retrieval) -> Answer:
        """The extractive answer to what was found, whatever the judge says (what calibration and fitting
        weigh); its `confidence` is left at 0."""
        return extractive_answer(asked, found)

    def answer(
        self, question: str, history: Sequence[Turn] = (), *, k: int | None = None, strategy: str = "hybrid"
    ) -> Answer:
        """Answer one question; `history` holds the earlier turns of the conversation."""
        final = None
        for event in self._events(question, history, k=k, strategy=strategy, live=False):
            if isinstance(event, Final):
                final = event.answer
        assert final is not None
        return final

    def stream(
        self, question: str, history: Sequence[Turn] = (), *, k: int | None = None, strategy: str = "hybrid"
    ) -> Iterator[Event]:
        """Events of one answer: zero or more TextDelta, then exactly one Final."""
        yield from self._events(question, history, k=k, strategy=strategy, live=True)

    def _events(
        self, asked: str, history: Sequence[Turn], *, k: int | None, strategy: str, live: bool
    ) -> Iterator[Event]:
        question = clean_question(asked)
        llm = self.llm  # built (and litellm imported) once, outside the answer's timings and deadline
        refusal, confident = self.thresholds
        t0 = time.perf_counter()
        if llm is None:
            found = self.retrieve(question, history, k=k, strategy=strategy)
            t1 = time.perf_counter()
            p = self.judge.confidence(found)
            if p < refusal or not found.sentences:
                answer = refusal_answer(asked, found, confidence=p)
            else:
                answer = extractive_answer(asked, found, confidence=p)
        else:
            answer, found, t1 = yield from generate(
                llm,
                self.settings,
                asked,
                question,
                history,
                find=lambda q, h: self.retrieve(q, h, k=k, strategy=strategy),
                confidence=self.judge.confidence,
                bands=(refusal, confident),
                weigh=self.weigh,
                embed=self.index.embedder.embed_array,
                live=live,
            )
        total = (time.perf_counter() - t0) * 1000
        timings = {"retrieve": found.ms, "generate": (time.perf_counter() - t1) * 1000, "total": total}
        yield Final(replace(answer, timings_ms=timings))
