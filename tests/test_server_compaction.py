"""The server's change log is compacted without losing any client's view, and answering processes keep
answering, never with a stale answer once they have seen a change, while another process ingests.

Against a real `chroma run` on loopback; each client keeps its local cache under its own XDG_CACHE_HOME.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.helpers.chroma_server import ChromaRun

QUESTION = "When does the Vela ferry leave Pier 4?"
VERSIONS = ("seven", "nine", "eleven")  # the ferry's time in each version of the document


@pytest.fixture(scope="module")
def chroma(tmp_path_factory):
    server = ChromaRun(tmp_path_factory.mktemp("chroma-compaction"))
    yield server
    server.stop()


def _ferry(docs: Path, version: int) -> None:
    docs.mkdir(parents=True, exist_ok=True)
    (docs / "ferry.txt").write_text(
        f"Ferry timetable\n\nThe Vela ferry leaves Pier 4 at {VERSIONS[version]} every morning.\n\n"
        "Tickets are sold on board and cost four euros.\n",
        encoding="utf-8",
    )


def _settings(make_settings, chroma, name: str, **overrides):
    return make_settings(chroma_host="127.0.0.1", chroma_port=chroma.port, collection=name, **overrides)


def _open_as(machine: Path, settings, embedder, monkeypatch, *, create: bool = False):
    from retrieval.storage.index import Index

    monkeypatch.setenv("XDG_CACHE_HOME", str(machine))
    return Index.open(settings, create=create, embedder=embedder)


def _state(index) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(d.source, d.doc_hash, tuple(sorted(index.catalog.live_ids(d.source)))) for d in index.catalog.documents()]


def test_compaction_drops_superseded_entries_and_every_client_keeps_its_view(
    chroma, make_settings, embedder, tmp_path, monkeypatch
):
    from retrieval.documents.ingest import ingest

    docs = tmp_path / "docs"
    _ferry(docs, 0)
    (docs / "market.txt").write_text("Market\n\nThe grain market opened with record prices.\n", encoding="utf-8")
    kept = _settings(make_settings, chroma, "compaction-a")  # the default grace period: nothing is dropped yet
    eager = _settings(make_settings, chroma, "compaction-a", chroma_log_keep_s=0)
    writer = _open_as(tmp_path / "machine-w", kept, embedder, monkeypatch, create=True)
    ingest(kept, [docs], index=writer)
    behind = _open_as(tmp_path / "machine-b", kept, embedder, monkeypatch)  # a client that saw version 0
    generation = behind.catalog.generation

    _ferry(docs, 1)
    ingest(kept, [docs], index=writer)
    assert writer.catalog.changes.collection.count() == 3  # superseded, but within the grace period

    _ferry(docs, 2)
    writer.close()
    writer = _open_as(tmp_path / "machine-w", eager, embedder, monkeypatch)
    ingest(eager, [docs], index=writer)
    log = writer.catalog.changes
    entries = log.since(0)
    assert sorted(e.source.rsplit("/", 1)[-1] for e in entries) == ["ferry.txt", "market.txt"]  # the newest of each
    assert entries[-1].generation == 4  # the highest number stays

    # the client two changes behind catches up from where it was; a new client replays what is left
    behind.refresh()
    fresh = _open_as(tmp_path / "machine-c", kept, embedder, monkeypatch)
    assert _state(behind) == _state(fresh) == _state(writer)
    assert behind.catalog.generation == fresh.catalog.generation == 4 > generation
    for client in (behind, fresh):
        text = " ".join(p.text for p, _ in client.catalog.search("Vela ferry", 5))
        assert "eleven" in text and "seven" not in text and "nine" not in text

    # numbers freed by compaction are never claimed again, even by a writer that starts from 0
    from retrieval.storage.changelog import LogEntry

    assert log.append(LogEntry(0, "remove", "nothing.txt"), after=0) == 5
    for index in (writer, behind, fresh):
        index.close()


def _answering(question: str, stop: Path, env: dict[str, str], out: Path) -> subprocess.Popen[bytes]:
    """An answering process writing its JSON lines to `out` (a file: a pipe left unread would stall it)."""
    with out.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "helpers" / "answer_loop.py"), question, str(stop), "3"],
            env=env,
            stdout=sink,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )


def _wait_for_an_answer(proc: subprocess.Popen[bytes], out: Path) -> None:
    deadline = time.monotonic() + 120
    while not out.read_text(encoding="utf-8").strip():
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "ended"
        assert time.monotonic() < deadline, "no answer in 120 s"
        time.sleep(0.1)


def _version(quotes: list[str]) -> int:
    found = {i for i, word in enumerate(VERSIONS) for q in quotes if f" {word} " in q}
    assert len(found) == 1, quotes
    return found.pop()


def test_two_answering_processes_and_an_ingesting_one_share_a_server(chroma, make_settings, tmp_path):
    docs = tmp_path / "docs"
    _ferry(docs, 0)
    for i in range(6):  # some company for the ferry, so that every ingest has work beside it
        (docs / f"note-{i}.txt").write_text(f"Note {i}\n\nThe harbour office posted notice {i}.\n", encoding="utf-8")
    settings = _settings(make_settings, chroma, "compaction-live")
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")}
    base.update(
        PYTHONPATH=str(ROOT),
        RAGBOT_CHROMA_HOST="127.0.0.1",
        RAGBOT_CHROMA_PORT=str(chroma.port),
        RAGBOT_COLLECTION=settings.collection,
        RAGBOT_SEEDS_DIR=str(tmp_path / "no-seeds"),
        RAGBOT_LLM_MODEL="",
    )
    ingesting = {**base, "XDG_CACHE_HOME": str(tmp_path / "machine-w"), "RAGBOT_CHROMA_LOG_KEEP_S": "0"}

    def ingest() -> None:  # always from the same folder, so that the sources keep their names
        done = subprocess.run(
            [sys.executable, "-m", "bot", "ingest", str(docs)],
            env=ingesting,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr

    ingest()
    stop = tmp_path / "stop"
    outs = [tmp_path / f"answers-{i}.jsonl" for i in (1, 2)]
    readers = [
        _answering(QUESTION, stop, {**base, "XDG_CACHE_HOME": str(tmp_path / f"machine-r{i}")}, out)
        for i, out in zip((1, 2), outs, strict=True)
    ]
    try:
        for reader, out in zip(readers, outs, strict=True):
            _wait_for_an_answer(reader, out)  # both are answering before the ingests start
        for version in (1, 2):
            _ferry(docs, version)
            (docs / f"note-{version}.txt").unlink()
            ingest()
            time.sleep(0.5)  # let the readers answer in between
        stop.write_text("done", encoding="utf-8")
        for reader in readers:
            _, err = reader.communicate(timeout=300)
            assert reader.returncode == 0, err.decode()
    finally:
        for reader in readers:
            if reader.poll() is None:
                reader.kill()
                reader.wait()

    seen = [[json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] for out in outs]
    for lines in seen:
        assert not [line for line in lines if "error" in line]
        versions = [_version(list(line["quotes"])) for line in lines]  # type: ignore[arg-type]
        assert versions[0] == 0
        assert versions == sorted(versions), versions  # once a change is seen, never an older answer
        assert versions[-3:] == [2, 2, 2]  # every answer after the ingests ended is the current one
    assert len(seen[0]) > 4 and len(seen[1]) > 4

    from retrieval.storage.vectors import LOG_SUFFIX, make_client

    log = make_client(settings).get_collection(settings.collection + LOG_SUFFIX).get(include=["metadatas"])
    sources = [m["source"].rsplit("/", 1)[-1] for m in log["metadatas"]]
    assert sources.count("ferry.txt") == 1 and sources.count("note-1.txt") == 1  # compacted: the newest stays
    assert len(sources) == 7  # ferry, notes 0, 3, 4, 5 published; notes 1, 2 removed
