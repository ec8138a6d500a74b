"""Store faults: a missing or damaged local store, ingest in another process while questions are asked,
and a Chroma server that is down at start or goes down mid-run.

A damaged store is a one-line error naming the fix (`ragbot ingest --rebuild`), never a trace, and
leaves the damaged files where they were until that fix is run; the fix then works. An ingest in
another process never shows a question half a document: every answer's passages of a changing
document come from one version, and when the ingest is done no stale or duplicate passage remains.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.discord_bot.app import APOLOGY
from bot.discord_bot.embeds import answer_of_description
from retrieval.documents.ingest import ingest
from retrieval.engine import Engine
from retrieval.errors import StoreError
from retrieval.settings import Settings
from retrieval.storage.index import Index
from tests.helpers import ROOT
from tests.helpers.chroma_server import STARTUP_S
from tests.helpers.chroma_server import chroma_cli as _chroma_cli
from tests.helpers.chroma_server import free_port as _free_port

QUESTION = "From which city did Interfax report Lavrov's comments about the Geneva talks?"


# -- a missing or damaged local store ------------------------------------------------------------
def _garbage(path: Path) -> Path:
    path.write_bytes(b"\x00not a database\xff" * 400)
    return path


def _truncate(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


def _delete(path: Path) -> None:
    path.unlink()


ASKS = (["ask", "--json", QUESTION], ["ask", QUESTION])
DAMAGE = {  # name: (damage the store, returning the damaged file to keep; the commands that must fail)
    "catalog is not a database": (lambda s: _garbage(s / "ragbot.catalog.sqlite3"), (*ASKS, ["sources"])),
    "chroma.sqlite3 is not a database": (lambda s: _garbage(s / "chroma.sqlite3"), (*ASKS, ["sources"])),
    "chroma.sqlite3 cut short": (lambda s: _truncate(s / "chroma.sqlite3"), (*ASKS, ["sources"])),
    "chroma.sqlite3 deleted (vectors lost)": (lambda s: _delete(s / "chroma.sqlite3"), ASKS),
}


def ragbot(args: list[str], store: Path, seeds: Path = ROOT / "seeds"):
    env = {"RAGBOT_CHROMA_PATH": str(store), "RAGBOT_SEEDS_DIR": str(seeds), "RAGBOT_LLM_MODEL": ""}
    return CliRunner().invoke(cli, args, env=env)


def one_line_error(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    (line,) = result.stderr.splitlines()
    if result.stdout:  # `ask --json`: the error is also its JSON object on stdout, and nothing else is
        assert json.loads(result.stdout) == {"question": QUESTION, "error": line.removeprefix("ragbot: ")}
    assert line.startswith("ragbot: ")
    return line


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_store_is_one_clear_line_and_rebuild_fixes_it(store_copy, tmp_path, monkeypatch, damage):
    monkeypatch.chdir(tmp_path)
    make, commands = DAMAGE[damage]
    damaged = make(store_copy)
    kept = damaged.read_bytes() if damaged else None
    for args in commands:
        assert "ragbot ingest --rebuild" in one_line_error(ragbot(args, store_copy)), args
    if damaged:
        assert damaged.read_bytes() == kept, "a failed question changed the damaged file"

    rebuilt = ragbot(["ingest", "--rebuild"], store_copy)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "21 live in the store" in rebuilt.stdout
    aside = list(store_copy.parent.glob(f"{store_copy.name}.damaged-*"))
    if damage.startswith("chroma.sqlite3") and damaged:  # Chroma could not open it: set aside whole, not deleted
        (folder,) = aside
        assert (folder / damaged.name).read_bytes() == kept and (folder / "ragbot.catalog.sqlite3").exists()
    else:
        assert aside == []
    answer = ragbot(["ask", "--json", QUESTION], store_copy)
    assert answer.exit_code == 0, answer.output
    assert json.loads(answer.stdout)["answerable"]
    assert json.loads(ragbot(["ask", "--json", QUESTION], store_copy).stdout)["answerable"]


def test_a_store_path_that_is_a_file_is_one_line_and_the_file_is_kept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    not_a_folder = tmp_path / "store"
    not_a_folder.write_text("my notes, not a store\n")
    for args in (*ASKS, ["sources"], ["ingest"], ["ingest", "--rebuild"]):
        assert str(not_a_folder) in one_line_error(ragbot(args, not_a_folder)), args
    assert not_a_folder.read_text() == "my notes, not a store\n"


def test_a_missing_store_without_documents_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store, no_seeds = tmp_path / "nowhere" / "store", tmp_path / "no-seeds"
    listing = ragbot(["sources"], store, no_seeds)
    assert listing.exit_code == 1 and "run `ragbot ingest PATH`" in listing.stderr  # no seeds: `ingest` would fail
    asked = ragbot(["ask", "--json", QUESTION], store, no_seeds)
    assert asked.exit_code == 1 and set(json.loads(asked.stdout)) == {"question", "error"}
    assert "no ragbot store" in asked.output and "run `ragbot ingest PATH`" in asked.output
    assert not store.exists()  # nothing to fill it with: no empty store is created
    assert ragbot(["ingest", str(ROOT / "seeds")], store, no_seeds).exit_code == 0
    assert json.loads(ragbot(["ask", "--json", QUESTION], store, no_seeds).stdout)["answerable"]


def test_a_lost_catalog_is_rebuilt_from_the_seeds_without_embedding_again(store_copy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for f in store_copy.glob("*.catalog.sqlite3*"):
        f.unlink()
    result = ragbot(["ask", "--json", QUESTION], store_copy)
    assert result.exit_code == 0 and json.loads(result.stdout)["answerable"]
    assert "0 passage(s) embedded" in ragbot(["ingest"], store_copy).stdout


# -- ingest in another process while questions are asked -------------------------------------------
VERSIONS = """
def version(i):
    word = ("zebracorn", "quokkafish", "marmotfinch")[i % 3]
    paragraphs = [f"Harbour report {word} {i}"] + [
        f"The {word} ferry number {j} carries grain and passengers across the harbour every morning "
        f"in the {word} season, and its crew of {j + i + 2} sailors unloads it by noon."
        for j in range(8)
    ]
    return "\\n\\n".join(paragraphs) + "\\n"
"""
WRITER = (
    VERSIONS
    + """
import sys
from pathlib import Path
from retrieval.documents.ingest import ingest
from retrieval.storage.index import Index
from retrieval.settings import Settings

store, docs, first, count = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
settings = Settings.of(chroma_path=store, seeds_dir=docs)
index = Index.open(settings, create=True)
for i in range(first, first + count):
    (docs / "harbour.txt").write_text(version(i), encoding="utf-8")
    report = ingest(settings, [docs], index=index)
    assert report.updated == 1 and report.passages == 21 + 9, report.summary()
    print(i, flush=True)
"""
)
_namespace: dict = {}
exec(VERSIONS, _namespace)  # noqa: S102 - the same text versions the writer process writes
version = _namespace["version"]
MARKERS = ("zebracorn", "quokkafish", "marmotfinch")


def marker_of(text: str) -> str:
    (found,) = [m for m in MARKERS if m in text]
    return found


def test_ingest_in_another_process_never_shows_half_a_document(store_copy, tmp_path, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    settings = Settings.of(chroma_path=store_copy, seeds_dir=docs)
    (docs / "harbour.txt").write_text(version(0), encoding="utf-8")
    index = Index.open(settings, embedder=embedder)
    ingest(settings, [docs], index=index)
    engine = Engine(settings, index)
    rounds = 12
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(store_copy), str(docs), "1", str(rounds)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    answers, failures, during = [], [], 0
    lock = threading.Lock()

    def ask(question: str) -> None:
        nonlocal during
        while writer.poll() is None:
            try:
                answer = engine.answer(question)
            except Exception as exc:  # noqa: BLE001 - every failure is a finding, reported below
                with lock:
                    failures.append(repr(exc))
                continue
            with lock:
                answers.append(answer)
                during += writer.poll() is None

    threads = [
        threading.Thread(target=ask, args=(q,))
        for q in ("What does the ferry carry across the harbour every morning?", "How many sailors unload the ferry?")
    ]
    for t in threads:
        t.start()
    out, err = writer.communicate(timeout=240)
    for t in threads:
        t.join(60)
    assert writer.returncode == 0, err[-3000:]
    assert out.split() == [str(i) for i in range(1, rounds + 1)]
    assert not failures, failures[:3]
    assert during >= 10, f"only {during} answers overlapped the ingest"

    harbour_hits = 0
    for answer in answers:
        versions = {marker_of(h.passage.text) for h in answer.retrieved if h.passage.source.endswith("harbour.txt")}
        assert len(versions) <= 1, f"one answer saw two versions of a document: {versions}"
        harbour_hits += bool(versions)
        for c in answer.citations:
            if c.source.endswith("harbour.txt"):
                texts = [version(i) for i in range(rounds + 1) if marker_of(c.quote) in version(i)]
                assert any(t[c.start : c.end] == c.quote for t in texts), c
    assert harbour_hits >= len(answers) // 2

    # when the ingest is done: the last version only, no stale or duplicate passage, no stray vector
    final = version(rounds)
    fresh = Index.open(settings, embedder=embedder)
    rows = fresh.catalog._rows('SELECT source, start, "end", text, live FROM passages')
    harbour = [r for r in rows if r[0].endswith("harbour.txt")]
    assert all(live == 1 for *_, live in rows), "rows that are not live were left behind"
    assert len({(s, a, b) for s, a, b, _, _ in rows}) == len(rows), "duplicate passages"
    assert len(harbour) == 9 and all(final[a:b] == text for _, a, b, text, _ in harbour)
    assert fresh.vectors.count() == len(rows) == fresh.catalog.live_count() == 30
    after = engine.answer("What does the ferry carry across the harbour every morning?")
    assert {marker_of(h.passage.text) for h in after.retrieved if "harbour" in h.passage.source} == {marker_of(final)}


# -- a Chroma server that is down at start or goes down mid-run ---------------------------------------
class ChromaProcess:
    """`chroma run` on a fixed loopback port and data folder, which a test can kill and start again.

    Uses the server-mode tests' helpers; their module-wide server cannot be stopped mid-test."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.base / "server.log", "ab")  # noqa: SIM115 - handed to the child, closed with it
        self.proc = subprocess.Popen(
            [_chroma_cli(), "run", "--path", str(self.base / "data"), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + STARTUP_S
        while True:
            assert self.proc.poll() is None, (self.base / "server.log").read_text(errors="replace")[-2000:]
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                assert time.monotonic() < deadline, f"chroma run did not listen on port {self.port}"
                time.sleep(0.2)

    def kill(self) -> None:
        """Stop the server at once (SIGKILL), by its PID."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)


@pytest.fixture
def chroma(tmp_path):
    server = ChromaProcess(tmp_path)
    yield server
    server.kill()


def server_env(chroma: ChromaProcess, tmp_path: Path, machine: str = "a") -> dict[str, str]:
    return {
        "RAGBOT_CHROMA_HOST": "127.0.0.1",
        "RAGBOT_CHROMA_PORT": str(chroma.port),
        "RAGBOT_COLLECTION": "faults",
        "RAGBOT_SEEDS_DIR": str(ROOT / "seeds"),
        "RAGBOT_LLM_MODEL": "",
        "XDG_CACHE_HOME": str(tmp_path / f"machine-{machine}"),
    }


def test_a_server_down_at_start_is_a_clear_error_and_works_once_up(chroma, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = server_env(chroma, tmp_path)
    for args in (["ask", "--json", QUESTION], ["sources"], ["ingest"]):
        result = CliRunner().invoke(cli, args, env=env)
        line = one_line_error(result)
        assert f"cannot reach the Chroma server at 127.0.0.1:{chroma.port}" in line and "running" in line, line
        assert "--rebuild" not in line  # rebuilding is no cure for a server that is down
    chroma.start()
    assert CliRunner().invoke(cli, ["ingest"], env=env).exit_code == 0
    answer = CliRunner().invoke(cli, ["ask", "--json", QUESTION], env=env)
    assert answer.exit_code == 0 and json.loads(answer.stdout)["answerable"]


async def test_a_server_lost_mid_run_is_an_error_per_question_then_recovers(
    chroma, tmp_path, monkeypatch, embedder, make_settings, make_discord_settings
):
    from tests.helpers.discord_fakes import FakeInteraction, offline_bot

    chroma.start()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "machine-a"))
    settings = Settings.of(chroma_host="127.0.0.1", chroma_port=chroma.port, collection="faults")
    index = Index.open(settings, create=True, embedder=embedder)
    ingest(settings, [ROOT / "seeds"], index=index)
    engine = Engine(settings, index)  # long-lived, as the Discord bot's
    before = engine.answer(QUESTION)
    bot = await offline_bot(make_settings(), make_discord_settings(cooldown_s=0), engine)
    try:
        chroma.kill()
        for _ in range(2):
            with pytest.raises(StoreError, match="lost the Chroma server while .*check that it is running"):
                engine.answer(QUESTION)
        itx = FakeInteraction(bot, 1)
        cog = bot.get_cog("Ask")
        await cog.ask.callback(cog, itx, QUESTION)
        assert itx.last().content == APOLOGY  # the asker gets a short reply, not silence

        chroma.start()  # same port, same data: the engine carries on without a restart
        after = engine.answer(QUESTION)
        assert (after.answer, after.citations) == (before.answer, before.citations)
        itx = FakeInteraction(bot, 2)
        await cog.ask.callback(cog, itx, QUESTION)
        assert itx.last().embed is not None and answer_of_description(itx.last().embed.description) == before.answer
    finally:
        bot.store.close()


def test_a_server_lost_mid_ingest_loses_nothing_and_a_rerun_finishes(chroma, tmp_path, monkeypatch, embedder):
    from retrieval.storage.sync import ServerCatalog

    chroma.start()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbour.txt").write_text(version(0), encoding="utf-8")
    settings = Settings.of(chroma_host="127.0.0.1", chroma_port=chroma.port, collection="faults")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "machine-a"))
    writer = Index.open(settings, create=True, embedder=embedder)
    ingest(settings, [docs], index=writer)

    publish = ServerCatalog.publish

    def lose_the_server_first(self, *args, **kwargs):  # the new vectors are written; the commit point is next
        chroma.kill()
        return publish(self, *args, **kwargs)

    (docs / "harbour.txt").write_text(version(1), encoding="utf-8")
    monkeypatch.setattr(ServerCatalog, "publish", lose_the_server_first)
    with pytest.raises(StoreError, match="lost the Chroma server"):
        ingest(settings, [docs], index=writer)
    monkeypatch.setattr(ServerCatalog, "publish", publish)

    chroma.start()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "machine-b"))  # another client, from scratch
    reader = Index.open(settings, embedder=embedder)
    texts = [p.text for p, _ in reader.catalog.search("ferry harbour", 20)]
    assert len(texts) == 9 and {marker_of(t) for t in texts} == {marker_of(version(0))}  # the old one, whole

    report = ingest(settings, [docs], index=writer)  # the same command again, once the server is back
    assert report.updated == 1 and report.embedded == 0  # the vectors written before the outage are reused
    reader.refresh()
    texts = [p.text for p, _ in reader.catalog.search("ferry harbour", 20)]
    assert len(texts) == 9 and {marker_of(t) for t in texts} == {marker_of(version(1))}
    assert writer.vectors.count() == writer.catalog.live_count() == reader.catalog.live_count() == 9
