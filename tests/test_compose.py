"""Abridged answer sentences: lists and quotations are never cut, every cut is marked, pieces are verbatim."""

from __future__ import annotations

import re

import pytest

from retrieval.answering.compose import MAX_QUOTE_CHARS, abridge, clauses_of
from retrieval.text import stems, terms

JOINT = (
    "In a joint statement Wednesday, the leaders of Britain, Germany, Italy, France, Canada and the US called for an "
    "immediate cease-fire in the Syrian city of Aleppo and said they were “ready to consider additional restrictive "
    "measures against individuals and entities that act for or on behalf of the Syrian regime”."
)
GENEVA = (
    "Lavrov said that he and Kerry had reached agreement to restart the Geneva talks on Saturday to determine “the "
    "ways and methods of a final settlement of the eastern Aleppo problem through the departure of all militants and "
    "those civilian residents, who will wish to do so, from there”, the Russian news agency Interfax reported from "
    "Hamburg."
)


def weights(question: str) -> dict[str, float]:
    return dict.fromkeys(stems(terms(question)), 1.0)


def pieces(shown: str) -> list[str]:
    return [p.strip() for p in shown.split("…") if p.strip()]


def test_a_list_is_one_clause():
    spans = clauses_of(JOINT)
    texts = [JOINT[a:b] for a, b in spans]
    assert any("Britain, Germany, Italy, France, Canada and the US" in t for t in texts)


def test_a_quotation_is_not_cut_into_clauses():
    starts = [a for a, _ in clauses_of(GENEVA)]
    quote = (GENEVA.index("“"), GENEVA.index("”"))
    assert not any(quote[0] < a < quote[1] for a in starts)


@pytest.mark.parametrize(
    "text, question, must_show",
    [
        (JOINT, "Which six countries' leaders signed the joint statement?", "Canada and the US"),
        (JOINT, "Which countries' leaders called for an immediate cease-fire?", "Canada and the US"),
        (GENEVA, "When were the Geneva talks supposed to restart?", "on Saturday"),
        (
            GENEVA,
            "How is the eastern Aleppo problem to be settled under the approach Lavrov and Kerry agreed on?",
            "departure of all militants",
        ),
        (GENEVA, "From which city did Interfax report Lavrov's comments about restarting the Geneva talks?", "Hamburg"),
    ],
)
def test_the_clause_with_the_answer_is_kept(text, question, must_show):
    shown = abridge(text, weights(question))
    assert must_show in shown
    assert len(shown) <= MAX_QUOTE_CHARS


@pytest.mark.parametrize("text", [JOINT, GENEVA])
@pytest.mark.parametrize("question", ["Which countries' leaders called for a cease-fire?", "Who reported from Hamburg?",
                                      "What did Kerry say?"])  # fmt: skip
def test_every_cut_is_marked_and_every_piece_is_verbatim(text, question):
    shown = abridge(text, weights(question))
    assert len(shown) <= MAX_QUOTE_CHARS
    at = 0
    parts = pieces(shown)
    for piece in parts:  # verbatim, in order
        found = text.find(piece.rstrip(",;:—– "), at)
        assert found >= 0, piece
        at = found + len(piece.rstrip(",;:—– "))
    if text[at:].strip(' .”"'):  # the sentence's end is not shown: the cut is marked
        assert shown.endswith("…"), shown
    assert not re.search(r"\w…", shown)  # no piece stops mid-word


def test_a_short_sentence_is_shown_whole():
    text = "Lavrov spoke in Hamburg."
    assert abridge(text, weights("Where did Lavrov speak?")) == text
