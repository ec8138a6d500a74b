"""Pure parts of the core: sentence spans, paragraphs and passage offsets, loading, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.documents.load import find_files
from retrieval.documents.load import load_document as load
from retrieval.documents.split import CHUNK_CHARS, paragraphs, split
from retrieval.errors import ConfigError, InputError
from retrieval.schema import Document
from retrieval.settings import Settings, load_settings
from retrieval.text import sentence_spans
from tests.helpers import ARTICLE


def test_sentence_spans_keep_quotes_and_abbreviations_together():
    text = "He said it was “over”. The U.S. accused Russia. Mr. Smith left! Did he? “Yes”."
    spans = [text[s:e] for s, e in sentence_spans(text)]
    assert spans == ["He said it was “over”.", "The U.S. accused Russia.", "Mr. Smith left!", "Did he?", "“Yes”."]


def test_sentence_spans_respect_offsets_and_lines():
    text = "Title line\nFirst one. Second one.\n\nThird."
    spans = sentence_spans(text, 11)
    assert [text[s:e] for s, e in spans] == ["First one.", "Second one.", "Third."]


def test_paragraphs_use_lines_without_blank_lines_and_blocks_with_them():
    assert len(paragraphs("a\nb\nc")) == 3
    text = "para one\nstill one\n\npara two"
    assert [text[s:e] for s, e in paragraphs(text)] == ["para one\nstill one", "para two"]


def test_split_offsets_are_exact_and_passages_are_small():
    doc = load(ARTICLE)
    passages = split(doc)
    assert len(passages) >= 20
    for p in passages:
        assert doc.text[p.start : p.end] == p.text
        assert len(p.text) <= CHUNK_CHARS or "\n" not in p.text
    assert len({p.id for p in passages}) == len(passages)
    assert [p.paragraph for p in passages] == sorted(p.paragraph for p in passages)


def test_split_breaks_long_paragraphs_at_sentences():
    sentence = "The quick brown fox jumps over the lazy dog near the river bank today. "
    text = sentence * 12
    doc = Document(source="x.txt", title="x", text=text)
    passages = split(doc)
    assert len(passages) > 1
    for p in passages:
        assert text[p.start : p.end] == p.text
        assert len(p.text) <= CHUNK_CHARS
        assert p.text.endswith(".")


def test_html_offsets_refer_to_extracted_text(tmp_path: Path):
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Harbour news</title><script>var x=1;</script></head>"
        "<body><h1>Harbour</h1><p>The ferry leaves at <b>noon</b> every day.</p></body></html>",
        encoding="utf-8",
    )
    doc = load(page)
    assert doc.title == "Harbour news"
    assert "var x" not in doc.text
    for p in split(doc):
        assert doc.text[p.start : p.end] == p.text


def test_find_files_skips_other_files_and_q_and_a_sets(tmp_path: Path):
    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    (tmp_path / "b.md").write_text("x", encoding="utf-8")
    (tmp_path / "c.xlsx").write_bytes(b"PK")
    (tmp_path / "d.pdf").write_bytes(b"%PDF")
    (tmp_path / "qa.jsonl").write_text("{}", encoding="utf-8")
    found, skipped = find_files([tmp_path])
    assert sorted(p.name for p in found) == ["a.txt", "b.md", "d.pdf"]
    assert [p.name for p in skipped] == ["c.xlsx"]


def test_missing_path_is_an_input_error(tmp_path: Path):
    with pytest.raises(InputError, match="no such file"):
        find_files([tmp_path / "nope.txt"])


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("RAGBOT_TOP_K", "many", "RAGBOT_TOP_K"),
        ("RAGBOT_COLLECTION", "x", "RAGBOT_COLLECTION"),
        ("RAGBOT_REFUSAL_THRESHOLD", "2", "RAGBOT_REFUSAL_THRESHOLD"),
        ("RAGBOT_LOG_LEVEL", "LOUD", "RAGBOT_LOG_LEVEL"),
    ],
)
def test_invalid_settings_name_the_variable(monkeypatch, tmp_path, name, value, shown):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=shown):
        load_settings()


def test_dotenv_is_read_and_unrelated_keys_ignored(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("RAGBOT_TOP_K=7\nOPENAI_API_KEY=sk-test\nSOMETHING_ELSE=1\n", encoding="utf-8")
    settings = load_settings()
    assert settings.top_k == 7
    assert not hasattr(settings, "openai_api_key")
    assert Settings.of().top_k == 5


@pytest.mark.parametrize(
    ("question", "several"),
    [
        ("Which news agency carried it?", False),
        ("Which news agency carried Lavrov's remarks?", False),
        ("What was the outcome of the meeting?", False),
        ("What does Russia want?", False),
        ("Which news agencies are cited?", True),
        ("Which countries' leaders signed the statement?", True),
        ("What kind of penalties did they weigh?", True),
        ("List the leaders who called for a cease-fire", True),
    ],
)
def test_list_questions_are_told_from_single_answer_ones(question, several):
    from retrieval.answering.question import asks_for_several

    assert asks_for_several(question) is several


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many civilians were killed?", "count"),
        ("On what exact date did it happen?", "time"),
        ("When was the statement issued?", "time"),
        ("Where did Interfax report from?", "name"),
        ("What is the name of the German chancellor?", "name"),
        ("What percentage of east Aleppo was seized?", "percent"),
        ("How did Lavrov say fighters who refused to leave would be treated?", None),
        ("Who blocked the resolution?", None),
    ],
)
def test_expected_answer_types(question, kind):
    from retrieval.answering.answer_types import expected_type

    assert expected_type(question) == kind


def test_answer_type_needs_a_token_the_question_lacks():
    from retrieval.answering.answer_types import has_type

    q = "How many members voted for the seven-day cease-fire?"
    assert not has_type("count", "a resolution for a seven-day cease-fire was blocked", q)
    assert has_type("count", "twelve members voted for it", q)
    assert not has_type("count", "forces seized about 80% of the city since 2012", "How many died?")
    assert has_type("time", "the talks restart on Saturday", "When do talks restart?")
