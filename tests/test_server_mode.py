"""Server mode against a real `chroma run` on a loopback port: ingest, answer, and two clients.

Each "machine" is a separate local cache directory (XDG_CACHE_HOME), so a second client shares
nothing with the first but the Chroma server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import ARTICLE, ROOT
from tests.helpers.chroma_server import ChromaRun, free_port


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory) -> Iterator[int]:
    """A real Chroma server on a free loopback port; stopped by its PID when the module ends."""
    server = ChromaRun(tmp_path_factory.mktemp("chroma-server"))
    yield server.port
    server.stop()


@pytest.fixture
def server_settings(chroma_server, make_settings, request):
    """Settings for a fresh collection on the server (one per test)."""
    name = "t-" + request.node.name.replace("_", "-")[:40] + "-x"

    def make(**overrides):
        return make_settings(chroma_host="127.0.0.1", chroma_port=chroma_server, collection=name, **overrides)

    return make


def _open_as(machine: Path, settings, embedder, monkeypatch, *, create: bool = False):
    """Open the index as a client whose local cache lives under `machine`."""
    from retrieval.storage.index import Index

    monkeypatch.setenv("XDG_CACHE_HOME", str(machine))
    return Index.open(settings, create=create, embedder=embedder)


def test_ingest_and_answer_through_the_server_and_a_second_process(server_settings, embedder, tmp_path, monkeypatch):
    from retrieval.documents.ingest import ingest
    from retrieval.engine import Engine
    from retrieval.storage.vectors import make_client

    settings = server_settings()
    index = _open_as(tmp_path / "machine-a", settings, embedder, monkeypatch, create=True)
    report = ingest(settings, [ROOT / "seeds"], index=index)
    assert report.added == 1 and report.passages > 20
    assert not (settings.chroma_path).exists()  # nothing local but the cache: the vectors are on the server
    assert make_client(settings).get_collection(settings.collection).count() == report.passages

    question = "From which city did Interfax report Lavrov's comments?"
    answer = Engine(settings, index).answer(question)
    assert answer.answerable and answer.citations
    text = ARTICLE.read_text(encoding="utf-8")
    for c in answer.citations:
        assert text[c.start : c.end] == c.quote
    assert any("Hamburg" in c.quote for c in answer.citations)

    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(tmp_path / "machine-b"),
        "RAGBOT_CHROMA_HOST": "127.0.0.1",
        "RAGBOT_CHROMA_PORT": str(settings.chroma_port),
        "RAGBOT_COLLECTION": settings.collection,
        "RAGBOT_SEEDS_DIR": str(tmp_path / "no-seeds"),  # the second process must not ingest anything
        "RAGBOT_LLM_MODEL": "",
    }
    ragbot = [sys.executable, "-c", "from bot.cli import main; main()"]
    out = subprocess.run(
        [*ragbot, "ask", "--json", question], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    theirs = json.loads(out.stdout)
    assert theirs["answerable"]
    assert [(c["source"], c["start"], c["end"], c["quote"]) for c in theirs["citations"]] == [
        (c.source, c.start, c.end, c.quote) for c in answer.citations
    ]
    listing = subprocess.run([*ragbot, "sources"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0, listing.stderr
    assert f"{report.passages}  in 1 document(s)" in listing.stdout
    assert (tmp_path / "machine-b" / "ragbot" / "catalogs").is_dir()


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _lexical(index, word: str) -> set[str]:
    return {p.source.rsplit("/", 1)[-1] for p, _ in index.catalog.search(word, 20)}


def _hybrid(index, text: str, k: int = 5):
    from retrieval.answering.retrieve import Query, retrieve

    return retrieve(index, Query(text=text, vector=index.embedder.embed_array([text])[0]), k)


def test_a_change_on_one_client_is_seen_by_another_for_dense_and_lexical(
    server_settings, embedder, tmp_path, monkeypatch
):
    from retrieval.documents.ingest import ingest

    settings = server_settings()
    docs = tmp_path / "docs"
    _write(docs, "harbour.txt", "Harbour\n\nThe zebracorn ferry leaves the harbour at dawn.\n\nIt returns at noon.\n")
    _write(docs, "market.txt", "Market\n\nThe grain market opened with record prices for wheat.\n")
    _write(docs, "mayor.txt", "Mayor\n\nThe mayor opened a new library in the old town hall.\n")

    a = _open_as(tmp_path / "machine-a", settings, embedder, monkeypatch, create=True)
    ingest(settings, [docs], index=a)
    b = _open_as(tmp_path / "machine-b", settings, embedder, monkeypatch)
    assert _lexical(b, "zebracorn") == {"harbour.txt"}
    assert _lexical(b, "wheat") == {"market.txt"}
    mayor_rowid = b.catalog._rows("SELECT rowid FROM passages WHERE text LIKE '%mayor%'")
    generation = b.catalog.generation

    # client A: one file changed, one removed, one untouched
    _write(docs, "harbour.txt", "Harbour\n\nThe quokkafish ferry leaves the harbour at dusk.\n\nIt returns at noon.\n")
    (docs / "market.txt").unlink()
    report = ingest(settings, [docs], index=a)
    assert (report.updated, report.removed, report.unchanged) == (1, 1, 1)

    # client B sees it at its next retrieval, on both sides, without rebuilding its catalog
    hits = _hybrid(b, "quokkafish ferry at dusk")
    assert hits[0].passage.text == "The quokkafish ferry leaves the harbour at dusk."
    assert hits[0].dense > 0.5 and hits[0].lexical > 0
    assert _lexical(b, "zebracorn") == set() and _lexical(b, "wheat") == set()
    assert not any(
        "market" in h.passage.source or "zebracorn" in h.passage.text for h in _hybrid(b, "record wheat prices")
    )
    dense_ids = {i for i, _ in b.vectors.query(embedder.embed_array(["grain market wheat prices"])[0], 10)}
    assert dense_ids == set(b.catalog.passages(list(dense_ids)))  # every vector on the server is live for B
    assert [(d.source, d.doc_hash, d.passages) for d in b.catalog.documents()] == [
        (d.source, d.doc_hash, d.passages) for d in a.catalog.documents()
    ]
    live_rows = b.catalog._rows("SELECT count(*) FROM passages WHERE live = 1")[0][0]
    assert b.catalog.live_count() == a.catalog.live_count() == live_rows == 5  # titles are passages too
    assert b.catalog._rows("SELECT rowid FROM passages WHERE text LIKE '%mayor%'") == mayor_rowid
    assert b.catalog.generation == generation + 2  # one entry for the change, one for the removal


def test_a_rebuild_on_one_client_replaces_the_cache_of_another(server_settings, embedder, tmp_path, monkeypatch):
    from retrieval.documents.ingest import ingest

    settings = server_settings()
    old, new = tmp_path / "old", tmp_path / "new"
    _write(old, "a.txt", "Alpha\n\nThe lighthouse keeper painted the lamp room blue.\n")
    _write(new, "b.txt", "Beta\n\nThe orchestra rehearsed the symphony in the cathedral.\n")
    a = _open_as(tmp_path / "machine-a", settings, embedder, monkeypatch, create=True)
    ingest(settings, [old], index=a)
    b = _open_as(tmp_path / "machine-b", settings, embedder, monkeypatch)
    assert _lexical(b, "lighthouse") == {"a.txt"}

    a.close()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "machine-a"))
    ingest(settings, [new], rebuild=True)

    hits = _hybrid(b, "orchestra symphony rehearsal")
    assert {h.passage.source.rsplit("/", 1)[-1] for h in hits} == {"b.txt"}
    assert _lexical(b, "lighthouse") == set()
    assert [d.source.rsplit("/", 1)[-1] for d in b.catalog.documents()] == ["b.txt"]


def test_ask_without_an_ingested_collection_says_what_to_run(server_settings, embedder, tmp_path, monkeypatch):
    from retrieval.errors import StoreError

    settings = server_settings()
    with pytest.raises(StoreError, match="ragbot ingest"):
        _open_as(tmp_path / "machine-a", settings, embedder, monkeypatch)


def test_an_unreachable_server_is_a_store_error(make_settings, embedder, tmp_path, monkeypatch):
    from retrieval.errors import StoreError

    settings = make_settings(chroma_host="127.0.0.1", chroma_port=free_port())
    with pytest.raises(StoreError, match="127.0.0.1"):
        _open_as(tmp_path / "machine-a", settings, embedder, monkeypatch)


def test_vectors_without_a_change_log_are_adopted_by_an_ingest(server_settings, embedder, tmp_path, monkeypatch):
    """A collection written without the log (e.g. served from a local store) becomes usable after one ingest."""
    from retrieval.documents.ingest import ingest
    from retrieval.documents.load import load_document as load
    from retrieval.documents.split import split
    from retrieval.storage.vectors import VectorStore

    settings = server_settings()
    passages = split(load(ARTICLE))
    vectors = VectorStore.open(settings, embedder, create=True)
    vectors.upsert(passages, np.asarray(embedder.embed_array([p.text for p in passages])))
    from retrieval.errors import StoreError

    with pytest.raises(StoreError, match="change log"):
        _open_as(tmp_path / "machine-a", settings, embedder, monkeypatch)
    a = _open_as(tmp_path / "machine-a", settings, embedder, monkeypatch, create=True)
    report = ingest(settings, [ROOT / "seeds"], index=a)
    assert report.embedded == 0 and report.passages == len(passages)


def test_concurrent_writers_get_distinct_dense_log_numbers(server_settings, embedder):
    from concurrent.futures import ThreadPoolExecutor

    from retrieval.storage.changelog import ChangeLog, LogEntry
    from retrieval.storage.vectors import VectorStore

    settings = server_settings()
    vectors = VectorStore.open(settings, embedder, create=True)
    writers = [ChangeLog.open(vectors.client, settings, create=True) for _ in range(3)]

    def write(n: int) -> list[int]:
        log = writers[n]
        return [log.append(LogEntry(0, "remove", f"w{n}-{i}"), after=0) for i in range(6)]

    with ThreadPoolExecutor(3) as pool:
        numbers = [g for gens in pool.map(write, range(3)) for g in gens]
    assert sorted(numbers) == list(range(1, 19))
    entries = writers[0].since(0)
    assert [e.generation for e in entries] == list(range(1, 19))
    assert sorted(e.source for e in entries) == sorted(f"w{n}-{i}" for n in range(3) for i in range(6))
    assert [e.source for e in writers[0].since(15)] == [e.source for e in entries[15:]]
