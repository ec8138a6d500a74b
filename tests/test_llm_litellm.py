"""The real litellm path (retrieval/llm.py) against the loopback OpenAI-compatible server.

Covers a plain reply, an SSE stream, 429 then success, a retry-after longer than the budget, 500
every time (fallback model, then the extractive answer), a hang (timeout), malformed JSON and a
stream that breaks off. Backoff is shortened so retries do not slow the suite; nothing here asserts
how long anything took.
"""

from __future__ import annotations

import logging
import socket

import pytest

import retrieval.generation.llm as llm_module
from retrieval.engine import Engine, Final, TextDelta
from retrieval.errors import LLMError
from retrieval.generation.llm import Completion, Delta, LiteLLM, retry_after
from retrieval.settings import Settings
from tests.helpers import ROOT
from tests.helpers.llm_server import LLMServer, Reply

# litellm's stream types trip a pydantic UserWarning (ReadOnly TypedDict items); `filterwarnings = error`
# would turn it into a failed stream. Outside pytest it is not shown.
pytestmark = pytest.mark.filterwarnings("ignore:Item .* is using the `ReadOnly` qualifier:UserWarning")

KEY = "sk-loopback-key-7f3a9c"
MESSAGES = [
    {"role": "system", "content": "Answer from the sources."},
    {
        "role": "user",
        "content": 'Sources:\n\n<source id="1" title="t">\nThe ferry leaves at noon. It is slow.\n</source>\n\n'
        "Question: When?",
    },
]
PROMPT_WORDS = sum(len(m["content"].split()) for m in MESSAGES)  # the server's prompt_tokens
USAGE = {"prompt_tokens": PROMPT_WORDS, "completion_tokens": 6}
HAMBURG_Q = "From which city did Interfax report Lavrov's comments about the Geneva talks?"


def settings_for(server: LLMServer, model: str, **overrides) -> Settings:
    return Settings.of(
        llm_model=f"openai/{model}", llm_api_base=server.base_url, llm_api_key=KEY, **overrides
    )


def make_llm(server: LLMServer, model: str, **overrides) -> LiteLLM:
    return LiteLLM(settings_for(server, model, **overrides))


def test_plain_reply(loopback):
    result = make_llm(loopback, "grounded").complete(MESSAGES)
    assert result == Completion("The ferry leaves at noon [1].", USAGE, "openai/grounded")
    (request,) = loopback.requests
    assert request.model == "grounded" and request.body["messages"] == MESSAGES
    assert not request.body.get("stream")
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_streamed_reply(loopback):
    items = list(make_llm(loopback, "grounded").stream(MESSAGES))
    deltas, final = items[:-1], items[-1]
    assert len(deltas) >= 3 and all(isinstance(d, Delta) and not d.restart for d in deltas)
    assert isinstance(final, Completion)
    assert "".join(d.text for d in deltas) == final.text == "The ferry leaves at noon [1]."
    assert final.usage == USAGE
    assert loopback.requests[0].body["stream"] is True


@pytest.mark.parametrize("streamed", [False, True])
def test_rate_limit_then_success(loopback, streamed):
    llm = make_llm(loopback, "flaky429")
    result = list(llm.stream(MESSAGES))[-1] if streamed else llm.complete(MESSAGES)
    assert result.text == "The ferry leaves at noon [1]."
    assert loopback.models() == ["flaky429", "flaky429"]


def test_retry_after_longer_than_the_budget_is_not_waited_for(loopback):
    with pytest.raises(LLMError, match=r"rate limited \(HTTP 429\), asked to wait 30 s"):
        make_llm(loopback, "slow429", llm_timeout=5).complete(MESSAGES)
    assert loopback.models() == ["slow429"]


def test_retry_after_that_fits_is_honoured(loopback):
    loopback.enqueue("grounded", Reply(status=503, headers={"retry-after": "0"}))
    assert make_llm(loopback, "grounded").complete(MESSAGES).text == "The ferry leaves at noon [1]."
    assert loopback.models() == ["grounded", "grounded"]


def test_server_errors_are_retried_then_the_fallback_answers(loopback):
    llm = make_llm(loopback, "error500", llm_fallbacks="openai/malformed, openai/grounded")
    result = llm.complete(MESSAGES)
    assert result.model == "openai/grounded"
    assert loopback.models() == ["error500"] * llm_module.MAX_ATTEMPTS + ["malformed", "grounded"]


def test_every_model_failing_says_why(loopback):
    llm = make_llm(loopback, "error500", llm_fallbacks="openai/malformed")
    with pytest.raises(LLMError) as info:
        list(llm.stream(MESSAGES))
    message = str(info.value)
    assert "openai/error500: server error (HTTP 500) after 3 attempts" in message
    assert "openai/malformed: empty or malformed reply" in message


def test_malformed_json_is_not_retried(loopback):
    with pytest.raises(LLMError, match=r"malformed reply \(not JSON\)"):
        make_llm(loopback, "malformed").complete(MESSAGES)
    assert loopback.models() == ["malformed"]


def test_hang_times_out_within_the_budget(loopback):
    with pytest.raises(LLMError, match="openai/hang: timed out"):
        make_llm(loopback, "hang", llm_timeout=1, llm_fallbacks="openai/grounded").complete(MESSAGES)
    assert loopback.models() == ["hang"]  # the budget is spent: the fallback is not tried


def test_broken_stream_is_retried_and_marked_as_a_restart(loopback):
    loopback.enqueue("grounded", Reply(cut=True))
    items = list(make_llm(loopback, "grounded").stream(MESSAGES))
    deltas = [i for i in items if isinstance(i, Delta)]
    restarts = [n for n, d in enumerate(deltas) if d.restart]
    assert restarts and restarts[0] > 0, "text from the broken attempt came first"
    assert "".join(d.text for d in deltas[restarts[-1] :]) == items[-1].text == "The ferry leaves at noon [1]."
    assert loopback.models() == ["grounded", "grounded"]


def test_no_server_is_a_connection_failure(loopback):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    llm = LiteLLM(
        Settings.of(llm_model="openai/x", llm_api_base=f"http://127.0.0.1:{port}/v1", llm_api_key=KEY)
    )
    with pytest.raises(LLMError, match="no connection to http://127.0.0.1"):
        llm.complete(MESSAGES)


def test_a_local_server_needs_no_key(loopback, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    llm = LiteLLM(Settings.of(llm_model="openai/grounded", llm_api_base=loopback.base_url))
    assert llm.complete(MESSAGES).text == "The ferry leaves at noon [1]."
    assert loopback.requests[0].headers["authorization"] == "Bearer no-key"


def test_a_missing_provider_key_is_named(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    llm = LiteLLM(Settings.of(llm_model="gpt-4o-mini"))
    with pytest.raises(LLMError, match=r"gpt-4o-mini: no API key: set the provider's key \(e.g. OPENAI_API_KEY\)"):
        llm.complete(MESSAGES)


def test_the_api_key_never_reaches_logs_or_messages(loopback, caplog):
    caplog.set_level(logging.DEBUG)
    llm = make_llm(loopback, "error500", llm_fallbacks="openai/slow429", llm_timeout=5)
    with pytest.raises(LLMError) as info:
        llm.complete(MESSAGES)
    assert KEY not in str(info.value)
    assert caplog.records and KEY not in caplog.text
    assert "retrying" in caplog.text and "does not fit" in caplog.text
    assert KEY not in repr(settings_for(loopback, "x"))


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_retry_after_parsing(headers, seconds):
    assert retry_after(headers) == seconds


# -- through the Engine -------------------------------------------------------------------------
def test_engine_streams_a_verified_answer(loopback, engine):
    llm_engine = Engine(settings_for(loopback, "grounded"), engine.index)
    events = list(llm_engine.stream(HAMBURG_Q))
    assert isinstance(events[-1], Final)
    shown = "".join(e.text for e in events if isinstance(e, TextDelta))
    answer = events[-1].answer
    assert "[" not in shown and shown.endswith("Interfax reported from Hamburg.")
    assert answer.mode == "llm" and answer.model == "openai/grounded"
    assert answer.answer.endswith("Interfax reported from Hamburg [1].")
    assert answer.usage and answer.usage["prompt_tokens"] > 0
    (c,) = answer.citations
    assert "Hamburg" in c.quote


def test_engine_answers_from_the_article_when_every_model_fails(loopback, engine):
    llm_engine = Engine(settings_for(loopback, "error500", llm_fallbacks="openai/hang", llm_timeout=2), engine.index)
    answer = llm_engine.answer(HAMBURG_Q)
    offline = engine.answer(HAMBURG_Q)
    assert answer.answerable and answer.mode == "extractive" and answer.model is None
    assert answer.answer == offline.answer
    assert "openai/error500: server error (HTTP 500) after 3 attempts" in answer.note
    assert "openai/hang: timed out" in answer.note
    assert answer.to_json()["note"] == answer.note


def test_engine_reports_an_invented_citation(loopback, engine):
    answer = Engine(settings_for(loopback, "invent"), engine.index).answer(HAMBURG_Q)
    assert answer.mode == "llm" and answer.dropped_citations == 1
    assert "[9]" not in answer.answer and "Vienna" not in answer.answer


def test_a_confident_extractive_answer_overrides_the_model_refusal(loopback, engine):
    answer = Engine(settings_for(loopback, "refuse"), engine.index).answer(HAMBURG_Q)
    assert answer.confidence >= engine.thresholds[1]
    assert answer.answerable and answer.mode == "extractive" and "Hamburg" in answer.answer
    assert "the model said the documents don't say" in answer.note
    article = (ROOT / answer.citations[0].source).read_text(encoding="utf-8")
    assert all(article[c.start : c.end] == c.quote for c in answer.citations)


def test_engine_relays_the_model_refusal_below_the_confident_threshold(loopback, engine):
    question = "What did Kerry have for breakfast in Brussels?"
    answer = Engine(settings_for(loopback, "refuse"), engine.index).answer(question)
    assert engine.thresholds[0] <= answer.confidence < engine.thresholds[1]  # the model was asked
    assert not answer.answerable and answer.mode == "llm" and answer.closest is not None
