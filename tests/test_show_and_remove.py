"""Opening a citation and removing documents, through the CLI, for every kind of document.

For each kind (UTF-8, Latin-1 and UTF-16 text, Markdown with front matter, a saved web page, a PDF,
a Word file and a URL), a question is answered and cited from the right document, and every
citation's offsets are exact against what `ragbot show --text SOURCE` prints. `ragbot show SOURCE
--start N --end M` shows the quote in its paragraph and says when the file changed since ingest;
`ragbot remove` drops a document without a rebuild and refuses an unknown one, losing nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from tests.helpers.documents import write_docx, write_pdf
from tests.helpers.web_server import WebServer
from tests.test_document_kinds import LATIN1, PAGES

FRONT_MATTER_MD = """---
title: Bees for hire
date: 2024-03-18
author: Field desk
---
# Almond season

Almond growers in **California** rent hives each spring, according to the [USDA report](https://example.org/r).

## Prices

- Almond growers pay **$230 per hive** for the pollination season.
- Beekeepers truck *two million* hives across the country each February.
"""

KINDS = {
    # source: (question, a phrase the first citation holds)
    "docs/ferry.txt": ("How late does the Stornoway ferry leave?", "half past nine"),
    "docs/market.txt": ("How many stallholders does the market employ?", "312 stallholders"),
    "docs/museum.txt": ("When did the Bergen museum open its Viking ship hall?", "1926"),
    "docs/bees.md": ("How much do almond growers pay per hive?", "$230 per hive"),
    "docs/rail.html": ("How many union members voted for the rail strike?", "40,000"),
    "docs/report.pdf": ("How much will the new pier cost?", "4.5 million pounds"),
    "docs/memo.docx": ("How much will free bus passes for pupils cost?", "300,000 pounds"),
    "URL": ("Who is the harbour master at Mallaig?", "Ailsa Reid"),
}


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".ragbot").mkdir()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "ferry.txt").write_text("The last ferry to Stornoway leaves at half past nine.\n", encoding="utf-8")
    (docs / "market.txt").write_bytes(LATIN1.encode("latin-1"))
    (docs / "museum.txt").write_bytes("The Bergen museum opened its Viking ship hall in 1926.\n".encode("utf-16"))
    (docs / "bees.md").write_text(FRONT_MATTER_MD, encoding="utf-8")
    shutil.copy(PAGES / "rail.html", docs / "rail.html")
    write_pdf(docs / "report.pdf")
    write_docx(docs / "memo.docx")
    with WebServer() as web:
        web.pages["/harbour"] = (200, "text/html", (PAGES / "harbour.html").read_bytes())
        yield tmp_path, web.url("/harbour")


def ragbot(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_every_kind_is_cited_exactly_against_show_text(root):
    _, url = root
    result = ragbot("ingest", "docs", url)
    assert result.exit_code == 0, result.output
    assert "8 file(s): 8 new" in result.stdout
    for source, (question, phrase) in KINDS.items():
        source = url if source == "URL" else source
        answer = json.loads(ragbot("ask", "--json", question).stdout)
        citations = answer["citations"]
        assert citations and citations[0]["source"] == source and phrase in citations[0]["quote"], (source, answer)
        for c in citations:
            shown = ragbot("show", "--text", c["source"])
            assert shown.exit_code == 0, shown.output
            assert shown.stdout[c["start"] : c["end"]] == c["quote"], c
        if source == "docs/report.pdf":
            assert citations[0]["page"] == 2
        else:
            assert citations[0]["page"] is None
    assert ragbot("show", "--text", "docs/market.txt").stdout == LATIN1  # decoded, nothing added
    assert ragbot("show", "--text", "docs/ferry.txt").stdout == (root[0] / "docs/ferry.txt").read_text("utf-8")


def test_markdown_front_matter_is_metadata_and_lines_point_into_the_file(root):
    tmp_path, _ = root
    assert ragbot("ingest", "docs/bees.md").exit_code == 0
    answer = json.loads(ragbot("ask", "--json", "How much do almond growers pay per hive?").stdout)
    first = answer["citations"][0]
    assert first["title"] == "Bees for hire: Prices" and first["date"] == "2024-03-18"
    lines = FRONT_MATTER_MD.splitlines()
    assert "$230 per hive" in lines[first["line"] - 1]  # the line in the file, front matter counted
    text = ragbot("show", "--text", "docs/bees.md").stdout
    assert "Field desk" not in text and "---" not in text and not text.startswith("title")
    shown = ragbot("show", "docs/bees.md", "--start", str(first["start"]), "--end", str(first["end"]))
    assert shown.exit_code == 0, shown.output
    assert f"line {first['line']}" in shown.stdout and "Bees for hire: Prices, 2024-03-18" in shown.stdout
    plain = ragbot("ask", "How much do almond growers pay per hive?").stdout
    assert f"docs/bees.md line {first['line']}" in plain and "Bees for hire: Prices, 2024-03-18" in plain


def test_show_prints_the_paragraph_highlights_the_quote_and_says_when_the_file_changed(root, monkeypatch):
    tmp_path, _ = root
    ragbot("ingest", "docs/rail.html", "docs/report.pdf")
    answer = json.loads(ragbot("ask", "--json", "How many union members voted for the rail strike?").stdout)
    c = answer["citations"][0]
    with monkeypatch.context() as colour:
        colour.setenv("FORCE_COLOR", "1")
        result = ragbot("show", "docs/rail.html", "--start", str(c["start"]), "--end", str(c["end"]))
    assert result.exit_code == 0, result.output
    assert f"\x1b[1;7m{c['quote'][:20]}" in result.stdout  # the quote in bold reverse video
    text = ragbot("show", "--text", "docs/rail.html").stdout
    paragraph = next(p for p in text.split("\n") if c["quote"] in p)
    plain = ragbot("show", "docs/rail.html", "--start", str(c["start"]), "--end", str(c["end"])).stdout
    assert " ".join(paragraph.split()) in " ".join(plain.split())  # the whole paragraph, not just the quote
    assert "note:" not in plain

    page = ragbot("ask", "--json", "How much will the new pier cost?").stdout
    pier = json.loads(page)["citations"][0]
    shown = ragbot("show", "docs/report.pdf", "--start", str(pier["start"]), "--end", str(pier["end"])).stdout
    assert "docs/report.pdf · p. 2" in shown and "Harbour report, 2025-04-02" in shown

    (tmp_path / "docs/rail.html").write_text("<html><body><p>Rewritten.</p></body></html>", encoding="utf-8")
    changed = ragbot("show", "docs/rail.html", "--start", str(c["start"]), "--end", str(c["end"])).stdout
    assert "the file changed since it was ingested" in changed and c["quote"] in " ".join(changed.split())
    assert ragbot("show", "--text", "docs/rail.html").stdout == text  # the text stored at ingest

    bad = ragbot("show", "docs/rail.html", "--start", "5", "--end", "999999")
    assert bad.exit_code == 2 and "is not a span of docs/rail.html" in bad.stderr
    missing = ragbot("show", "docs/rail.html")
    assert missing.exit_code == 2 and "--start N --end M" in missing.stderr


def test_remove_drops_a_document_without_a_rebuild_and_refuses_unknown_sources(root, monkeypatch):
    tmp_path, url = root
    ragbot("ingest", "docs/ferry.txt", "docs/report.pdf", url)
    unknown = ragbot("remove", "docs/ferry.txt", "docs/nothing.txt")
    assert unknown.exit_code == 2 and "docs/nothing.txt is not in the store" in unknown.stderr
    assert "docs/ferry.txt" in ragbot("sources").stdout  # nothing lost
    removed = ragbot("remove", "docs/ferry.txt", url)
    assert removed.exit_code == 0, removed.output
    assert removed.stdout.splitlines() == ["removed docs/ferry.txt (1 passage)", f"removed {url} (3 passages)"]
    listing = ragbot("sources").stdout
    assert "docs/ferry.txt" not in listing and url not in listing and "docs/report.pdf" in listing
    answer = json.loads(ragbot("ask", "--json", "How late does the Stornoway ferry leave?").stdout)
    assert all(c["source"] == "docs/report.pdf" for c in answer["citations"])
    assert ragbot("show", "--text", "docs/ferry.txt").exit_code == 2
    (tmp_path / "docs/sub").mkdir()
    (tmp_path / "docs/sub/notes.txt").write_text("The pier opened in 1901.\n", encoding="utf-8")
    ragbot("ingest", "docs/sub")
    monkeypatch.chdir(tmp_path / "docs")  # a path from a subfolder names the same document
    assert ragbot("remove", "sub/notes.txt").stdout == "removed docs/sub/notes.txt (1 passage)\n"
