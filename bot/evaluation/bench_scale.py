"""`ragbot bench --scale 10000,100000,1000000`: how retrieval's cost grows with the number of passages.

For each size, on a synthetic store (bench_corpus.py: seeded text, vectors drawn without the
embedder, built once and cached): the build time, warm `Engine.retrieve` p50/p95 over the questions
of seeds/qa.jsonl, the time per question of each retrieval stage (one more pass under cProfile,
so the stages' shares rather than their exact times), and the wall time and peak RSS of a cold
`ragbot ask` against that store (a query process). `run_scale` returns a `ScaleResult`; `plot`
draws it to a PNG with matplotlib. Leaves out answer quality and the article's warm answers
(`ragbot bench` without --scale).
"""

from __future__ import annotations

import cProfile
import pstats
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from retrieval import Embedder, Engine, Index, Settings

from .bench import _p50_p95, _say, measure_retrieval
from .bench_cold import cold_env, cold_run, ragbot_command
from .bench_corpus import COLD_QUESTION, SYNTHETIC_NOTE, Say, build_seconds, questions, synthetic_store

# stage -> the (module file, function) pairs it runs in: cumulative time under cProfile, per question
STAGES = {
    "embed": (("retrieval/documents/embed.py", "embed_array"),),
    "dense": (("retrieval/storage/vectors.py", "query"), ("retrieval/storage/snapshot.py", "query")),
    "lexical": (("retrieval/storage/catalog.py", "search"),),
    "respell": (("retrieval/answering/spelling.py", "respell"),),
    "doc_freq": (("retrieval/storage/catalog.py", "doc_freq"),),
    "sentences": (("retrieval/answering/evidence.py", "score_sentences"),),
}
TOTAL = (("retrieval/answering/query.py", "find"),)


@dataclass(frozen=True)
class ScalePoint:
    passages: int
    build_s: float | None  # building the synthetic store (None: built by a bench that did not record it)
    retrieve_ms_p50: float
    retrieve_ms_p95: float
    cold_ask_s: float
    query_peak_rss_mb: float  # peak RSS of that cold `ragbot ask` (a query process)
    stages_ms: dict[str, float] = field(default_factory=dict)  # under cProfile; "other" is the rest


@dataclass(frozen=True)
class ScaleResult:
    points: list[ScalePoint]
    note: str = SYNTHETIC_NOTE
    png: str | None = None

    def growth(self) -> dict[str, float]:
        """How many times each figure (p50, p95, every stage) grew from the smallest to the largest size."""
        if len(self.points) < 2:
            return {}
        first, last = self.points[0], self.points[-1]
        out = {"retrieve_ms_p50": last.retrieve_ms_p50 / first.retrieve_ms_p50}
        out["retrieve_ms_p95"] = last.retrieve_ms_p95 / first.retrieve_ms_p95
        for stage, ms in last.stages_ms.items():
            out[stage] = ms / max(first.stages_ms.get(stage, 0.0), 0.01)
        return out

    def fastest_stage(self) -> str | None:
        """The stage whose time per question grew most in milliseconds from the smallest to the largest size."""
        if len(self.points) < 2:
            return None
        first, last = self.points[0], self.points[-1]
        added = {s: ms - first.stages_ms.get(s, 0.0) for s, ms in last.stages_ms.items() if s != "other"}
        return max(added, key=lambda s: added[s]) if added else None

    def to_json(self) -> dict[str, Any]:
        return {
            "note": self.note,
            "points": [asdict(p) for p in self.points],
            "growth": {k: round(v, 2) for k, v in self.growth().items()},
            "fastest_stage": self.fastest_stage(),
            "png": self.png,
        }


def stage_times(engine: Engine, asked: Sequence[str]) -> dict[str, float]:
    """Milliseconds per question of each retrieval stage, from one pass under cProfile."""
    profile = cProfile.Profile()
    profile.enable()
    for q in asked:
        engine.retrieve(q)
    profile.disable()
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(profile).stats  # type: ignore[attr-defined]

    def cumulative(where: tuple[tuple[str, str], ...]) -> float:
        return float(sum(v[3] for (f, _, name), v in raw.items() if any(name == n and f.endswith(m) for m, n in where)))

    n = max(len(asked), 1)
    out = {stage: round(cumulative(where) * 1000 / n, 2) for stage, where in STAGES.items()}
    out["other"] = round(max(cumulative(TOTAL) * 1000 / n - sum(out.values()), 0.0), 2)
    return out


def measure_size(
    settings: Settings, embedder: Embedder, n: int, work: Path, passes: int, progress: Say | None
) -> ScalePoint:
    target = synthetic_store(settings, embedder, n, progress)
    asked = questions(settings)
    _say(progress, f"retrieval: {len(asked)} questions x {passes} at {n:,} passages")
    live, timings = measure_retrieval(target, embedder, asked, passes)
    engine = Engine(target, Index.open(target, embedder=embedder))
    stages = stage_times(engine, asked)
    engine.index.close()
    _say(progress, f"cold ask at {n:,} passages")
    env, cwd = cold_env(target, work)
    wall, peak = cold_run([*ragbot_command(), "ask", COLD_QUESTION], env, cwd)
    p50, p95 = _p50_p95(timings)
    return ScalePoint(live, build_seconds(target), p50, p95, round(wall, 3), round(peak, 1), stages)


def run_scale(
    settings: Settings, sizes: Sequence[int], *, passes: int = 2, png: Path | None = None, progress: Say | None = None
) -> ScaleResult:
    """Every size, smallest first; the curve drawn to `png` when given."""
    embedder = Embedder(settings.embedding_model)
    with tempfile.TemporaryDirectory(prefix="ragbot-bench-scale-") as tmp:
        points = [measure_size(settings, embedder, n, Path(tmp), passes, progress) for n in sorted(set(sizes))]
    result = ScaleResult(points)
    if png is not None:
        plot(result, png)
        result = ScaleResult(points, png=str(png))
    return result


def plot(result: ScaleResult, path: Path) -> None:
    """Retrieval latency (p50, p95 and each stage), build time and the query process's peak RSS against
    the number of passages, on log-log axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [p.passages for p in result.points]
    fig, (lat, build, rss) = plt.subplots(1, 3, figsize=(15, 4.5))
    lat.plot(xs, [p.retrieve_ms_p95 for p in result.points], "o-", lw=2, label="retrieve p95")
    lat.plot(xs, [p.retrieve_ms_p50 for p in result.points], "o-", lw=2, label="retrieve p50")
    for stage in result.points[0].stages_ms:
        lat.plot(xs, [max(p.stages_ms.get(stage, 0.0), 0.01) for p in result.points], ".--", label=stage)
    lat.set(xscale="log", yscale="log", xlabel="passages", ylabel="ms per question", title="warm retrieval")
    lat.legend(fontsize=7)
    built = [(p.passages, p.build_s) for p in result.points if p.build_s is not None]
    build.plot([x for x, _ in built], [b for _, b in built], "o-")
    build.set(xscale="log", yscale="log", xlabel="passages", ylabel="seconds", title="building the store")
    rss.plot(xs, [p.query_peak_rss_mb for p in result.points], "o-", label="peak RSS (MiB)")
    rss.plot(xs, [p.cold_ask_s * 100 for p in result.points], "s--", label="cold ask (s x 100)")
    rss.set(xscale="log", xlabel="passages", title="a cold `ragbot ask`")
    rss.legend(fontsize=7)
    fig.suptitle(result.note, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
