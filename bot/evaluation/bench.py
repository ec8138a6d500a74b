"""`ragbot bench`: ingest, answer and retrieval speed, cold start and memory, measured in one run.

Every store it measures is built in a temporary folder on the local disk (the offline default),
whatever RAGBOT_CHROMA_HOST says; only the embedding model comes from the settings. Measured:
- raw embedder throughput and `ingest` throughput on passages shaped like the article's (copies of
  the seeds' documents with their paragraphs shuffled), and their ratio;
- warm `Engine.answer` latency over the questions of seeds/qa.jsonl, on the article alone;
- warm `Engine.retrieve` latency (question embedding, dense + BM25 search, fusion, sentence
  scoring) at N synthetic passages (the corpora are made in bench_corpus.py);
- wall time and peak RSS of a cold `ragbot ask` in a fresh process against the article store, and
  of the textbook LangChain peer on the seeds, alternately (bench_cold.py), and their ratio;
- how long a fresh `ragbot chat` takes to print its prompt, on a pseudo-terminal (bench_chat.py).
`run` returns a `BenchResult`; the CLI prints it. Leaves out answer quality (that is `ragbot eval`),
LLM latency and server mode.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval import Embedder, Engine, Index, Settings, find_files, ingest, load_document, split

from .bench_chat import chat_ready_seconds
from .bench_cold import cold_env, cold_run, ragbot_command, textbook_command
from .bench_corpus import (
    COLD_QUESTION,
    Say,
    article_copies,
    local_store,
    questions,
    seed_documents,
    synthetic_store,
)
from .metrics import percentiles

DEFAULT_CHUNKS = 100_000
QUICK_CHUNKS = 10_000

# the targets: (key, comparison, bound); retrieve_ms_p95's is for 100,000 passages
TARGETS = {
    "ingest_ratio": (">=", 0.95),
    "answer_ms_p50": ("<=", 15.0),
    "answer_ms_p95": ("<=", 30.0),
    "retrieve_ms_p95": ("<=", 50.0),
    "cold_ask_s": ("<=", 1.5),
    "cold_ask_peak_rss_mb": ("<=", 300.0),
    "chat_ready_s": ("<=", 0.3),
    "cold_ratio": ("<=", 0.35),
}


@dataclass(frozen=True)
class Plan:
    """How much each measurement does (default and --quick)."""

    ingest_passages: int
    ingest_rounds: int
    answer_passes: int
    retrieve_passes: int
    cold_runs: int

    @classmethod
    def make(cls, quick: bool) -> Plan:
        return cls(300, 1, 1, 1, 1) if quick else cls(2000, 5, 4, 3, 3)


@dataclass(frozen=True)
class BenchResult:
    embed_raw_per_s: float
    ingest_per_s: float
    ingest_ratio: float
    answer_ms_p50: float
    answer_ms_p95: float
    n_passages: int
    retrieve_ms_p50: float
    retrieve_ms_p95: float
    cold_ask_s: float
    cold_ask_peak_rss_mb: float
    chat_ready_s: float
    textbook_s: float | None = None  # None: the peer could not run here (the progress notes say why)
    textbook_peak_rss_mb: float | None = None
    cold_ratio: float | None = None  # cold_ask_s / textbook_s, measured alternately in the same run

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _p50_p95(milliseconds: Sequence[float]) -> tuple[float, float]:
    p = percentiles(milliseconds, digits=2)
    if p["p50"] is None or p["p95"] is None:
        raise RuntimeError("nothing was timed: no questions")
    return p["p50"], p["p95"]


def _say(progress: Say | None, message: str) -> None:
    if progress:
        progress(message)


# -- ingest -------------------------------------------------------------------------------------
def measure_ingest(
    settings: Settings, embedder: Embedder, work: Path, n: int, rounds: int = 5
) -> tuple[float, float, float]:
    """(raw embedder passages/s, ingest passages/s, their ratio) on the same passages.

    The passages are ingested in `rounds` parts, each timed between two raw embeddings of its own
    texts; the ratio is the median of the rounds' ratios (ingest / mean raw). On a shared machine
    the speed drifts by more than ingest's own overhead within a few seconds, so each round's two
    sides are measured seconds apart and one slow round does not move the median. The throughputs
    are pooled over every round.
    """
    folders = []
    for r in range(rounds):  # each round's own files: ingesting one folder leaves the others' as they are
        article_copies(seed_documents(settings), work / "copies" / f"round-{r}", max(n // rounds, 1))
        folders.append(work / "copies" / f"round-{r}")
    texts = [[p.text for f in find_files([folder])[0] for p in split(load_document(f))] for folder in folders]
    embedder.embed_array(texts[0][:64])  # warm the session

    def raw_seconds(batch: Sequence[str]) -> float:
        t0 = time.perf_counter()
        embedder.embed_array(batch)
        return time.perf_counter() - t0

    target = local_store(settings, work / "ingest-store")
    index = Index.open(target, create=True, embedder=embedder)  # chromadb's import (~1.5 s) is a start-up
    raw_total = ingest_total = 0.0  # cost, measured by the cold ask; this is throughput, as the embedder's is
    embedded = 0
    ratios = []
    for folder, batch in zip(folders, texts, strict=True):
        before = raw_seconds(batch)
        t0 = time.perf_counter()
        report = ingest(target, [folder], index=index)
        elapsed = time.perf_counter() - t0
        after = raw_seconds(batch)
        ratios.append((report.embedded / elapsed) / (2 * len(batch) / (before + after)))
        raw_total += before + after
        ingest_total += elapsed
        embedded += report.embedded
    index.close()
    raw = 2 * sum(len(b) for b in texts) / raw_total
    return raw, embedded / ingest_total, float(np.median(ratios))


# -- answers on the article, retrieval at scale -------------------------------------------------
def article_store(settings: Settings, embedder: Embedder, work: Path) -> Settings:
    """A local store of the seed documents under `work`."""
    target = local_store(settings, work / "article-store")
    index = Index.open(target, create=True, embedder=embedder)
    ingest(target, seed_documents(settings), index=index)
    index.close()
    return target


def _warm_timings(call: Callable[[str], object], questions: Sequence[str], passes: int) -> list[float]:
    """Milliseconds per call over `passes` rounds of `questions`, after five warm-up calls."""
    for q in questions[:5]:
        call(q)
    times = []
    for _ in range(passes):
        for q in questions:
            t0 = time.perf_counter()
            call(q)
            times.append((time.perf_counter() - t0) * 1000)
    return times


def measure_answers(target: Settings, embedder: Embedder, questions: Sequence[str], passes: int) -> list[float]:
    """Warm `Engine.answer` milliseconds per question."""
    engine = Engine(target, Index.open(target, embedder=embedder))
    times = _warm_timings(engine.answer, questions, passes)
    engine.index.close()
    return times


def measure_retrieval(
    target: Settings, embedder: Embedder, questions: Sequence[str], passes: int
) -> tuple[int, list[float]]:
    """(live passages, warm `Engine.retrieve` milliseconds per question)."""
    engine = Engine(target, Index.open(target, embedder=embedder))
    times = _warm_timings(engine.retrieve, questions, passes)
    n = engine.index.catalog.live_count()
    engine.index.close()
    return n, times


# -- cold start ---------------------------------------------------------------------------------
def measure_cold(
    settings: Settings, target: Settings, work: Path, runs: int
) -> tuple[list[float], list[float], list[float], list[float], str | None]:
    """Wall seconds and peak RSS (MiB) of `ragbot ask` in a fresh process on `target`, and of the textbook
    peer on the seeds, alternately `runs` times each; the last item says why the peer did not run."""
    env, cwd = cold_env(target, work)
    peer = textbook_command(settings, COLD_QUESTION)
    walls, peaks, peer_walls, peer_peaks = [], [], [], []
    for _ in range(runs):
        wall, peak = cold_run([*ragbot_command(), "ask", COLD_QUESTION], env, cwd)
        walls.append(wall)
        peaks.append(peak)
        if isinstance(peer, list):
            wall, peak = cold_run(peer, env, cwd)
            peer_walls.append(wall)
            peer_peaks.append(peak)
    return walls, peaks, peer_walls, peer_peaks, peer if isinstance(peer, str) else None


# -- the whole run ------------------------------------------------------------------------------
def run(
    settings: Settings, *, chunks: int | None = None, quick: bool = False, progress: Say | None = None
) -> BenchResult:
    """Every measurement; `chunks` defaults to 100,000 passages (10,000 with `quick`)."""
    plan = Plan.make(quick)
    chunks = chunks or (QUICK_CHUNKS if quick else DEFAULT_CHUNKS)
    embedder = Embedder(settings.embedding_model)
    asked = questions(settings)
    with tempfile.TemporaryDirectory(prefix="ragbot-bench-") as tmp:
        work = Path(tmp)
        _say(progress, f"ingest: {plan.ingest_passages} article-shaped passages")
        raw, ingested, ratio = measure_ingest(settings, embedder, work, plan.ingest_passages, plan.ingest_rounds)
        _say(progress, f"answers: {len(asked)} questions x {plan.answer_passes} on the article")
        article = article_store(settings, embedder, work)
        answers = _p50_p95(measure_answers(article, embedder, asked, plan.answer_passes))
        big = synthetic_store(settings, embedder, chunks, progress)
        _say(progress, f"retrieval: {len(asked)} questions x {plan.retrieve_passes} at {chunks:,} passages")
        n, timings = measure_retrieval(big, embedder, asked, plan.retrieve_passes)
        retrievals = _p50_p95(timings)
        _say(progress, f"cold ask and the textbook peer: {plan.cold_runs} fresh process(es) each")
        walls, peaks, peer_walls, peer_peaks, no_peer = measure_cold(settings, article, work, plan.cold_runs)
        if no_peer:
            _say(progress, f"no textbook ratio: {no_peer}")
        _say(progress, f"chat prompt: {plan.cold_runs} fresh process(es) on a pseudo-terminal")
        env, cwd = cold_env(article, work)
        ready = [chat_ready_seconds(ragbot_command(), env=env, cwd=cwd) for _ in range(plan.cold_runs)]
    cold = float(np.median(walls))
    peer = float(np.median(peer_walls)) if peer_walls else None
    return BenchResult(
        embed_raw_per_s=round(raw, 1),
        ingest_per_s=round(ingested, 1),
        ingest_ratio=round(ratio, 3),
        answer_ms_p50=answers[0],
        answer_ms_p95=answers[1],
        n_passages=n,
        retrieve_ms_p50=retrievals[0],
        retrieve_ms_p95=retrievals[1],
        cold_ask_s=round(cold, 3),
        cold_ask_peak_rss_mb=round(max(peaks), 1),
        chat_ready_s=round(float(np.median(ready)), 3),
        textbook_s=round(peer, 3) if peer else None,
        textbook_peak_rss_mb=round(max(peer_peaks), 1) if peer_peaks else None,
        cold_ratio=round(cold / peer, 3) if peer else None,
    )


def load_average() -> float:
    """The 1-minute load average: on a shared machine, other work slows every number above."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")
