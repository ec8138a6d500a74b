"""Who said what: every quotation of the seed article with its speaker (a table written by hand),
reported speech, the attribution evidence and offsets, the filters, and `ragbot quotes`."""

from __future__ import annotations

import json

import pytest

from tests.helpers import ROOT

ARTICLE = (ROOT / "seeds" / "000_7f696d753bde9fea.txt").read_text(encoding="utf-8")
LAVROV = "Russian Foreign Minister Sergei Lavrov"
LEADERS = "the leaders of Britain, Germany, Italy, France, Canada and the US"

# every quotation of the article (the words inside the marks, their opening) and who said it, read by hand
DIRECT = [
    (LAVROV, "eradicated"),
    (LAVROV, "This is the largest operation conducted for evacuation"),
    ("Lavrov", "the ways and methods of a final settlement"),
    ("Assad", "will mean the transformation of the course of the war"),
    ("Assad", "no cards left to play"),
    ("Assad", "It is a significant landmark towards the end of the battle"),
    (LEADERS, "ready to consider additional restrictive measures"),
    ("the German chancellor", "It is a disgrace that we have been unable"),
    ("Kerry", "We have been trying to find a way to get to the negotiating table"),
]
# reported statements (no quotation marks around the whole), by hand
REPORTED = [
    (LAVROV, "Opposition fighters who refused to leave the area"),
    ("Moscow", "Russian and US officials would meet this week"),
    ("Russian state news agency TASS", "the Russian government supports the U.S. initiative"),
    ("Lavrov", "he and Kerry had reached agreement to restart the Geneva talks"),
    ("Assad", "a rebel loss in Aleppo"),
    (LEADERS, "they were “ready to consider"),
    ("the Syrian Observatory for Human Rights", "Assad’s forces, backed by foreign fighters"),
]


@pytest.fixture(scope="module")
def found(engine):
    return engine.quotes()


def test_every_quotation_is_listed_with_the_right_speaker(found):
    direct = [(a.speaker, a.text) for a in found if a.kind == "direct"]
    assert len(direct) == len(DIRECT) == ARTICLE.count("“")
    for (speaker, opening), (got_speaker, text) in zip(DIRECT, direct, strict=True):
        assert text.startswith(opening) and got_speaker == speaker, (text, got_speaker)


def test_reported_speech_is_listed_with_its_speaker(found):
    reported = {(a.speaker, a.text[:40]) for a in found if a.kind == "reported"}
    for speaker, opening in REPORTED:
        assert any(s == speaker and t.startswith(opening[:40]) for s, t in reported), (speaker, opening)


def test_offsets_and_evidence_are_exact(found):
    for a in found:
        assert ARTICLE[a.start : a.end] == a.text
        assert ARTICLE[a.evidence_start : a.evidence_end] == a.evidence
        assert a.speaker.split()[-1] in a.evidence or a.evidence.endswith("said")


def test_a_follow_on_quotation_names_the_earlier_attribution(found):
    landmark = next(a for a in found if a.text.startswith("It is a significant landmark"))
    assert landmark.evidence == "Assad said" and landmark.evidence_start < landmark.start


def test_filters_by_speaker_and_topic(engine):
    kerry = engine.quotes(speaker="kerry")
    assert [a.speaker for a in kerry] == ["Kerry"]
    assert {a.speaker for a in engine.quotes(speaker="Lavrov")} == {LAVROV, "Lavrov"}
    about = engine.quotes(about="Geneva talks")
    assert about and all("Geneva" in a.text for a in about)
    assert engine.quotes(speaker="Obama") == []


@pytest.fixture
def run(run_cli):
    """The CLI against a private copy of the ingested article (conftest.run_cli)."""
    return run_cli


def test_quotes_json_prints_one_object_per_line(run):
    result = run("quotes", "--json", "--speaker", "Kerry")
    assert result.exit_code == 0, result.output
    (obj,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert obj["speaker"] == "Kerry" and ARTICLE[obj["start"] : obj["end"]] == obj["text"]
    evidence = obj["attribution"]
    assert ARTICLE[evidence["start"] : evidence["end"]] == evidence["quote"] == "Kerry said"


def test_quotes_text_and_no_match(run):
    result = run("quotes", "--speaker", "chancellor")
    assert "the German chancellor (direct)" in result.stdout and "attributed by" in result.stdout
    assert run("quotes", "--speaker", "Obama").stdout.strip() == "No attributed speech found."


@pytest.mark.parametrize(
    "question, speaker, opening",
    [
        ("What did Kerry say?", "Kerry", "We have been trying"),
        ("What did Kerry say about Assad?", "Kerry", "We have been trying"),
        ("what did the German chancellor say", "the German chancellor", "It is a disgrace"),
    ],
)
def test_what_did_x_say_is_answered_from_the_speech_index(engine, question, speaker, opening):
    answer = engine.answer(question)
    assert answer.answerable and answer.note == "from the speech index (ragbot quotes)"
    assert answer.answer.startswith(f"{speaker}: “{opening}") and answer.answer.endswith("[1]")
    for c in answer.citations:
        assert ARTICLE[c.start : c.end] == c.quote and c.passage_id


@pytest.mark.parametrize(
    "question",
    [
        "What did Kerry say at a meeting of G20 finance ministers in Berlin?",  # said nothing on that
        "What did the UN Secretary-General say about the fighting in Aleppo?",  # not a speaker here
        "What did he say?",  # a pronoun needs the conversation
    ],
)
def test_other_speech_questions_take_the_usual_path(engine, question):
    assert engine.answer(question).note != "from the speech index (ragbot quotes)"
