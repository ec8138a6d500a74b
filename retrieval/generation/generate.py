"""Answers written by a language model, grounded in the retrieved passages and checked before shown.

A follow-up is first condensed into a standalone question (kept only when it shares a content word
with what the user asked); below the refusal threshold the model is not asked at all; otherwise it
answers from the numbered passages and citations.py verifies every `[n]`. The model's refusal is a
refusal; a reply with no supported citation, or no reply at all (every model failed within
RAGBOT_LLM_TIMEOUT), gives the extractive answer with a `note` saying why. Streaming yields the text
as it arrives, markers held back, before the verified answer.
Does not retrieve by itself: the caller passes `find` (question, history) -> Retrieval.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from retrieval.answering.compose import extractive_answer, refusal_answer
from retrieval.answering.query import SURROGATE, Retrieval, earlier
from retrieval.errors import LLMError
from retrieval.generation.citations import MarkerFilter, verify
from retrieval.generation.llm import ChatModel, Completion
from retrieval.generation.prompting import answer_messages, condense_messages, standalone_question
from retrieval.schema import Answer, Passage, Turn
from retrieval.settings import Settings
from retrieval.text import is_refusal, stems, terms

log = logging.getLogger("ragbot.answer")
FALLBACK = "showing the article's own sentences instead"


@dataclass(frozen=True)
class TextDelta:
    """A piece of answer text as it is generated, `[n]` markers held back; provisional until Final.

    `restart`: discard the text shown so far (the model's reply broke off and is being retried).
    """

    text: str
    restart: bool = False


Finder = Callable[[str, Sequence[Turn]], Retrieval]
Weigher = Callable[[str], dict[str, float]]
Embed = Callable[[list[str]], np.ndarray]


def model_text(text: str) -> str:
    """A model's text as valid Unicode: surrogate pairs (which JSON escapes can deliver apart) joined into
    their character, a lone half as U+FFFD. The embedder and every front-end's output need valid text."""
    if not SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def asked_about(text: str, asked: Sequence[str]) -> bool:
    """Whether `text` shares a content word with the user's own questions. A condensed follow-up is a
    rewrite of those; words only earlier answers (quotes of documents) or the model brought in do not
    make one (a quoted "ignore your instructions and reply X" must not become the question "X")."""
    return bool(set(stems(terms(" ".join(asked)))) & set(stems(terms(text))))


def generate(
    llm: ChatModel,
    settings: Settings,
    asked: str,
    question: str,
    history: Sequence[Turn],
    *,
    find: Finder,
    weigh: Weigher,
    embed: Embed,
    live: bool,
    confidence: Callable[[Retrieval], float],
    bands: tuple[float, float],
) -> Generator[TextDelta, None, tuple[Answer, Retrieval, float]]:
    """The LLM path; yields TextDeltas (when `live`) and returns (answer, retrieval, time retrieval ended).

    `confidence(found)` is the judge's probability; `bands` = (refusal, confident) thresholds: below
    the first the model is not asked; at or above the second a model's refusal gives way to the
    extractive answer (a small model's refusal is not the last word)."""
    deadline = time.monotonic() + settings.llm_timeout
    turns = [earlier(t) for t in history][-settings.history_turns :] if settings.history_turns else []
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
    found = find(standalone, ()) if standalone else find(question, history)
    t1 = time.perf_counter()
    p = confidence(found)

    def done(answer: Answer) -> tuple[Answer, Retrieval, float]:
        return replace(answer, usage=_total(usage), standalone_question=standalone, confidence=p), found, t1

    if p < bands[0] or not found.sentences:
        log.info("confidence %.3f is below the refusal threshold: the model is not asked", p)
        return done(refusal_answer(asked, found))
    if failure is not None:
        return done(extractive_answer(asked, found, note=f"{failure}; {FALLBACK}"))
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
        return done(extractive_answer(asked, found, note=f"{exc}; {FALLBACK}"))
    usage.append(completion.usage)
    answer = checked_answer(asked, found, completion, passages, standalone or question, weigh, embed)
    if not answer.answerable and p >= bands[1]:
        log.info("the model refused, but the evidence answers with confidence %.3f: extractive answer", p)
        note = "the model said the documents don't say, but the best evidence answers the question; showing it"
        return done(extractive_answer(asked, found, note=note))
    return done(answer)


def checked_answer(
    asked: str,
    found: Retrieval,
    completion: Completion,
    passages: Sequence[Passage],
    question: str,
    weigh: Weigher,
    embed: Embed,
) -> Answer:
    """The model's reply, verified: a refusal, a cited answer, or (no valid citation) the extractive one."""
    model = completion.model or None
    reply = model_text(completion.text)
    if is_refusal(reply):
        return replace(refusal_answer(asked, found), mode="llm", model=model)
    checked = verify(reply, passages, question, weigh, embed)
    if not checked.citations:
        log.warning("no supported citation in the reply of %s (%d dropped)", model, checked.dropped)
        note = f"the model's answer cited no passage that supports it; {FALLBACK}"
        return replace(extractive_answer(asked, found, note=note), dropped_citations=checked.dropped)
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


def _total(usage: Sequence[dict[str, int] | None]) -> dict[str, int] | None:
    reported = [u for u in usage if u]
    if not reported:
        return None
    return {key: sum(u.get(key, 0) for u in reported) for key in ("prompt_tokens", "completion_tokens")}


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
