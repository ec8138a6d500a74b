"""The catalog's schema version: a store written before versions (catalog version 0: no page, line or
date columns, no stored texts) is migrated in place when opened and answers as before; a store
from a newer ragbot is refused with a typed error naming the exact command that rebuilds it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from retrieval.documents.ingest import ingest
from retrieval.documents.stored_text import document_text
from retrieval.engine import Engine
from retrieval.errors import InputError, StoreVersionError
from retrieval.storage.catalog import CATALOG_VERSION, Catalog
from retrieval.storage.index import Index, catalog_path

# The catalog as ragbot wrote it before it had a version (user_version 0).
VERSION_0 = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE passages(
    rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, source TEXT NOT NULL, title TEXT NOT NULL,
    paragraph INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    live INTEGER NOT NULL DEFAULT 0);
CREATE INDEX passages_source ON passages(source, live);
CREATE VIRTUAL TABLE fts USING fts5(
    text, content='passages', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2');
CREATE TRIGGER passages_ai AFTER INSERT ON passages BEGIN
    INSERT INTO fts(rowid, text) VALUES (new.rowid, new.text); END;
CREATE TRIGGER passages_ad AFTER DELETE ON passages BEGIN
    INSERT INTO fts(fts, rowid, text) VALUES ('delete', old.rowid, old.text); END;
CREATE VIRTUAL TABLE fts_vocab USING fts5vocab(fts, 'row');
CREATE TABLE documents(
    source TEXT PRIMARY KEY, title TEXT NOT NULL, doc_hash TEXT NOT NULL, passages INTEGER NOT NULL,
    ingested_at TEXT NOT NULL);
"""
FERRY = "The ferry to Skye leaves at noon. Tickets cost twelve pounds for adults.\n"


@pytest.fixture
def old_store(make_settings, embedder, tmp_path, monkeypatch):
    """A store whose Chroma vectors are current and whose catalog is rewritten in the version-0 format."""
    monkeypatch.chdir(tmp_path)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "ferry.txt").write_text(FERRY, encoding="utf-8")
    settings = make_settings()
    index = Index.open(settings, create=True, embedder=embedder)
    ingest(settings, [docs], index=index)
    index.close()
    path = catalog_path(settings)
    new = sqlite3.connect(path)
    passages = new.execute('SELECT id, source, title, paragraph, start, "end", text, live FROM passages').fetchall()
    documents = new.execute("SELECT source, title, doc_hash, passages, ingested_at FROM documents").fetchall()
    meta = new.execute("SELECT key, value FROM meta").fetchall()
    new.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    old = sqlite3.connect(path)
    old.executescript(VERSION_0)
    old.executemany(
        'INSERT INTO passages(id, source, title, paragraph, start, "end", text, live) VALUES (?,?,?,?,?,?,?,?)',
        passages,
    )
    old.executemany("INSERT INTO documents VALUES (?,?,?,?,?)", documents)
    old.executemany("INSERT INTO meta VALUES (?,?)", meta)
    old.commit()
    assert old.execute("PRAGMA user_version").fetchone()[0] == 0
    old.close()
    return settings, docs


def test_an_old_store_is_migrated_in_place_and_answers_as_before(old_store, embedder):
    settings, docs = old_store
    index = Index.open(settings, embedder=embedder)
    db = sqlite3.connect(catalog_path(settings))
    assert db.execute("PRAGMA user_version").fetchone()[0] == CATALOG_VERSION
    columns = {r[1] for r in db.execute("PRAGMA table_info(passages)")}
    assert {"page", "line", "date"} <= columns
    db.close()
    answer = Engine(settings, index).answer("How much do ferry tickets to Skye cost?")
    assert "twelve pounds" in answer.citations[0].quote and answer.citations[0].page is None
    with pytest.raises(InputError, match=r"keeps no text for docs/ferry.txt.*ragbot ingest docs/ferry.txt"):
        document_text(index, "docs/ferry.txt")
    report = ingest(settings, [docs], index=index)
    assert report.unchanged == 1 and report.embedded == 0  # nothing re-embedded; the text is stored now
    assert document_text(index, "docs/ferry.txt") == FERRY
    index.close()
    Catalog(catalog_path(settings)).close()  # opening a migrated catalog again changes nothing


def test_a_store_from_a_newer_ragbot_is_refused_with_the_rebuild_command(old_store, embedder):
    settings, docs = old_store
    Index.open(settings, embedder=embedder).close()  # migrated to the current version
    db = sqlite3.connect(catalog_path(settings))
    db.execute(f"PRAGMA user_version = {CATALOG_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreVersionError) as raised:
        Index.open(settings, embedder=embedder)
    assert raised.value.command == "ragbot ingest --rebuild docs/ferry.txt"
    assert "newer ragbot" in str(raised.value) and "`ragbot ingest --rebuild docs/ferry.txt`" in str(raised.value)


def test_a_migration_that_fails_is_refused_not_half_done(tmp_path):
    path = tmp_path / "catalog.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(VERSION_0.replace("ingested_at TEXT NOT NULL);", "ingested_at TEXT NOT NULL, date TEXT);"))
    db.execute("INSERT INTO documents VALUES ('notes/a b.md', 'A', 'h', 1, 'now', '')")
    db.commit()
    db.close()
    with pytest.raises(StoreVersionError, match=r"could not be migrated.*`ragbot ingest --rebuild 'notes/a b.md'`"):
        Catalog(path)
    db = sqlite3.connect(path)
    columns = {r[1] for r in db.execute("PRAGMA table_info(passages)")}
    assert "page" not in columns and db.execute("PRAGMA user_version").fetchone()[0] == 0  # rolled back
    db.close()


def test_the_cli_names_the_command_and_the_command_rebuilds(old_store, tmp_path, monkeypatch, embedder):
    settings, docs = old_store
    Index.open(settings, embedder=embedder).close()
    db = sqlite3.connect(catalog_path(settings))
    db.execute(f"PRAGMA user_version = {CATALOG_VERSION + 1}")
    db.commit()
    db.close()
    monkeypatch.setenv("RAGBOT_CHROMA_PATH", str(settings.chroma_path))
    runner = CliRunner()
    refused = runner.invoke(cli, ["ask", "How much do ferry tickets cost?"], catch_exceptions=False)
    assert refused.exit_code == 1 and "ragbot ingest --rebuild docs/ferry.txt" in refused.stderr
    rebuilt = runner.invoke(cli, ["ingest", "--rebuild", "docs/ferry.txt"], catch_exceptions=False)
    assert rebuilt.exit_code == 0, rebuilt.output
    asked = runner.invoke(cli, ["ask", "How much do ferry tickets cost?"], catch_exceptions=False)
    assert asked.exit_code == 0 and "twelve pounds" in asked.stdout
