"""What `ask` and `chat` show of an answer (bot/render.py), and the confidence words every front-end uses.

The short answer comes first (bold on a terminal, its own plain line when piped), then the answer
text, then `confidence: low|medium|high` worded by the core's `confidence_word` over the engine's
(refusal, confident) thresholds, then the note, the sources or the closest passage.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import replace

import pytest
from rich.console import Console

import retrieval
from bot.render import answer_renderable
from retrieval import Answer, Citation, ShortAnswer, Span, confidence_word

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
THRESHOLDS = (0.2, 0.6)  # (refusal, confident)
QUOTE = "Lavrov said so, the Russian news agency Interfax reported from Hamburg."


# -- the words ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("confidence", "word"),
    [
        (0.0, "low"),
        (0.1999, "low"),
        (0.2, "medium"),  # at the refusal threshold: answered, not confidently
        (0.5999, "medium"),
        (0.6, "high"),  # at the confident threshold
        (1.0, "high"),
        (math.nan, "low"),
    ],
)
def test_confidence_words_at_the_band_boundaries(confidence, word):
    assert confidence_word(confidence, THRESHOLDS) == word


def test_equal_thresholds_leave_no_medium_band():
    assert [confidence_word(c, (0.5, 0.5)) for c in (0.49, 0.5, 0.51)] == ["low", "high", "high"]


def test_the_face_exports_the_judges_function():
    from retrieval.answering import judge

    assert retrieval.confidence_word is judge.confidence_word
    assert "confidence_word" in retrieval.__all__ and "confidence_word" in retrieval._EXPORTS


def test_the_engine_thresholds_word_real_answers(engine):
    refusal, confident = engine.thresholds
    assert 0.0 <= refusal <= confident <= 1.0
    answered, refused = engine.answer("Where did Interfax report from?"), engine.answer("How old is Lavrov?")
    assert confidence_word(answered.confidence, engine.thresholds) in ("medium", "high")
    assert confidence_word(refused.confidence, engine.thresholds) == "low"


# -- rendering ----------------------------------------------------------------------------------
def _answer(**changes) -> Answer:
    start = 1000
    citation = Citation(1, "seeds/a.txt", QUOTE, start, start + len(QUOTE), 0.52)
    at = start + QUOTE.index("Hamburg")
    base = Answer(
        question="Where did Interfax report from?",
        answer=f"{QUOTE} [1]",
        answerable=True,
        citations=(citation,),
        confidence=0.72,
        short_answer=ShortAnswer("Hamburg", "seeds/a.txt", at, at + len("Hamburg")),
    )
    return replace(base, **changes)


def _render(answer: Answer, *, terminal: bool) -> str:
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=200, highlight=False)
    console.print(answer_renderable(answer, THRESHOLDS))
    return out.getvalue()


def test_piped_the_short_answer_is_the_first_line_then_the_sentence_and_the_confidence():
    lines = _render(_answer(), terminal=False).splitlines()
    assert lines[:4] == ["Hamburg", f"{QUOTE} [1]", "confidence: high", "Sources"]
    assert lines[4].startswith(f"[1] “{QUOTE}” — seeds/a.txt:1000-")


def test_on_a_terminal_only_the_short_answer_is_bold():
    raw = _render(_answer(confidence=0.4), terminal=True).splitlines()
    assert raw[0] == "\x1b[1mHamburg\x1b[0m"
    assert raw[1] == f"{QUOTE} [1]"  # the sentence follows in the normal weight
    assert ANSI.sub("", raw[2]) == "confidence: medium" and raw[2].startswith("\x1b[2m")  # dim


def test_without_a_short_answer_the_answer_leads_in_bold_as_before():
    llm = _answer(short_answer=None, mode="llm", model="m", note="the model's refusal was overridden")
    raw = _render(llm, terminal=True).splitlines()
    assert raw[0] == f"\x1b[1m{QUOTE} [1]\x1b[0m"
    assert [ANSI.sub("", line) for line in raw[1:3]] == ["confidence: high", "note: the model's refusal was overridden"]


def test_a_refusal_shows_no_short_answer_and_a_low_confidence():
    closest = Span("seeds/a.txt", QUOTE, 1000, 1000 + len(QUOTE), 0.44)
    refusal = _answer(
        answer="The article doesn't say.", answerable=False, citations=(), closest=closest, confidence=0.1
    )  # a stray short answer on a refusal is never shown
    lines = _render(refusal, terminal=False).splitlines()
    assert lines[:2] == ["The article doesn't say.", "confidence: low"]
    assert lines[2].startswith("Closest passage (seeds/a.txt:1000-") and "Hamburg" not in lines[0]
    assert _render(refusal, terminal=True).startswith("\x1b[33m")  # yellow, as before


def test_markup_in_a_short_answer_is_shown_as_text():
    odd = _answer(short_answer=ShortAnswer("[bold]x[/bold]\n y", "seeds/a.txt", 0, 18))
    assert _render(odd, terminal=False).splitlines()[0] == "[bold]x[/bold] y"
