"""Injected LLM faults, through the real litellm path (loopback server) and at our seam (FakeLLM).

Timeouts, 429 with a huge or odd `retry-after`, 5xx, malformed JSON, empty content, broken streams,
invented `[n]`, markers that point nowhere, and citations of passages that do not support their
sentence. Whatever the model does, the user gets an answer (extractive when the model fails) within
the configured time, and every citation shown is an exact quote that supports its sentence.

The time check is a bound, not a speed measurement: with RAGBOT_LLM_TIMEOUT=3 (1.5 against a hang)
a run that waited for a 30 s retry-after or a hanging server would take far longer than the bound.
"""

from __future__ import annotations

import functools
import json
import re
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from retrieval.engine import Engine, Final, TextDelta
from retrieval.errors import LLMError
from retrieval.generation.citations import (
    COSINE_MIN,
    SUPPORT_MIN,
    _units,
    claim_weights,
)
from retrieval.schema import Answer
from retrieval.settings import Settings
from retrieval.text import REFUSAL as NOT_IN_ARTICLE
from retrieval.text import marker_numbers, strip_markers
from retrieval.text import weighted_share as support
from tests.helpers import ARTICLE
from tests.helpers.fake_llm import Broken, FakeLLM, source_number
from tests.helpers.llm_server import LLMServer, Reply

pytestmark = pytest.mark.filterwarnings("ignore:Item .* is using the `ReadOnly` qualifier:UserWarning")

ARTICLE_TEXT = ARTICLE.read_text(encoding="utf-8")
TIMEOUT_S = 3.0
HANG_TIMEOUT_S = 1.5
GRACE_S = 10.0  # retrieval, embedding and verification on top of the LLM budget, on a slow machine
QUESTION = "From which city did Interfax report Lavrov's comments about the Geneva talks?"
OTHER_QUESTIONS = [
    "How long was the cease-fire proposed in the resolution that was blocked?",
    "Who said opposition fighters would be eradicated?",
    "What did the German chancellor call a disgrace?",
]


def budget(n: int) -> int:
    return max(1, n * hypothesis_settings.default.max_examples // 100)


def llm_engine(engine, server: LLMServer, model: str, **overrides) -> Engine:
    """An Engine on the shared article index whose model is `openai/<model>` on the loopback server."""
    settings = Settings.of(
        chroma_path=engine.settings.chroma_path,
        seeds_dir=engine.settings.seeds_dir,
        llm_model=f"openai/{model}",
        llm_api_base=server.base_url,
        llm_api_key="sk-loopback-hardening",
        llm_timeout=overrides.pop("llm_timeout", TIMEOUT_S),
        **overrides,
    )
    built = Engine(settings, engine.index)
    assert built.llm is not None  # litellm is imported here, outside the timed answer
    return built


def claims(answer: Answer) -> dict[int, list[str]]:
    """For each marker n, the sentences of the answer that carry it (markers stripped)."""
    out: dict[int, list[str]] = {}
    for unit, _ in _units(answer.answer):
        for m in re.finditer(r"\[\d+(?:\s*[,;–-]\s*\d+)*\]", unit):
            for n in marker_numbers(m.group(0)):
                out.setdefault(n, []).append(strip_markers(unit).replace(" … ", " "))
    return out


def assert_citations_valid(answer: Answer, engine: Engine, question: str) -> int:
    """Every shown citation is an exact quote that supports each sentence citing it; returns their count."""
    by_marker = claims(answer)
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert set(by_marker) == {c.n for c in answer.citations}, "a marker in the text has no citation, or vice versa"
    json.dumps(answer.to_json(), ensure_ascii=False).encode("utf-8")  # valid text, printable anywhere
    embedder = engine.index.embedder
    for c in answer.citations:
        assert ARTICLE_TEXT[c.start : c.end] == c.quote, "not an exact quote"
        for claim in by_marker[c.n]:
            lexical = support(claim_weights(claim, question, engine.weigh), c.quote)
            cosine = float(np.dot(*embedder.embed_array([claim, c.quote])))
            assert lexical >= SUPPORT_MIN or cosine >= COSINE_MIN, f"[{c.n}] {c.quote!r} does not support {claim!r}"
    if answer.answerable:
        assert answer.citations, "an answer without citations"
    else:
        assert answer.answer == NOT_IN_ARTICLE and not answer.citations
    return len(answer.citations)


@functools.cache
def offline_answer(engine: Engine) -> str:
    return engine.answer(QUESTION).answer


def timed_answer(llm: Engine, question: str, streamed: bool) -> tuple[Answer, float]:
    t0 = time.monotonic()
    if streamed:
        events = list(llm.stream(question))
        assert isinstance(events[-1], Final) and all(isinstance(e, TextDelta) for e in events[:-1])
        shown = "".join(e.text for e in events[:-1])
        assert not re.search(r"\[\d", shown), "a marker reached the provisional text"
        answer = events[-1].answer
    else:
        answer = llm.answer(question)
    return answer, time.monotonic() - t0


# -- faults through the loopback server --------------------------------------------------------
HUGE_WAITS = [
    {"retry-after": "30"},
    {"retry-after": "86400"},
    {"retry-after-ms": "999999999"},
    {"retry-after": "Wed, 21 Oct 2099 07:28:00 GMT"},
    {"retry-after": "1e400"},
]
FAULTS = {
    # name: (model, replies queued for it, fallbacks)
    "hang (timeout)": ("hang", [], ""),
    "429, retry-after 30 s": ("slow429", [], ""),
    "429, retry-after a day": ("q429", [Reply(status=429, headers=HUGE_WAITS[1])], ""),
    "429, retry-after-ms 11 days": ("q429", [Reply(status=429, headers=HUGE_WAITS[2])], ""),
    "429, retry-after in 2099": ("q429", [Reply(status=429, headers=HUGE_WAITS[3])], ""),
    "429, retry-after 1e400": ("q429", [Reply(status=429, headers=HUGE_WAITS[4])], ""),
    "503, retry-after-ms 11 days": ("q503", [Reply(status=503, headers=HUGE_WAITS[2])], ""),
    "500 every time": ("error500", [], ""),
    "500 then a hang": ("error500", [], "openai/hang"),
    "malformed JSON": ("malformed", [], ""),
    "malformed, then 500s": ("malformed", [], "openai/error500"),
    "empty content": ("qempty", [Reply("")], ""),
    "whitespace content": ("qblank", [Reply("  \n\t ")], ""),
    "stream cut every time": ("cut", [], ""),
    "invented [9]": ("invent", [], ""),
    "no marker": ("uncited", [], ""),
    "only markers": ("qmarkers", [Reply("[1][2] [3]. [4-5]")], ""),
    "markers out of range": ("qrange", [Reply("Interfax reported from Hamburg [0][6][99999999999999999999].")], ""),
    "unsupported citation": ("qwrong", [Reply("Vienna hosted the talks in 1815 [1]. Hamburg is a city [2].")], ""),
    "refusal": ("refuse", [], ""),
    "lone surrogate in the text": ("qsurrogate", [Reply("Interfax reported from Hamburg \ud800 [1].")], ""),
    "429 then grounded": ("flaky429", [], ""),
}


# streamed too where the streaming path differs (its own parser, restarts, deadline checks per chunk)
STREAMED = ["hang (timeout)", "500 then a hang", "429, retry-after 30 s", "malformed JSON", "empty content",
            "stream cut every time", "invented [9]", "unsupported citation", "429 then grounded",
            "lone surrogate in the text"]
CASES = [(f, False) for f in FAULTS] + [(f, True) for f in STREAMED]


@pytest.mark.parametrize(("fault", "streamed"), CASES, ids=[f"{f}-{'stream' if s else 'complete'}" for f, s in CASES])
def test_every_llm_fault_still_gives_a_valid_answer_in_time(loopback, engine, fault, streamed):
    model, queued, fallbacks = FAULTS[fault]
    if queued:
        loopback.enqueue(model, *queued)
    budget_s = HANG_TIMEOUT_S if "hang" in fault else TIMEOUT_S  # a hang spends all of it: keep it short
    llm = llm_engine(engine, loopback, model, llm_fallbacks=fallbacks, llm_timeout=budget_s)
    answer, elapsed = timed_answer(llm, QUESTION, streamed)
    assert elapsed < budget_s + GRACE_S, f"{fault}: {elapsed:.1f} s for a {budget_s} s budget"
    assert_citations_valid(answer, llm, QUESTION)
    assert loopback.requests, "the model was never asked"
    if answer.mode == "extractive":  # the model failed or cited nothing valid: the article's own sentences
        assert answer.answerable and answer.note and answer.model is None
        assert answer.answer == offline_answer(engine)
    else:
        assert fault in {"invented [9]", "refusal", "429 then grounded", "stream cut every time",
                         "lone surrogate in the text"}
        assert answer.model == f"openai/{model}"


def test_a_retry_after_beyond_the_budget_is_never_waited_for(loopback, engine, caplog):
    for headers in HUGE_WAITS:
        loopback.enqueue("q429", Reply(status=429, headers=headers))
    llm = llm_engine(engine, loopback, "q429")
    for _ in HUGE_WAITS:
        answer, elapsed = timed_answer(llm, QUESTION, streamed=False)
        assert answer.mode == "extractive" and "rate limited (HTTP 429)" in answer.note
        assert elapsed < TIMEOUT_S + GRACE_S
    assert loopback.models() == ["q429"] * len(HUGE_WAITS)  # one request each: no retry was attempted


def test_a_budget_spent_on_a_hang_leaves_no_fallback_waiting(loopback, engine):
    llm = llm_engine(engine, loopback, "hang", llm_fallbacks="openai/hang, openai/grounded", llm_timeout=2)
    answer, elapsed = timed_answer(llm, QUESTION, streamed=True)
    assert answer.mode == "extractive" and "timed out" in answer.note
    assert elapsed < 2 + GRACE_S
    assert loopback.models() == ["hang"]


@hypothesis_settings(max_examples=budget(25))
@given(
    reply=st.lists(
        st.one_of(
            st.sampled_from(
                [
                    "Interfax reported from Hamburg",
                    "Lavrov spoke in Hamburg",
                    "The talks moved to Vienna",
                    "HACKED",
                    "The article doesn't say",
                    "Russia and China blocked a seven-day cease-fire",
                ]
            ),
            st.text(max_size=40),
        ).flatmap(
            lambda s: st.lists(st.integers(-1, 12).map(lambda n: f"[{n}]") | st.just("[1-3]"), max_size=3).map(
                lambda marks: f"{s} {''.join(marks)}."
            )
        ),
        max_size=4,
    ).map(" ".join)
)
def test_any_reply_text_from_the_server_is_verified_before_it_is_shown(server, engine, reply):
    """Random reply texts through real HTTP, JSON and litellm parsing, then verification."""
    server.enqueue("fuzz", Reply(reply))
    llm = llm_engine(engine, server, "fuzz")
    answer = llm.answer(QUESTION)
    assert_citations_valid(answer, llm, QUESTION)
    assert "HACKED" not in answer.answer and "Vienna" not in answer.answer


# -- faults at our seam: a scripted model --------------------------------------------------------
def cite(needle: str, claim: str):
    return lambda messages: f"{claim} [{source_number(messages, needle)}]."


REPLIES = [
    cite("Hamburg", "Interfax reported from Hamburg"),
    cite("Hamburg", "The talks moved to Vienna"),
    cite("eradicated", "Interfax reported from Hamburg"),
    lambda m: f"Interfax reported from Hamburg [{source_number(m, 'Hamburg')}][{source_number(m, 'Hamburg')}][77].",
    lambda m: "Interfax reported from Hamburg [1-5]. [1]",
    "Interfax reported from Hamburg.",
    "[1]",
    "",
    "   ",
    "\x00\x01[1]\x02",
    "The article doesn't say. But Hamburg [1].",
    ["Interfax ", "reported from Hamburg [", "1", "]", "."],
    ["Interfax reported from Hamburg \ud83d", "\ude00 [1]."],  # an emoji's surrogate pair, split across pieces
    "Interfax reported from Hamburg \udcff [1].",
    LLMError("the language model did not answer (fake/model: timed out)"),
    Broken(["Interfax reported", " from Ham"]),
]


@hypothesis_settings(max_examples=budget(60))
@given(
    script=st.lists(st.sampled_from(range(len(REPLIES))), min_size=1, max_size=3),
    question=st.sampled_from([QUESTION, *OTHER_QUESTIONS]),
    streamed=st.booleans(),
)
def test_any_scripted_reply_gives_a_valid_answer(engine, script, question, streamed):
    fake = FakeLLM()
    replies = [REPLIES[i] for i in script]
    if streamed:
        fake.enqueue(*replies, "The article doesn't say.")  # a broken stream's retry needs a next reply
    else:
        fake.enqueue(*[r for r in replies if not isinstance(r, Broken)] or ["The article doesn't say."])
    llm = Engine(engine.settings, engine.index, llm=fake)
    answer, _ = timed_answer(llm, question, streamed)
    assert_citations_valid(answer, llm, question)
    assert "Vienna" not in answer.answer
    deadlines = [d for _, _, d in fake.history]
    assert deadlines and all(d is not None for d in deadlines)
    assert max(deadlines) - min(deadlines) < 1e-6, "every call of one answer shares one deadline"
