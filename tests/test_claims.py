"""Claim check: the seed claims' verdicts, key facts in every supporting quote, the issue's examples,
`ragbot check` (text, --json, `-` lines), and the language-model verdict with its fallbacks."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from retrieval import CLAIM_VERDICTS, Engine, LLMError, key_facts_missing
from tests.helpers import ROOT
from tests.helpers.fake_llm import FakeLLM, source_number

CLAIMS = [json.loads(line) for line in (ROOT / "seeds" / "claims.jsonl").read_text(encoding="utf-8").splitlines()]
ARTICLE = (ROOT / "seeds" / "000_7f696d753bde9fea.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def verdicts(engine):
    return {row["id"]: engine.check(row["claim"]) for row in CLAIMS}


def test_the_claim_set_has_what_the_evaluation_needs():
    counts = Counter(row["verdict"] for row in CLAIMS)
    assert len(CLAIMS) >= 45 and all(counts[v] >= 15 for v in CLAIM_VERDICTS)
    assert sum(row.get("kind") == "paraphrase" for row in CLAIMS) >= 5
    kinds = Counter(row.get("kind") for row in CLAIMS if row["verdict"] == "contradicted")
    assert {"number", "date", "name", "negation"} <= set(kinds)
    assert len({row["id"] for row in CLAIMS}) == len(CLAIMS)
    for row in CLAIMS:
        assert all(e in ARTICLE for e in row.get("evidence", [])), row["id"]


def test_macro_accuracy_on_the_seed_claims_reaches_the_target(verdicts):
    per_class = {
        v: sum(verdicts[r["id"]].verdict == v for r in CLAIMS if r["verdict"] == v)
        / sum(r["verdict"] == v for r in CLAIMS)
        for v in CLAIM_VERDICTS
    }
    assert sum(per_class.values()) / 3 >= 0.85, per_class


def test_supported_is_never_given_without_the_claims_key_facts_in_a_quote(verdicts):
    supported = [(r, verdicts[r["id"]]) for r in CLAIMS if verdicts[r["id"]].verdict == "supported"]
    assert supported
    for row, check in supported:
        quotes = [c.quote for c in check.citations]
        assert quotes, row["id"]
        assert key_facts_missing(row["claim"], quotes) == [], row["id"]
        for number in re.findall(r"\d[\d,.]*\d|\d", row["claim"]):  # digits, read without our normalisation
            assert any(number in q for q in quotes), (row["id"], number)
        for c in check.citations:
            assert ARTICLE[c.start : c.end] == c.quote


@pytest.mark.parametrize(
    "claim, verdict, quote_part",
    [
        ("The cease-fire resolution was for ten days.", "contradicted", "seven-day cease-fire in Aleppo was blocked"),
        ("China blocked the resolution.", "supported", "blocked by Russian Federation and China"),
        ("Kerry met Assad in Brussels.", "not_mentioned", None),
    ],
)
def test_the_issues_examples(engine, claim, verdict, quote_part):
    check = engine.check(claim)
    assert check.verdict == verdict
    if quote_part is None:
        assert check.citations == () and "[" not in check.explanation
    else:
        assert any(quote_part in c.quote for c in check.citations) and "[1]" in check.explanation


def test_a_changed_number_is_named_in_the_explanation(engine):
    check = engine.check("Government forces seized about 60% of east Aleppo.")
    assert check.verdict == "contradicted" and check.reason == "number"
    assert "80%" in check.explanation and "60%" in check.explanation


# -- the command line ----------------------------------------------------------------------------
@pytest.fixture
def run(run_cli):
    """The CLI against a private copy of the ingested article (conftest.run_cli)."""
    return run_cli


def test_check_json_prints_the_verdict_object(run):
    result = run("check", "--json", "China blocked the resolution.")
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout)
    assert {"claim", "verdict", "explanation", "citations", "confidence", "note"} <= set(obj)
    assert obj["verdict"] == "supported" and 0 <= obj["confidence"] <= 1
    for c in obj["citations"]:
        assert ARTICLE[c["start"] : c["end"]] == c["quote"] and {"n", "source", "score"} <= set(c)


def test_check_lines_judge_every_good_line_and_report_the_bad_one(run):
    lines = "China blocked the resolution.\n\n" + "x" * 2001 + "\nKerry met Assad in Brussels.\n"
    result = run("check", "--json", "-", input=lines)
    assert result.exit_code == 2
    objs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o.get("verdict") for o in objs] == ["supported", None, "not_mentioned"]
    assert objs[1]["claim"] == "x" * 2001 and "2000" in objs[1]["error"]


def test_check_text_shows_the_verdict_and_the_quote(run):
    result = run("check", "The cease-fire resolution was for ten days.")
    assert result.exit_code == 0
    assert result.stdout.startswith("CONTRADICTED") and "seven-day" in result.stdout


def test_an_empty_claim_is_an_input_error(run):
    result = run("check", "--json", "   ")
    assert result.exit_code == 2 and "claim is empty" in json.loads(result.stdout)["error"]


# -- with a language model -----------------------------------------------------------------------
def llm_engine(engine: Engine, fake: FakeLLM) -> Engine:
    return Engine(engine.settings, engine.index, llm=fake, judge=engine.judge)


def cite(needle: str, verdict: str, sentence: str):
    def reply(messages):
        return f"VERDICT: {verdict}\n{sentence} [{source_number(messages, needle)}]"

    return reply


def test_a_verified_model_verdict_is_kept(engine):
    fake = FakeLLM().enqueue(
        cite("seven-day", "contradicted", "The resolution was for a seven-day cease-fire, blocked by Russia and China.")
    )
    check = llm_engine(engine, fake).check("The cease-fire resolution was for ten days.")
    assert check.mode == "llm" and check.model == "fake/model" and check.verdict == "contradicted"
    assert check.citations and "seven-day" in check.citations[0].quote and check.note is None
    assert "Claim: The cease-fire resolution was for ten days." in fake.prompts()[0]


def test_an_unverifiable_model_verdict_falls_back_to_the_offline_one(engine):
    fake = FakeLLM().enqueue("VERDICT: supported\nThe resolution was for ten days [9].")
    check = llm_engine(engine, fake).check("The cease-fire resolution was for ten days.")
    assert check.mode == "extractive" and check.verdict == "contradicted"
    assert "cited no passage that supports it" in check.note


def test_a_model_supported_verdict_without_the_key_facts_falls_back(engine):
    fake = FakeLLM().enqueue(cite("seven-day", "supported", "A resolution for a cease-fire was blocked by China."))
    check = llm_engine(engine, fake).check("China blocked the resolution on Sunday.")
    assert check.mode == "extractive" and "Sunday" in check.note


@pytest.mark.parametrize("reply", [LLMError("every model failed"), "I think it is probably true."])
def test_a_failed_or_unreadable_reply_falls_back(engine, reply):
    check = llm_engine(engine, FakeLLM().enqueue(reply)).check("China blocked the resolution.")
    assert check.mode == "extractive" and check.verdict == "supported" and "offline verdict" in check.note


def test_the_model_may_say_not_mentioned(engine):
    check = llm_engine(engine, FakeLLM().enqueue("VERDICT: not_mentioned\nThe documents don't mention it.")).check(
        "China blocked the resolution."
    )
    assert check.mode == "llm" and check.verdict == "not_mentioned" and check.citations == ()


def test_chat_check_shows_the_verdict_without_touching_the_conversation(engine):
    import io

    from rich.console import Console

    from bot.chat import run_chat

    typed = iter(["/check The cease-fire resolution was for ten days.", "/check", "/CHECK China blocked it.", "quit"])
    console = Console(file=io.StringIO(), width=200)
    run_chat(lambda: engine, console=console, read_line=lambda prompt: next(typed))
    out = console.file.getvalue()
    assert "CONTRADICTED" in out and "“seven-day”, not “ten” [1]" in out
    assert "Type the claim after /check" in out and "unknown command" not in out
    assert "/check CLAIM" in out  # in the help line


# -- through litellm, on the loopback server -------------------------------------------------------
@pytest.fixture
def run_llm(run_cli, loopback, monkeypatch):
    monkeypatch.setenv("RAGBOT_LLM_API_BASE", loopback.base_url)
    monkeypatch.setenv("RAGBOT_LLM_API_KEY", "sk-check-loopback-1")

    def invoke(model: str, *args: str):
        monkeypatch.setenv("RAGBOT_LLM_MODEL", f"openai/{model}")
        return run_cli(*args)

    return invoke


def test_check_json_with_a_model_on_the_loopback_server(run_llm, loopback):
    loopback.enqueue("judge", "VERDICT: contradicted\nThe blocked resolution was for a seven-day cease-fire [1].")
    result = run_llm("judge", "check", "--json", "The cease-fire resolution was for ten days.")
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout)
    assert obj["mode"] == "llm" and obj["model"] == "openai/judge" and obj["verdict"] == "contradicted"
    assert "seven-day" in obj["citations"][0]["quote"] and obj["explanation"].endswith("[1].")
    (request,) = loopback.requests
    assert "Claim: The cease-fire resolution was for ten days." in request.body["messages"][-1]["content"]
    assert "sk-check-loopback-1" not in result.output


def test_a_reply_without_a_verdict_falls_back_with_a_note(run_llm, loopback):
    result = run_llm("grounded", "check", "--json", "China blocked the resolution.")  # cites [1], says no verdict
    obj = json.loads(result.stdout)
    assert obj["mode"] == "extractive" and obj["verdict"] == "supported"
    assert obj["note"] == "the model's reply held no verdict; showing the offline verdict"


def test_a_quotation_supports_its_speaker_named_in_another_sentence(engine):
    check = engine.check("Assad said the war in Syria will not end until terrorism is eliminated.")
    assert check.verdict == "supported" and len(check.citations) == 2
    quote, said = check.citations
    assert "until terrorism is eliminated" in quote.quote and said.quote == "Assad said"
    assert ARTICLE[said.start : said.end] == said.quote and "[2]" in check.explanation
    assert key_facts_missing(check.claim, [c.quote for c in check.citations]) == []


def test_a_name_with_a_word_inserted_still_matches(engine):
    check = engine.check("Assad's forces were backed by foreign fighters from Iran and Lebanon's Hezbollah movement.")
    assert check.verdict == "supported" and "Lebanon’s Shiite Hezbollah" in check.citations[0].quote
    other = engine.check("Assad's forces were backed by foreign fighters from Iraq and Lebanon's Hezbollah movement.")
    assert other.verdict == "contradicted" and other.reason == "name" and "Iran" in other.explanation
