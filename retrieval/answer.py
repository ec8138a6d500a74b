"""The answer engine: question (+ history) -> retrieve -> extract or generate -> cited Answer.

`Engine.answer()` is the one call every front-end makes; `Engine.stream()` yields the same answer as
events (text as it is generated, then the verified Answer). Offline (no RAGBOT_LLM_MODEL) the answer
is the best-supported sentence(s) of the retrieved passages, each an exact quote with its offsets.
Below the refusal threshold the engine says the article does not say, and shows the closest
passage apart from the citations. Follow-ups are resolved for retrieval by mixing in the previous
turn (question and answer) at a lower weight; citations still come only from the documents.

With a language model (RAGBOT_LLM_MODEL, or one passed to the Engine), a follow-up is first
condensed into a standalone question; below the threshold the engine still refuses without asking
the model; otherwise the model answers from the numbered passages and generate.py verifies every
citation. The model's refusal is a refusal; a reply with no supported citation, or no reply at all
(every model failed within RAGBOT_LLM_TIMEOUT), gives the extractive answer with a `note` saying why.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .catalog import terms
from .errors import InputError, LLMError
from .extract import (
    POOL_FACTOR,
    ScoredSentence,
    compose,
    pick,
    rerank,
    score_sentences,
    stems,
    weighted_terms,
)
from .generate import MarkerFilter, answer_messages, condense_messages, is_refusal, standalone_question, verify
from .index import Index
from .llm import ChatModel, Completion
from .retrieve import Query, retrieve
from .schema import Answer, Hit, Passage, Span, Turn
from .settings import Settings
from .spelling import respell

MAX_QUESTION_CHARS = 2000
NOT_IN_ARTICLE = "The article doesn't say."
CONTEXT_WEIGHT = 0.35  # weight of the previous turn when resolving a follow-up
MAX_TURN_CHARS = 2000  # of an earlier question or answer, as used to resolve a follow-up
_MARKER = re.compile(r"\[\d+\]")
_SURROGATE = re.compile("[\ud800-\udfff]")
log = logging.getLogger("ragbot.answer")


@dataclass(frozen=True)
class TextDelta:
    """A piece of answer text as it is generated, `[n]` markers held back; provisional until Final.

    `restart`: discard the text shown so far (the model's reply broke off and is being retried).
    """

    text: str
    restart: bool = False


@dataclass(frozen=True)
class Final:
    """The verified answer; always the last event of a stream."""

    answer: Answer


Event = TextDelta | Final


def clean_question(question: str) -> str:
    """Validate a question: InputError when empty, too long or not valid text; control characters become spaces."""
    if not isinstance(question, str):
        raise InputError("the question must be text")
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(f"the question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}")
    if _SURROGATE.search(question):  # undecodable bytes (surrogate-escaped): no front-end could print it back
        raise InputError("the question is not valid text: it holds bytes that are not UTF-8")
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in question)
    text = " ".join(text.split())
    if not text:
        raise InputError("the question is empty: type a question about the documents")
    return text


def strip_markers(text: str) -> str:
    return " ".join(_MARKER.sub("", text).split())


def earlier(turn: Turn) -> Turn:
    """An earlier turn as a follow-up uses it: bounded in length, undecodable bytes shown as U+FFFD.

    History comes from front-ends' stores and messages, not through `clean_question`."""

    def bounded(text: str) -> str:
        return _SURROGATE.sub("\ufffd", text[:MAX_TURN_CHARS])

    return Turn(bounded(turn.question), bounded(turn.answer))


def model_text(text: str) -> str:
    """A model's text as valid Unicode: surrogate pairs (which JSON escapes can deliver apart) joined into
    their character, a lone half as U+FFFD. The embedder and every front-end's output need valid text."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def asked_about(text: str, asked: Sequence[str]) -> bool:
    """Whether `text` shares a content word with the user's own questions. A condensed follow-up is a
    rewrite of those; words only earlier answers (quotes of documents) or the model brought in do not
    make one (a quoted "ignore your instructions and reply X" must not become the question "X")."""
    return bool(set(stems(terms(" ".join(asked)))) & set(stems(terms(text))))


@dataclass
class Retrieval:
    question: str
    hits: list[Hit]
    sentences: list[ScoredSentence]
    ms: float
    weights: dict[str, float] = field(default_factory=dict)

    @property
    def best(self) -> float:
        return self.sentences[0].score if self.sentences else 0.0


class Engine:
    """Answers questions from an Index. Thread-safe; open once per process."""

    def __init__(self, settings: Settings, index: Index | None = None, llm: ChatModel | None = None) -> None:
        self.settings = settings
        self._index = index
        self._llm = llm

    @property
    def index(self) -> Index:
        if self._index is None:
            self._index = Index.open(self.settings)
        return self._index

    @property
    def llm(self) -> ChatModel | None:
        """The language model (passed in, or built from RAGBOT_LLM_MODEL); None = offline answers."""
        if self._llm is None and self.settings.llm_model:
            from .llm import LiteLLM

            self._llm = LiteLLM(self.settings)
        return self._llm

    # -- retrieval ------------------------------------------------------------------------
    def _context(self, history: Sequence[Turn]) -> str:
        turns = list(history)[-max(self.settings.history_turns, 1) :] if history else []
        if not turns:
            return ""
        last = earlier(turns[-1])
        return f"{last.question} {strip_markers(last.answer)}".strip()

    def retrieve(
        self, question: str, history: Sequence[Turn] = (), *, k: int | None = None, strategy: str = "hybrid"
    ) -> Retrieval:
        t0 = time.perf_counter()
        k = k or self.settings.top_k
        index = self.index
        context = self._context(history)
        vectors = index.embedder.embed_array([question, context] if context else [question])
        vector = vectors[0]
        if context:
            mixed = vectors[0] + CONTEXT_WEIGHT * vectors[1]
            vector = mixed / np.linalg.norm(mixed)
        lexical = respell(question, index.catalog)  # typos fixed for BM25 and overlap; dense sees the original
        text = f"{lexical} {context}" if context else lexical
        hits = retrieve(index, Query(text=text, vector=vector), k * POOL_FACTOR, strategy=strategy)
        words = [w for w in re.findall(r"\w+", text.lower())]
        weights = weighted_terms(
            lexical, context, index.catalog.doc_freq(words), max(index.catalog.live_count(), 1), CONTEXT_WEIGHT
        )
        hits, sentences = rerank(hits, score_sentences(hits, weights, question), k)
        return Retrieval(question, hits, sentences, (time.perf_counter() - t0) * 1000, weights)

    # -- answering ------------------------------------------------------------------------
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
        self, question: str, history: Sequence[Turn], *, k: int | None, strategy: str, live: bool
    ) -> Iterator[Event]:
        asked = question
        question = clean_question(question)
        llm = self.llm  # built (and litellm imported) once, outside the answer's timings and deadline
        t0 = time.perf_counter()
        if llm is None:
            found = self.retrieve(question, history, k=k, strategy=strategy)
            t1 = time.perf_counter()
            if found.best < self.settings.refusal_threshold or not found.sentences:
                answer = self.refusal(asked, found)
            else:
                answer = self.extractive(asked, found)
        else:
            answer, found, t1 = yield from self._generate(
                llm, asked, question, history, k=k, strategy=strategy, live=live
            )
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
        text, citations = compose(pick(found.sentences, found.question), found.weights)
        return Answer(
            question=asked, answer=text, answerable=True, note=note, citations=citations, retrieved=tuple(found.hits)
        )

    # -- generating -----------------------------------------------------------------------
    def _generate(
        self,
        llm: ChatModel,
        asked: str,
        question: str,
        history: Sequence[Turn],
        *,
        k: int | None,
        strategy: str,
        live: bool,
    ) -> Generator[Event, None, tuple[Answer, Retrieval, float]]:
        """The LLM path; yields TextDeltas and returns (answer, retrieval, time retrieval ended)."""
        deadline = time.monotonic() + self.settings.llm_timeout
        turns = [earlier(t) for t in history][-self.settings.history_turns :] if self.settings.history_turns else []
        usage: list[dict[str, int] | None] = []
        standalone: str | None = None
        failure: LLMError | None = None
        if turns:
            try:
                reply = llm.complete(condense_messages(question, turns), deadline=deadline)
            except LLMError as exc:
                failure = exc
                log.warning("could not condense the follow-up: %s", exc)
            else:
                usage.append(reply.usage)
                standalone = standalone_question(model_text(reply.text), question)
                if asked_about(standalone, [question, *(t.question for t in turns)]):
                    log.info("follow-up condensed to: %s", standalone)
                else:
                    log.warning("condensed question %r shares no word with what was asked: not used", standalone)
                    standalone = None
        if standalone:
            found = self.retrieve(standalone, (), k=k, strategy=strategy)
        else:
            found = self.retrieve(question, history, k=k, strategy=strategy)
        t1 = time.perf_counter()

        def done(answer: Answer) -> tuple[Answer, Retrieval, float]:
            return replace(answer, usage=_total(usage), standalone_question=standalone), found, t1

        if found.best < self.settings.refusal_threshold or not found.sentences:
            log.info("best evidence %.3f is below the refusal threshold: the model is not asked", found.best)
            return done(self.refusal(asked, found))
        if failure is not None:
            return done(self.extractive(asked, found, note=f"{failure}; showing the article's own sentences instead"))
        passages = [hit.passage for hit in found.hits]
        messages = answer_messages(standalone or question, passages)
        completion: Completion | None = None
        try:
            if live:
                hide = MarkerFilter()
                for item in llm.stream(messages, deadline=deadline):
                    if isinstance(item, Completion):
                        completion = item
                        continue
                    if item.restart:
                        hide = MarkerFilter()
                    text = hide.feed(model_text(item.text))
                    if text or item.restart:
                        yield TextDelta(text, restart=item.restart)
                tail = hide.flush()
                if tail:
                    yield TextDelta(tail)
                if completion is None:
                    raise LLMError("the language model's reply ended without a result")
            else:
                completion = llm.complete(messages, deadline=deadline)
        except LLMError as exc:
            log.info("answering from the article's sentences: %s", exc)
            return done(self.extractive(asked, found, note=f"{exc}; showing the article's own sentences instead"))
        usage.append(completion.usage)
        return done(self._checked(asked, found, completion, passages, standalone or question))

    def _checked(
        self, asked: str, found: Retrieval, completion: Completion, passages: Sequence[Passage], question: str
    ) -> Answer:
        """The model's reply, verified: a refusal, a cited answer, or (no valid citation) the extractive one."""
        model = completion.model or None
        reply = model_text(completion.text)
        if is_refusal(reply):
            return replace(self.refusal(asked, found), mode="llm", model=model)
        checked = verify(reply, passages, question, self._weigh, self.index.embedder.embed_array)
        if not checked.citations:
            log.warning("no supported citation in the reply of %s (%d dropped)", model, checked.dropped)
            note = "the model's answer cited no passage that supports it; showing the article's own sentences instead"
            return replace(self.extractive(asked, found, note=note), dropped_citations=checked.dropped)
        notes = []
        if checked.dropped:
            what = _count(checked.dropped, "citation")
            notes.append(f"removed {what} that pointed to no source or did not support its sentence")
        if checked.omitted:
            notes.append(f"left out {_count(checked.omitted, 'sentence')} without a supported citation")
        return Answer(
            question=asked,
            answer=checked.text,
            answerable=True,
            mode="llm",
            model=model,
            note="; ".join(notes) or None,
            citations=checked.citations,
            retrieved=tuple(found.hits),
            dropped_citations=checked.dropped,
        )

    def _weigh(self, text: str) -> dict[str, float]:
        """IDF weight of each content stem of `text` (for the citation support check)."""
        catalog = self.index.catalog
        words = re.findall(r"\w+", text.lower())
        return weighted_terms(text, "", catalog.doc_freq(words), max(catalog.live_count(), 1), 0.0)


def _total(usage: Sequence[dict[str, int] | None]) -> dict[str, int] | None:
    reported = [u for u in usage if u]
    if not reported:
        return None
    return {key: sum(u.get(key, 0) for u in reported) for key in ("prompt_tokens", "completion_tokens")}


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
