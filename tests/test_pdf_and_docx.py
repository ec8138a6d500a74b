"""PDF and Word files: built at test time (fpdf2, python-docx), ingested for real, answered and cited
from the right file and page, offsets exact against the stored text; a PDF with no text layer is
skipped with that reason and the CLI exits 2 for it, as for other unreadable files."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from bot.cli import cli
from retrieval.documents.ingest import ingest
from retrieval.documents.load import SkipReason, load_document, load_or_skip
from retrieval.documents.split import split
from retrieval.documents.stored_text import document_text
from retrieval.engine import Engine
from retrieval.storage.index import Index
from tests.helpers import ROOT
from tests.helpers.documents import PDF_PAGES, write_docx, write_pdf, write_scan

SCHEMA = json.loads((ROOT / "tests" / "answer.schema.json").read_text(encoding="utf-8"))


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    docs = tmp_path / "docs"
    docs.mkdir()
    return docs


def test_a_pdf_keeps_its_pages_paragraphs_title_and_date(folder):
    doc = load_document(write_pdf(folder / "report.pdf"))
    assert doc.title == "Harbour report" and doc.date == "2025-04-02"
    for page in PDF_PAGES:
        for paragraph in page:
            assert paragraph in doc.text  # wrapped lines joined back: one paragraph, no line breaks inside
    passages = split(doc)
    assert len(passages) == 4
    assert [p.page for p in passages] == [1, 1, 2, 2]
    for p in passages:
        assert doc.text[p.start : p.end] == p.text and p.date == "2025-04-02"


def test_pdf_answers_cite_the_page(make_settings, embedder, folder):
    write_pdf(folder / "report.pdf")
    (folder / "other.txt").write_text("The lighthouse on the point was painted red in May.\n", encoding="utf-8")
    settings = make_settings()
    index = Index.open(settings, create=True, embedder=embedder)
    assert ingest(settings, [folder], index=index).added == 2
    answer = Engine(settings, index).answer("How much will the new pier cost?")
    first = answer.citations[0]
    assert first.source == "docs/report.pdf" and first.page == 2 and "4.5 million pounds" in first.quote
    assert first.title == "Harbour report" and first.date == "2025-04-02"
    obj = answer.to_json()
    jsonschema.Draft202012Validator(SCHEMA).validate(obj)
    assert obj["citations"][0]["page"] == 2
    text = document_text(index, "docs/report.pdf")
    for c in answer.citations:
        assert text[c.start : c.end] == c.quote
    other = Engine(settings, index).answer("What colour was the lighthouse painted?")
    assert other.citations[0].page is None and other.to_json()["citations"][0]["page"] is None


def test_a_pdf_without_a_text_layer_is_skipped_with_that_reason(make_settings, embedder, folder):
    write_scan(folder / "scan.pdf")
    skipped = load_or_skip(folder / "scan.pdf")
    assert not hasattr(skipped, "text") and skipped.reason is SkipReason.NO_TEXT_LAYER
    write_pdf(folder / "report.pdf")
    settings = make_settings()
    index = Index.open(settings, create=True, embedder=embedder)
    report = ingest(settings, [folder], index=index)
    assert report.added == 1 and [s.path.name for s in report.failed] == ["scan.pdf"]
    assert index.catalog.document("docs/scan.pdf") is None  # not ingested empty


def test_the_cli_skips_a_scan_exits_2_and_shows_the_page(folder, tmp_path, monkeypatch):
    (tmp_path / ".ragbot").mkdir()
    write_pdf(folder / "report.pdf")
    write_scan(folder / "scan.pdf")
    runner = CliRunner()
    result = runner.invoke(cli, ["ingest", "docs"], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert "skipped docs/scan.pdf: a PDF with no text layer" in result.stderr
    assert "1 new" in result.stdout
    asked = runner.invoke(cli, ["ask", "How much will the new pier cost?"], catch_exceptions=False)
    assert asked.exit_code == 0, asked.output
    assert "docs/report.pdf p. 2" in asked.stdout and "Harbour report, 2025-04-02" in asked.stdout
    listing = runner.invoke(cli, ["sources"], catch_exceptions=False)
    assert "docs/report.pdf — Harbour report (2025-04-02)" in listing.stdout


def test_a_word_file_keeps_paragraph_numbers_and_headings_as_titles(make_settings, embedder, folder):
    doc = load_document(write_docx(folder / "memo.docx"))
    assert doc.title == "School budget memo"
    assert "Transport" not in doc.text and "School budget memo" not in doc.text
    assert "Bus passes | 300,000" in doc.text
    passages = {p.text: p for p in split(doc)}
    roofs = passages["The council will spend two million pounds on school roofs next year."]
    passes = passages["Free bus passes for pupils will cost the council 300,000 pounds a year."]
    assert (roofs.paragraph, passes.paragraph) == (2, 4)  # the file's paragraphs: title 1, heading 3
    assert passes.title == "School budget memo: Transport" and passes.page is None
    settings = make_settings()
    index = Index.open(settings, create=True, embedder=embedder)
    ingest(settings, [folder], index=index)
    answer = Engine(settings, index).answer("How much will free bus passes for pupils cost?")
    first = answer.citations[0]
    assert first.source == "docs/memo.docx" and "300,000 pounds" in first.quote and first.paragraph == 4
    assert document_text(index, "docs/memo.docx")[first.start : first.end] == first.quote


def test_a_damaged_word_file_is_skipped_not_fatal(folder):
    (folder / "memo.docx").write_bytes(b"PK\x03\x04 not really a zip")
    skipped = load_or_skip(folder / "memo.docx")
    assert skipped.reason is SkipReason.NOT_A_DOCUMENT


def test_discord_shows_the_page_title_and_date_of_a_pdf_citation(make_settings, embedder, folder, tmp_path):
    from bot.discord_bot.embeds import answer_reply
    from bot.discord_bot.feedback import FeedbackStore
    from bot.discord_bot.sources import sources_messages

    write_pdf(folder / "report.pdf")
    settings = make_settings()
    index = Index.open(settings, create=True, embedder=embedder)
    ingest(settings, [folder], index=index)
    engine = Engine(settings, index)
    answer = engine.answer("How much will the new pier cost?")
    embed = answer_reply(answer, engine.thresholds).embed
    assert embed.fields[0].name == "[1] Harbour report, 2025-04-02 · report.pdf p. 2"
    store = FeedbackStore(tmp_path / "discord.sqlite3")
    try:
        record = store.get(store.add(answer, user_id=1))  # kept and read back, as the Sources button does
        assert record is not None
        text = "\n".join(sources_messages(record))
    finally:
        store.close()
    assert "**[1]** Harbour report, 2025-04-02 · `report.pdf` p. 2 · chars" in text
