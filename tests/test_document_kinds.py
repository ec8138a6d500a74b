"""Documents as people have them: other encodings, Markdown as text, saved web pages without their
menus. Real files, a real ingest into a temporary store, and the offsets checked against
`read_text`, the text a citation points into (what ingest stored)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from retrieval.documents.ingest import ingest
from retrieval.documents.load import Skipped, SkipReason, load_document, load_or_skip, read_text
from retrieval.documents.split import split
from retrieval.engine import Engine
from retrieval.root import source_path
from retrieval.storage.index import Index

PAGES = Path(__file__).parent / "pages"

LATIN1 = (
    "Café owners in São Paulo said the naïve plan to close the Praça da Sé market would fail.\n"
    "The market employs 312 stallholders, according to the city council.\n"
)
CP1252 = (
    "The “Zürich” café reopened on Monday after three years of works.\n"
    "Its owner, Jürgen Maß, said the renovation cost 1.2 million euros – twice the estimate.\n"
)
MARKDOWN = """# Bees for hire

Almond growers in **California** rent hives each spring, according to the [USDA report](https://example.org/r).

## Prices

- Almond growers pay **$230 per hive** for the pollination season.
- Beekeepers truck *two million* hives across the country each February.

## Risks

> Losses of hives over the winter reached 48 percent last year, the survey found.
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # sources relative to tmp_path
    docs = tmp_path / "docs"
    docs.mkdir()
    return docs


def _engine(make_settings, embedder, paths: list[Path]) -> tuple[Engine, object]:
    settings = make_settings()
    index = Index.open(settings, create=True, embedder=embedder)
    report = ingest(settings, paths, index=index)
    return Engine(settings, index), report


def _check_citations(answer) -> None:
    assert answer.citations, answer.answer
    for c in answer.citations:
        assert read_text(source_path(c.source))[c.start : c.end] == c.quote


# --- encodings ---------------------------------------------------------------------------------


def test_latin1_and_cp1252_files_are_decoded_and_cited(make_settings, embedder, folder):
    (folder / "market.txt").write_bytes(LATIN1.encode("latin-1"))
    (folder / "cafe.md").write_bytes(CP1252.encode("cp1252"))
    (folder / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    (folder / "noise.txt").write_bytes(bytes(range(1, 256)) * 4)  # no NUL, but no encoding fits
    engine, report = _engine(make_settings, embedder, [folder])
    assert report.added == 2
    assert {s.path.name: s.reason for s in report.skipped} == {
        "image.txt": SkipReason.BINARY,
        "noise.txt": SkipReason.NOT_TEXT,
    }
    assert read_text(folder / "market.txt") == LATIN1
    assert load_document(folder / "cafe.md").text == CP1252.strip().replace("\n", " ")  # Markdown: one paragraph
    answer = engine.answer("How many stallholders does the market employ?")
    assert answer.citations[0].source == "docs/market.txt" and "312 stallholders" in answer.citations[0].quote
    _check_citations(answer)
    answer = engine.answer("How much did the renovation of the Zürich café cost?")
    assert "1.2 million euros" in answer.citations[0].quote
    _check_citations(answer)


def test_utf8_files_read_as_before_and_utf16_with_a_bom_is_decoded(folder):
    text = "\ufeffThe ferry to Skye leaves at noon; fares rose by 5 % (€2).\n"
    (folder / "bom.txt").write_bytes(text.encode("utf-8"))
    assert read_text(folder / "bom.txt") == (folder / "bom.txt").read_text(encoding="utf-8") == text
    (folder / "wide.txt").write_bytes("The ferry leaves at noon.\n".encode("utf-16"))
    assert read_text(folder / "wide.txt") == "The ferry leaves at noon.\n"
    (folder / "nul.txt").write_bytes(b"text with a \x00 NUL byte")
    skipped = load_or_skip(folder / "nul.txt")
    assert isinstance(skipped, Skipped) and skipped.reason is SkipReason.BINARY


def test_evaluation_reads_sources_back_with_the_same_decoding(folder):
    from bot.evaluation.run import source_text

    (folder / "market.txt").write_bytes(LATIN1.encode("latin-1"))
    (folder / "page.html").write_text((PAGES / "rail.html").read_text(encoding="utf-8"), encoding="utf-8")
    assert source_text("docs/market.txt") == LATIN1
    assert source_text("docs/page.html") == load_document(folder / "page.html").text


# --- Markdown ------------------------------------------------------------------------------------


def test_markdown_is_plain_text_and_headings_are_titles(folder):
    (folder / "bees.md").write_text(MARKDOWN, encoding="utf-8")
    doc = load_document(folder / "bees.md")
    assert doc.title == "Bees for hire"
    for mark in ("**", "*", "# ", "- ", "[", "](", ">", "https://"):
        assert mark not in doc.text, mark
    assert "Almond growers pay $230 per hive for the pollination season." in doc.text
    assert "Prices" not in doc.text and "Risks" not in doc.text
    passages = split(doc)
    for p in passages:
        assert doc.text[p.start : p.end] == p.text
    titles = {p.text.split(" ")[0]: p.title for p in passages}
    assert titles["Losses"] == "Bees for hire: Risks"
    assert any(p.title == "Bees for hire: Prices" for p in passages)


def test_markdown_answers_quote_clean_text(make_settings, embedder, folder):
    (folder / "bees.md").write_text(MARKDOWN, encoding="utf-8")
    engine, _ = _engine(make_settings, embedder, [folder])
    answer = engine.answer("How much do almond growers pay per hive?")
    assert "$230 per hive" in answer.citations[0].quote
    for c in answer.citations:
        assert "**" not in c.quote and not c.quote.startswith(("- ", "#")) and "Bees for hire" not in c.quote
    _check_citations(answer)


def test_a_changed_extraction_updates_the_stored_document(make_settings, embedder, folder, monkeypatch):
    import retrieval.documents.load as load

    (folder / "bees.md").write_text(MARKDOWN, encoding="utf-8")
    (folder / "plain.txt").write_text("The ferry leaves at noon.\n", encoding="utf-8")
    settings = make_settings()
    index = Index.open(settings, create=True, embedder=embedder)
    assert ingest(settings, [folder], index=index).added == 2
    assert ingest(settings, [folder], index=index).unchanged == 2
    monkeypatch.setattr(load, "EXTRACTION_VERSION", load.EXTRACTION_VERSION + 1)
    report = ingest(settings, [folder], index=index)
    assert (report.updated, report.unchanged) == (1, 1)  # the .md; plain text has no extractor

    (folder / "bees.md").write_text(MARKDOWN.replace("## Risks", "## Winter losses"), encoding="utf-8")
    report = ingest(settings, [folder], index=index)
    assert (report.updated, report.embedded) == (1, 1)  # the passage under the renamed heading
    titles = {p.title for p in index.catalog.passages(list(index.catalog.live_ids("docs/bees.md"))).values()}
    assert "Bees for hire: Winter losses" in titles and "Bees for hire: Risks" not in titles


# --- HTML ----------------------------------------------------------------------------------------

RAIL_PARAGRAPHS = (
    "walked out on Tuesday after talks with the operators",
    "more than 40,000 members had voted for the strike",
    "the most they could afford after two years of falling ticket",
    "The transport minister, Helen Carver, said she would meet both sides",
)
BOILERPLATE = (
    "cookies", "Accept", "Subscribe", "Sign in", "Most read", "Storm warning", "All rights reserved",
    "Privacy", "gtag", "dataLayer", "Sport", "newsletter", "Share this", "Facebook", "Terms", "partners",
)  # fmt: skip


@pytest.mark.parametrize("page", ["rail.html", "harbour.html"])
def test_saved_pages_keep_the_article_and_drop_the_boilerplate(page):
    doc = load_document(PAGES / page)
    passages = split(doc)
    for word in BOILERPLATE:
        assert word not in doc.text, word
    assert len(passages) == len(doc.text.splitlines()) <= 4  # one per article paragraph, no heading
    for p in passages:
        assert doc.text[p.start : p.end] == p.text
    if page == "rail.html":
        assert doc.title == "Rail workers strike over pay offer | The Morning Ledger"
        assert all(fragment in doc.text for fragment in RAIL_PARAGRAPHS)
        assert doc.date == "2026-03-10"  # its article:published_time
    else:
        assert "Ailsa Reid" in doc.text and "twelve pounds" in doc.text
        assert doc.date == ""  # no date stated: none guessed from the footer's "Copyright 2026"


def test_the_cookie_banner_answers_nothing_and_the_article_is_cited(make_settings, embedder, folder):
    for page in ("rail.html", "harbour.html"):
        shutil.copy(PAGES / page, folder / page)
    engine, report = _engine(make_settings, embedder, [folder])
    assert report.passages == 7
    cookies = engine.answer("Do you use cookies?")
    assert not any("cookie" in c.quote.lower() for c in cookies.citations)
    answer = engine.answer("How many union members voted for the rail strike?")
    assert answer.citations[0].source == "docs/rail.html" and "40,000" in answer.citations[0].quote
    _check_citations(answer)


def test_beautifulsoup_is_the_fallback_when_trafilatura_finds_nothing(folder, monkeypatch):
    import trafilatura

    monkeypatch.setattr(trafilatura, "extract", lambda *a, **k: None)
    doc = load_document(PAGES / "rail.html")
    assert "40,000 members" in doc.text and "Accept all cookies" in doc.text  # everything visible
    assert "gtag" not in doc.text


# --- Markdown front matter and source lines -----------------------------------------------------

NOTES = """---
title: "Harbour notes"
date: 2025-06-01
tags: [ferries]
---
# Ignored as title: front matter wins

The ferry leaves at noon
and returns at six.

- Tickets cost twelve pounds.
- Bikes travel free.

| Route | Fare |
| --- | --- |
| Mallaig | 12 |

```
timetable: summer
```
"""


def test_front_matter_is_metadata_and_every_block_keeps_its_line_in_the_file(folder):
    (folder / "notes.md").write_text(NOTES, encoding="utf-8")
    doc = load_document(folder / "notes.md")
    assert (doc.title, doc.date) == ("Harbour notes", "2025-06-01")
    assert "ferries" not in doc.text and "title:" not in doc.text and "---" not in doc.text
    lines = NOTES.splitlines()
    for offset, line in doc.lines:
        block = doc.text[offset:].split("\n", 1)[0]
        first_word = block.split()[0].strip("|")
        assert first_word in lines[line - 1], (block, line, lines[line - 1])
    found = {doc.text[offset:].split("\n", 1)[0]: line for offset, line in doc.lines}
    assert found["The ferry leaves at noon and returns at six."] == 8
    assert found["Tickets cost twelve pounds."] == 11 and found["Bikes travel free."] == 12
    assert found["Mallaig | 12"] == 16 and found["timetable: summer"] == 19
    passages = split(doc)
    assert {p.line for p in passages} >= {8, 11, 14} and all(p.date == "2025-06-01" for p in passages)


@pytest.mark.parametrize(
    ("source", "text", "title"),
    [
        ("---\ntitle: [unclosed\n---\nBody text here.\n", "Body text here.", "Body text here."),  # bad YAML: dropped
        (
            "---\n\nA rule above, not front matter.\n",
            "A rule above, not front matter.",
            "A rule above, not front matter.",
        ),
        ("---\n- a list\n---\nBody.\n", "Body.", "Body."),  # YAML that is not a mapping
    ],
)
def test_front_matter_that_is_not_a_mapping_or_not_closed(folder, source, text, title):
    (folder / "odd.md").write_text(source, encoding="utf-8")
    doc = load_document(folder / "odd.md")
    assert (doc.text, doc.title, doc.date) == (text, title, "")
