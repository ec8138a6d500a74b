"""One file that cannot be used never stops a folder: the others are ingested, every skipped file is
listed with its typed reason, and the exit code tells an unsupported file (0) from a lost one (2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from retrieval.documents.ingest import ingest
from retrieval.storage.index import Index

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00\x1f\xf3\xffa"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbour.txt").write_text("The ferry to Skye leaves at noon. Tickets cost twelve pounds.\n", "utf-8")
    (docs / "image.txt").write_bytes(PNG)  # a binary file named .txt
    (docs / "notes.xlsx").write_bytes(b"PK\x03\x04")  # a kind ragbot does not read
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4")  # a PDF pypdf cannot read
    return docs


def test_the_readable_files_are_ingested_and_the_skips_typed(make_settings, embedder, folder):
    from retrieval.documents.load import SkipReason

    (folder / "nul.md").write_bytes(b"text with a \x00 NUL byte")  # valid UTF-8, still not text
    settings = make_settings()
    index = Index.open(settings, create=True, embedder=embedder)
    report = ingest(settings, [folder], index=index)
    assert report.added == report.files == 1 and report.passages > 0
    reasons = {s.path.name: s.reason for s in report.skipped}
    assert reasons == {
        "image.txt": SkipReason.BINARY,
        "nul.md": SkipReason.BINARY,
        "notes.xlsx": SkipReason.UNSUPPORTED,
        "broken.pdf": SkipReason.NOT_A_DOCUMENT,
    }
    assert {s.path.name for s in report.failed} == {"image.txt", "nul.md", "broken.pdf"}
    assert "4 file(s) skipped" in report.summary()


def test_a_file_that_became_unreadable_keeps_its_passages(make_settings, embedder, folder):
    (folder / "image.txt").unlink()
    (folder / "later.txt").write_text("The lighthouse was painted red in May.\n", encoding="utf-8")
    settings = make_settings()
    index = Index.open(settings, create=True, embedder=embedder)
    assert ingest(settings, [folder], index=index).added == 2
    (folder / "later.txt").write_bytes(PNG)
    report = ingest(settings, [folder], index=index)
    assert report.removed == 0 and [s.path.name for s in report.failed] == ["broken.pdf", "later.txt"]
    assert any(d.source.endswith("later.txt") for d in index.catalog.documents())


def test_the_cli_lists_every_skip_at_the_end_and_exits_2_only_for_lost_files(tmp_path, monkeypatch, folder):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAGBOT_CHROMA_PATH", str(tmp_path / "store"))
    result = CliRunner().invoke(cli, ["ingest", "docs"], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert "1 new" in result.stdout
    lines = result.stderr.splitlines()
    assert lines[-4].startswith("skipped docs/broken.pdf: not a PDF or Word file ragbot can read (pypdf ")
    assert lines[-3] == "skipped docs/image.txt: a binary file, not text (it holds NUL bytes)"
    assert lines[-2] == "skipped docs/notes.xlsx: not a .txt, .md, .html, .pdf or .docx file"
    assert lines[-1] == "ragbot: 2 file(s) could not be read (listed above)"
    listing = CliRunner().invoke(cli, ["sources"], catch_exceptions=False)
    assert "docs/harbour.txt" in listing.stdout and "image.txt" not in listing.stdout

    (folder / "image.txt").unlink()
    (folder / "broken.pdf").unlink()
    again = CliRunner().invoke(cli, ["ingest", "docs"], catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert again.stderr.splitlines() == ["skipped docs/notes.xlsx: not a .txt, .md, .html, .pdf or .docx file"]
