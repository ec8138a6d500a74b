"""`ragbot bench`: ingest, answer and retrieval speed, cold start and memory, measured in one run.

Every store it measures is built in a temporary folder on the local disk (the offline default),
whatever RAGBOT_CHROMA_HOST says; only the embedding model comes from the settings. Measured:
- raw embedder throughput and `ingest` throughput on passages shaped like the article's (copies of
  the seeds' documents with their paragraphs shuffled), and their ratio;
- warm `Engine.answer` latency over the questions of seeds/qa.jsonl, on the article alone;
- warm `Engine.retrieve` latency (question embedding, dense + BM25 search, fusion, sentence
  scoring) at N synthetic passages. The synthetic corpus (Zipf-distributed words over the article's
  vocabulary plus made-up words, random unit vectors) is built once and cached under the user's
  cache directory;
- wall time and peak RSS of a cold `ragbot ask` in a fresh process against the article store.
Leaves out: answer quality (that is `ragbot eval`), LLM latency and server mode.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from retrieval.errors import InputError
from retrieval.settings import Settings

CORPUS_VERSION = 2
DEFAULT_CHUNKS = 100_000
QUICK_CHUNKS = 10_000
VOCABULARY = 30_000
COMMON_RANKS = 3_000
PASSAGES_PER_DOC = 100
BUILD_BATCH = 5000
COLD_QUESTION = "From which city did Interfax report Lavrov's comments?"
FALLBACK_QUESTIONS = [
    COLD_QUESTION,
    "What preceded the capture of Aleppo's Old City?",
    "Who blocked the cease-fire resolution?",
    "What did Kerry and Lavrov agree on?",
]
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]


@dataclass(frozen=True)
class Plan:
    """How much each measurement does (default and --quick)."""

    ingest_passages: int
    answer_passes: int
    retrieve_passes: int
    cold_runs: int

    @classmethod
    def make(cls, quick: bool) -> Plan:
        return cls(300, 1, 1, 1) if quick else cls(2000, 4, 3, 3)


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

    def to_json(self) -> dict:
        return asdict(self)


# the targets: (key, comparison, bound)
TARGETS = {
    "ingest_ratio": (">=", 0.9),
    "answer_ms_p50": ("<=", 15.0),
    "answer_ms_p95": ("<=", 40.0),
    "retrieve_ms_p95": ("<=", 60.0),
    "cold_ask_s": ("<=", 2.0),
    "cold_ask_peak_rss_mb": ("<=", 400.0),
}


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else float("nan")


def _say(progress: Callable[[str], None] | None, message: str) -> None:
    if progress:
        progress(message)


def _seed_documents(settings: Settings) -> list[Path]:
    from retrieval.documents.load import find_files

    if not settings.seeds_dir.is_dir():
        raise InputError(f"the bench needs the seeds folder ({settings.seeds_dir}): set RAGBOT_SEEDS_DIR")
    files, _ = find_files([settings.seeds_dir])
    if not files:
        raise InputError(f"no .txt, .md or .html document in {settings.seeds_dir}")
    return files


def _questions(settings: Settings) -> list[str]:
    qa = settings.seeds_dir / "qa.jsonl"
    if not qa.is_file():
        return FALLBACK_QUESTIONS
    out = []
    for line in qa.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            out.extend(t["question"] for t in item.get("turns", [item]) if "question" in t)
    return out or FALLBACK_QUESTIONS


def _local(settings: Settings, path: Path) -> Settings:
    return settings.model_copy(update={"chroma_path": path, "chroma_host": None, "collection": "bench"})


# -- ingest -------------------------------------------------------------------------------------
def _article_copies(sources: Sequence[Path], folder: Path, passages: int) -> int:
    """Write shuffled copies of the seed documents until they hold about `passages` passages."""
    from retrieval.documents.load import load_document as load
    from retrieval.documents.split import split

    docs = [load(p) for p in sources]
    rng = random.Random(7)
    folder.mkdir(parents=True)
    written = copy = 0
    while written < passages:
        doc = docs[copy % len(docs)]
        paras = [p for p in re.split(r"\n\s*\n|\n", doc.text) if p.strip()]
        rng.shuffle(paras)
        text = f"Copy {copy}: {doc.title}\n\n" + "\n\n".join(paras) + "\n"
        path = folder / f"copy-{copy:05d}.txt"
        path.write_text(text, encoding="utf-8")
        written += len(split(load(path)))
        copy += 1
    return written


def measure_ingest(settings: Settings, embedder, work: Path, n: int) -> tuple[float, float]:
    """(raw embedder passages/s, ingest passages/s) on the same passages.

    The raw embedder is timed before and after the ingest and the two runs pooled, so a change
    in the machine's load during the run biases neither side of the ratio.
    """
    from retrieval.documents.ingest import ingest
    from retrieval.documents.load import find_files
    from retrieval.documents.load import load_document as load
    from retrieval.documents.split import split
    from retrieval.storage.index import Index

    folder = work / "copies"
    _article_copies(_seed_documents(settings), folder, n)
    files, _ = find_files([folder])
    texts = [p.text for f in files for p in split(load(f))]
    embedder.embed_array(texts[:64])  # warm the session

    def raw_seconds() -> float:
        t0 = time.perf_counter()
        embedder.embed_array(texts)
        return time.perf_counter() - t0

    before = raw_seconds()
    target = _local(settings, work / "ingest-store")
    t0 = time.perf_counter()
    index = Index.open(target, create=True, embedder=embedder)
    report = ingest(target, [folder], index=index)
    elapsed = time.perf_counter() - t0
    index.close()
    after = raw_seconds()
    return 2 * len(texts) / (before + after), report.embedded / elapsed


# -- answers on the article ---------------------------------------------------------------------
def article_store(settings: Settings, embedder, work: Path) -> Settings:
    from retrieval.documents.ingest import ingest
    from retrieval.storage.index import Index

    target = _local(settings, work / "article-store")
    index = Index.open(target, create=True, embedder=embedder)
    ingest(target, _seed_documents(settings), index=index)
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


def measure_answers(target: Settings, embedder, questions: Sequence[str], passes: int) -> list[float]:
    from retrieval.engine import Engine
    from retrieval.storage.index import Index

    engine = Engine(target, Index.open(target, embedder=embedder))
    times = _warm_timings(engine.answer, questions, passes)
    engine.index.close()
    return times


# -- retrieval at scale -------------------------------------------------------------------------
def _vocabulary(sources: Sequence[Path], rng: np.random.Generator, size: int) -> tuple[list[str], np.ndarray]:
    """Words ranked for a Zipf law: stopwords first, then the article's content words at random
    ranks among the next COMMON_RANKS (so a question's words are common, as in a news archive),
    then made-up words."""
    from retrieval import STOPWORDS
    from retrieval.documents.load import load_document as load

    text = " ".join(load(p).text for p in sources)
    words = list(dict.fromkeys(w for w in re.findall(r"[^\W\d_]+", text.lower()) if len(w) > 1))
    stop = [w for w in words if w in STOPWORDS] + sorted(STOPWORDS - set(words))
    content = [w for w in words if w not in STOPWORDS]
    syllables = np.array(SYLLABLES)
    made_up: set[str] = set()
    while len(made_up) < size - len(content):
        picks = syllables[rng.integers(0, len(syllables), size=(size, 4))]
        cut = rng.integers(2, 5, size=size)
        made_up.update("".join(row[:c]) for row, c in zip(picks, cut, strict=True))
    made = sorted(made_up)[: size - len(content)]
    rng.shuffle(made)
    common = content + made[: max(0, COMMON_RANKS - len(content))]
    rng.shuffle(common)
    vocab = stop + common + made[len(common) - len(content) :]
    ranks = np.arange(1, len(vocab) + 1, dtype=np.float64)
    weights = 1.0 / (ranks + 2.7)  # Zipf-Mandelbrot, exponent 1
    return vocab, weights / weights.sum()


def _synthetic_passages(n: int, sources: Sequence[Path], seed: int = 11):
    """Passages of a few sentences (~200 characters, like the article's), PASSAGES_PER_DOC to a document."""
    from retrieval.schema import Passage

    rng = np.random.default_rng(seed)
    vocab, p = _vocabulary(sources, rng, VOCABULARY)
    lengths = np.clip(rng.normal(30, 12, size=n).astype(int), 6, 70)
    draws = rng.choice(len(vocab), size=int(lengths.sum()), p=p)
    stops = rng.random(int(lengths.sum())) < 1 / 14  # a sentence ends after ~14 words
    at = 0
    for i, length in enumerate(lengths):
        words = [vocab[j] for j in draws[at : at + length]]
        ends = stops[at : at + length]
        at += length
        for j in range(1, length - 1):
            if ends[j]:
                words[j] += "."
                words[j + 1] = words[j + 1].capitalize()
        text = words[0].capitalize() + " " + " ".join(words[1:]) + "."
        doc, para = divmod(i, PASSAGES_PER_DOC)
        source = f"synthetic/{doc:05d}.txt"
        start = para * 1000
        yield Passage(f"{source}#{para}", source, f"Synthetic report {doc}", para + 1, start, start + len(text), text)


def synthetic_store(settings: Settings, embedder, n: int, progress=None) -> Settings:
    """A local store of `n` synthetic passages, built once and cached under the user's cache directory."""
    from platformdirs import user_cache_dir

    from retrieval.storage.catalog import Catalog, Change, DocumentInfo, now_utc
    from retrieval.storage.index import catalog_path
    from retrieval.storage.vectors import VectorStore

    model = re.sub(r"[^A-Za-z0-9._-]+", "_", embedder.name)[-60:]
    folder = Path(user_cache_dir("ragbot")) / "bench" / f"synthetic-{n}-v{CORPUS_VERSION}-{model}"
    target = _local(settings, folder / "store")
    if (folder / "complete").is_file():
        return target
    _say(progress, f"building the synthetic corpus of {n:,} passages (once) in {folder}")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    vectors = VectorStore.open(target, embedder, create=True)
    catalog = Catalog(catalog_path(target))
    catalog.set_meta("embedding_model", embedder.name)
    rng = np.random.default_rng(5)
    batch: list = []
    generation = 0

    def flush() -> None:
        nonlocal generation
        if not batch:
            return
        v = rng.standard_normal((len(batch), embedder.dim())).astype(np.float32)
        vectors.upsert(batch, v / np.linalg.norm(v, axis=1, keepdims=True))
        by_doc: dict[str, list] = {}
        for p in batch:
            by_doc.setdefault(p.source, []).append(p)
        changes = [
            Change(s, DocumentInfo(s, ps[0].title, f"synthetic-{s}", len(ps), now_utc()), tuple(p.id for p in ps))
            for s, ps in by_doc.items()
        ]
        generation += 1
        catalog.apply(changes, batch, generation)
        batch.clear()
        if progress and generation % 4 == 0:
            progress(f"  {generation * BUILD_BATCH:,} / {n:,} passages")

    for passage in _synthetic_passages(n, _seed_documents(settings)):
        batch.append(passage)
        if len(batch) == BUILD_BATCH:
            flush()
    flush()
    catalog.close()
    (folder / "complete").write_text(now_utc() + "\n", encoding="utf-8")
    return target


def measure_retrieval(target: Settings, embedder, questions: Sequence[str], passes: int) -> tuple[int, list[float]]:
    from retrieval.engine import Engine
    from retrieval.storage.index import Index

    engine = Engine(target, Index.open(target, embedder=embedder))
    times = _warm_timings(engine.retrieve, questions, passes)
    n = engine.index.catalog.live_count()
    engine.index.close()
    return n, times


# -- cold start ---------------------------------------------------------------------------------
def _ragbot_command() -> list[str]:
    script = Path(sys.executable).parent / "ragbot"
    if script.exists():
        return [str(script)]
    found = shutil.which("ragbot")
    return [found] if found else [sys.executable, "-m", "bot"]


# Runs the command and reports its wall time and peak RSS. A small launcher process is needed:
# a child forked straight from this (large) process would count this process's pages in its
# ru_maxrss until it execs.
_LAUNCHER = """
import json, os, subprocess, sys, time
t0 = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
err = p.stderr.read()
_, status, usage = os.wait4(p.pid, 0)
wall = time.perf_counter() - t0
code = os.waitstatus_to_exitcode(status)
print(json.dumps({"wall": wall, "rss_kib": usage.ru_maxrss, "code": code, "err": err.decode(errors="replace")[-2000:]}))
"""


def measure_cold_ask(target: Settings, work: Path, runs: int) -> tuple[list[float], list[float]]:
    """Wall seconds and peak RSS (MiB) of `ragbot ask` in a fresh process, `runs` times."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")}
    env.update(
        RAGBOT_CHROMA_PATH=str(target.chroma_path),
        RAGBOT_COLLECTION=target.collection,
        RAGBOT_EMBEDDING_MODEL=target.embedding_model,
        RAGBOT_SEEDS_DIR=str(target.seeds_dir),
    )
    cwd = work / "cold"
    cwd.mkdir(exist_ok=True)  # no .env there
    walls, peaks = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-I", "-c", _LAUNCHER, *_ragbot_command(), "ask", COLD_QUESTION],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        report = json.loads(out.stdout)
        if report["code"] != 0:
            raise RuntimeError(f"`ragbot ask` failed with exit code {report['code']}: {report['err'].strip()}")
        walls.append(report["wall"])
        peaks.append(report["rss_kib"] / 1024)  # ru_maxrss is in KiB on Linux
    return walls, peaks


# -- the whole run ------------------------------------------------------------------------------
def run(settings: Settings, *, chunks: int | None = None, quick: bool = False, progress=None) -> BenchResult:
    """Every measurement; `chunks` defaults to 100,000 passages (10,000 with `quick`)."""
    from retrieval.documents.embed import Embedder

    plan = Plan.make(quick)
    chunks = chunks or (QUICK_CHUNKS if quick else DEFAULT_CHUNKS)
    embedder = Embedder(settings.embedding_model)
    questions = _questions(settings)
    with tempfile.TemporaryDirectory(prefix="ragbot-bench-") as tmp:
        work = Path(tmp)
        _say(progress, f"ingest: {plan.ingest_passages} article-shaped passages")
        raw, ingested = measure_ingest(settings, embedder, work, plan.ingest_passages)
        _say(progress, f"answers: {len(questions)} questions x {plan.answer_passes} on the article")
        article = article_store(settings, embedder, work)
        answers = measure_answers(article, embedder, questions, plan.answer_passes)
        big = synthetic_store(settings, embedder, chunks, progress)
        _say(progress, f"retrieval: {len(questions)} questions x {plan.retrieve_passes} at {chunks:,} passages")
        n, retrievals = measure_retrieval(big, embedder, questions, plan.retrieve_passes)
        _say(progress, f"cold ask: {plan.cold_runs} fresh process(es)")
        walls, peaks = measure_cold_ask(article, work, plan.cold_runs)
    return BenchResult(
        embed_raw_per_s=round(raw, 1),
        ingest_per_s=round(ingested, 1),
        ingest_ratio=round(ingested / raw, 3),
        answer_ms_p50=round(percentile(answers, 50), 2),
        answer_ms_p95=round(percentile(answers, 95), 2),
        n_passages=n,
        retrieve_ms_p50=round(percentile(retrievals, 50), 2),
        retrieve_ms_p95=round(percentile(retrievals, 95), 2),
        cold_ask_s=round(float(np.median(walls)), 3),
        cold_ask_peak_rss_mb=round(max(peaks), 1),
    )


def load_average() -> float:
    """The 1-minute load average: on a shared machine, other work slows every number above."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def table(result: BenchResult, load: tuple[float, float] | None = None) -> str:
    """The result as aligned lines, each with its target and whether it is met."""
    lines = [f"{'measure':<22} {'value':>12}  target"]
    for key, value in result.to_json().items():
        target = ""
        if key in TARGETS:
            op, bound = TARGETS[key]
            ok = value >= bound if op == ">=" else value <= bound
            target = f"{op} {bound:g}  {'ok' if ok else 'MISSED'}"
        shown = f"{value:,}" if isinstance(value, int) else f"{value:,.2f}" if value < 100 else f"{value:,.1f}"
        lines.append(f"{key:<22} {shown:>12}  {target}".rstrip())
    if load is not None:
        lines.append(f"({os.cpu_count()} cores; 1-minute load average {load[0]:.2f} at start, {load[1]:.2f} at end)")
    return "\n".join(lines)
