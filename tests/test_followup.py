"""The follow-up decision: a conversation's previous turn is used only for a question that needs it.

Unit tests read questions (retrieval/answering/followup.py) and count the searches `resolve` makes;
the engine and `ask --json --conversation -` tests run the real article: a new question after an
unrelated turn is answered as if asked alone, while pronoun and ellipsis follow-ups still use the
earlier turn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from bot.cli import cli
from retrieval.answering.followup import CONTEXT_GAIN, POOR_EVIDENCE, Cue, read_question, resolve
from retrieval.schema import Turn
from tests.helpers import ROOT

CEASE_FIRE = "Which countries' leaders called for an immediate cease-fire?"
# the answer the engine gave to CEASE_FIRE when the issue was filed: the whole joint-statement sentence
CEASE_FIRE_ANSWER = (
    "In a joint statement Wednesday, the leaders of Britain, Germany, Italy, France, Canada and the US called "
    "for an immediate cease-fire in the Syrian city of Aleppo and said they were [1]"
)
KERRY = "Where was Kerry when he said Assad never showed willingness?"


@pytest.mark.parametrize(
    ("question", "cue"),
    [
        # pronouns and pointers with nothing in the question to resolve them
        ("Which agency carried his remarks?", Cue.FOLLOW_UP),
        ("After how long an offensive was he speaking?", Cue.FOLLOW_UP),
        ("Who has taken refuge there?", Cue.FOLLOW_UP),
        ("Should that effort be abandoned, according to the same speaker?", Cue.FOLLOW_UP),
        ("Since when has it been a rebel stronghold?", Cue.FOLLOW_UP),
        ("Did Russia say that too?", Cue.FOLLOW_UP),
        # ellipsis: continuations and questions too short to stand alone
        ("And where was he speaking?", Cue.FOLLOW_UP),
        ("What about Russia?", Cue.FOLLOW_UP),
        ("On what day?", Cue.FOLLOW_UP),
        ("Why?", Cue.FOLLOW_UP),
        ("...", Cue.FOLLOW_UP),
        # a subject of its own: a name, with any pronoun after it
        ("Where was Kerry when he said Assad never showed willingness?", Cue.OWN_SUBJECT),
        ("What milestone did Assad say his side had reached?", Cue.OWN_SUBJECT),
        ("Which news agency reported from Hamburg?", Cue.OWN_SUBJECT),
        ("Which agency reported that Russia backs the US initiative?", Cue.OWN_SUBJECT),
        ("Who said that the talks would take place this week in Geneva?", Cue.OWN_SUBJECT),
        ("Are there any talks planned in Geneva?", Cue.OWN_SUBJECT),
        # neither: decided by the evidence the question finds alone
        ("Who blocked the resolution?", Cue.UNSURE),
        ("wat percent of east aleppo did goverment forces take", Cue.UNSURE),
        ("where was kerry when he said assad never showed willingness", Cue.UNSURE),  # no case, no names seen
    ],
)
def test_read_question(question, cue):
    assert read_question(question).cue is cue


@dataclass
class Found:
    best: float
    context: str


class Search:
    """A fake search: the best evidence score alone and with the context, and every call made."""

    def __init__(self, alone: float, joined: float) -> None:
        self.scores = {"": alone, "ctx": joined}
        self.calls: list[str] = []

    def __call__(self, context: str) -> Found:
        self.calls.append(context)
        return Found(self.scores[context], context)


@pytest.mark.parametrize(
    ("question", "alone", "joined", "calls", "used"),
    [
        ("Which agency carried his remarks?", 0.9, 0.1, ["ctx"], True),  # a follow-up: one search, with it
        (KERRY, 0.2, 0.9, [""], False),  # its own subject: one search, alone, however weak
        ("Who blocked the resolution?", POOR_EVIDENCE, 0.9, [""], False),  # finds good evidence alone
        ("Who blocked the resolution?", 0.2, 0.2 + CONTEXT_GAIN, ["", "ctx"], True),  # poor alone, better with it
        ("Who blocked the resolution?", 0.2, 0.2 + CONTEXT_GAIN / 2, ["", "ctx"], False),  # not better enough
    ],
)
def test_resolve_searches_at_most_twice(question, alone, joined, calls, used):
    search = Search(alone, joined)
    found, with_context = resolve(question, "ctx", search)
    assert search.calls == calls
    assert with_context is used and found.context == ("ctx" if used else "")


def test_resolve_without_history_searches_once_alone():
    search = Search(0.1, 0.9)
    assert resolve("Why?", "", search) == (Found(0.1, ""), False) and search.calls == [""]


def test_a_new_question_is_not_drowned_by_the_previous_turn(engine):
    history = [Turn(CEASE_FIRE, CEASE_FIRE_ANSWER)]
    found = engine.retrieve(KERRY, history)
    alone = engine.retrieve(KERRY)
    assert not found.followup
    assert [(s.start, s.score) for s in found.sentences] == [(s.start, s.score) for s in alone.sentences]
    answer = engine.answer(KERRY, history)
    assert answer.answerable and "Brussels" in answer.citations[0].quote


def test_the_engines_own_answers_as_history(engine):
    first = engine.answer(CEASE_FIRE)
    answer = engine.answer(KERRY, [Turn(CEASE_FIRE, first.answer)])
    assert "Brussels" in answer.citations[0].quote
    follow = engine.answer(
        "What meeting was he attending?", [Turn(CEASE_FIRE, first.answer), Turn(KERRY, answer.answer)]
    )
    assert "North Atlantic Treaty Organisation" in follow.citations[0].quote


@pytest.mark.parametrize(
    ("first", "question", "evidence"),
    [
        ("What did Lavrov and Kerry agree to restart?", "On what day?", "Geneva talks on Saturday"),
        ("Which U.S. official said Assad never showed willingness?", "And where was he speaking?", "in Brussels"),
        ("What did the U.S. accuse Russia of?", "After what happened?", "was blocked by Russian Federation"),
    ],
)
def test_follow_ups_still_use_the_previous_turn(engine, first, question, evidence):
    history = [Turn(first, engine.answer(first).answer)]
    assert engine.retrieve(question, history).followup
    assert evidence in engine.answer(question, history).citations[0].quote


def test_ask_json_conversation_answers_a_new_question_on_its_own(store_copy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAGBOT_CHROMA_PATH", str(store_copy))
    monkeypatch.setenv("RAGBOT_SEEDS_DIR", str(ROOT / "seeds"))
    lines = f"{CEASE_FIRE}\n{KERRY}\n"
    result = CliRunner().invoke(cli, ["ask", "--json", "--conversation", "-"], input=lines, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert "Britain" in rows[0]["citations"][0]["quote"]
    assert "Brussels" in rows[1]["citations"][0]["quote"]
