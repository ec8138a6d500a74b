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
from retrieval.answering.evidence import ScoredSentence
from retrieval.answering.judge import Judge, thresholds
from retrieval.answering.query import Retrieval, clean_question, find, weigh
from retrieval.answering.speech import attributions, matches, speech_question, text_of
from retrieval.generation.generate import TextDelta, generate

__all__ = ["Engine", "Event", "Final", "TextDelta"]
from retrieval.errors import InputError
from retrieval.generation.llm import ChatModel
from retrieval.schema import Answer, Attribution, Check, Citation, DocumentSummary, Overview, Turn
from retrieval.settings import Settings
from retrieval.storage.index import Index


@dataclass(frozen=True)
class Final:
    """The verified answer; always the last event of a stream."""

    answer: Answer


Event = TextDelta | Final
MAX_SAID = 3  # attributed quotations in an answer to "What did X say?"


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

    def close(self) -> None:
        """Release the store, once answering is over: a local store opened without a current vector copy
        leaves one for the next process (storage/snapshot.py). The engine is not used after this."""
        if self._index is not None:
            self._index.close()

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

    def check(self, claim: str, *, k: int | None = None) -> Check:
        """Whether the documents support, contradict or don't mention `claim` (claims.py); with a language
        model, the model judges and its verdict stands only when its quotes verify (generation/checking.py)."""
        try:
            text = clean_question(claim)
        except InputError as exc:
            raise InputError(str(exc).replace("question", "claim")) from None
        llm = self.llm
        found = self.retrieve(text, k=k)
        said: dict[str, list[Attribution]] = {}  # per source, read only for a claim that reports speech

        def speakers(s: ScoredSentence) -> list[Attribution]:
            source = s.passage.source
            if source not in said:
                said[source] = self._attributions(source)
            return [a for a in said[source] if s.start <= a.start and a.end <= s.end]

        from retrieval.answering.claims import check_of, cosine_with  # claim checks only: off the ask path
        from retrieval.answering.claims import judge as judge_claim

        cosine = cosine_with(self.index.embedder.embed_array)
        finding = judge_claim(text, found.sentences, self.weigh(text), cosine, speakers)
        offline = check_of(claim, finding, found.sentences)
        if llm is None:
            return offline
        from retrieval.generation.checking import llm_check

        return llm_check(
            llm, self.settings, text, found, offline, weigh=self.weigh, embed=self.index.embedder.embed_array
        )

    def quotes(self, speaker: str | None = None, about: str | None = None) -> list[Attribution]:
        """Who said what in the ingested documents (speech.py), optionally by `speaker` and `about` a topic."""
        found: list[Attribution] = []
        for doc in self.index.catalog.documents():
            found += [a for a in self._attributions(doc.source) if matches(a, speaker, about)]
        return found

    def _attributions(self, source: str) -> list[Attribution]:
        catalog = self.index.catalog
        return attributions(text_of(list(catalog.passages(sorted(catalog.live_ids(source))).values())), source)

    def _said(self, asked: str, question: str, found: Retrieval, confidence: float) -> Answer | None:
        """The answer to "What did X say (about Y)?" from the speech index: X's attributed words, each an
        exact quote (speech.py); None when the question is not of that form or X said nothing on Y."""
        wanted = speech_question(question)
        if wanted is None:
            return None
        said = self.quotes(speaker=wanted[0], about=wanted[1] or None)
        direct = [a for a in said if a.kind == "direct"] or said
        if not direct:
            return None
        chosen = direct[:MAX_SAID]
        citations = tuple(self._cite(n, a) for n, a in enumerate(chosen, start=1))
        text = " ".join(f"{a.speaker}: “{a.text}” [{c.n}]" for a, c in zip(chosen, citations, strict=True))
        return Answer(
            question=asked,
            answer=text,
            answerable=True,
            citations=citations,
            retrieved=tuple(found.hits),
            confidence=confidence,
            note="from the speech index (ragbot quotes)",
        )

    def _cite(self, n: int, said: Attribution) -> Citation:
        """Attributed words as citation `n`, with their passage's paragraph, page, title and date when one
        passage holds them whole (else the passage they start in, or none)."""
        catalog = self.index.catalog
        for p in catalog.passages(sorted(catalog.live_ids(said.source))).values():
            if p.start <= said.start < p.end:
                if said.end <= p.end:
                    return Citation.of(p, n, said.start, said.end, 1.0)
                return Citation(n, said.source, said.text, said.start, said.end, 1.0, p.id, p.paragraph)
        return Citation(n, said.source, said.text, said.start, said.end, 1.0)

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
            said = self._said(asked, question, found, p) if not history else None
            if said is not None:
                answer = said
            elif p < refusal or not found.sentences:
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
