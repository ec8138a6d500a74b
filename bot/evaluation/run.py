"""Run `ragbot eval`: answer every question with the bot's own `Engine.answer()`, grade, write, check.

Questions of a JSONL set are answered from the configured store (opened as the bot opens it, so a
fresh clone ingests seeds/ first); a SQuAD file is answered from a temporary collection of its
contexts (squad.py). Conversation turns are answered in order, each with the earlier turns and the
engine's own earlier answers as history, trimmed to `history_turns` as the chat does. Each strategy
gets its own results; with `--calibrate` each question's evidence score is computed once more with
`Engine.retrieve()` and the threshold sweep runs in memory (calibrate.py).
Does not tune the engine or change settings; it reports.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from retrieval.engine import Engine, clean_question
from retrieval.errors import InputError
from retrieval.schema import Turn
from retrieval.settings import Settings

from . import metrics
from .dataset import LIST, Item, Unit, check_unique, load_jsonl
from .squad import is_squad, load_squad, temporary_engine

STRATEGIES = ("dense", "bm25", "hybrid")
RESULTS_DIR = Path("eval-results")


@dataclass
class Dataset:
    path: Path
    items: list[Item]
    contexts: list[str] | None = None  # SQuAD: the documents it is answered from


@dataclass
class EvalRun:
    folder: Path
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    calibrations: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed_bounds: dict[str, list[str]] = field(default_factory=dict)
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)


def load_dataset(path: Path) -> Dataset:
    if is_squad(path):
        contexts, items = load_squad(path)
        return Dataset(path, items, contexts)
    return Dataset(path, load_jsonl(path))


def source_text(source: str) -> str | None:
    """The text a citation's offsets refer to (None when the file cannot be read)."""
    from retrieval.documents.load import read_text

    try:
        return read_text(Path(source))
    except InputError:
        return None


def _record(unit: Unit, answer, scored: float | None, texts: dict[str, str | None]) -> dict[str, Any]:
    for c in answer.citations:
        if c.source not in texts:
            texts[c.source] = source_text(c.source)
    data = answer.to_json()
    grades = metrics.grade(
        answers=unit.answers,
        evidence=unit.evidence,
        answer=answer.answer,
        refused=not answer.answerable,
        citations=data["citations"],
        passages=[h.passage.text for h in answer.retrieved],
        sources=texts,
        is_list=unit.type == LIST,
        followup=unit.followup,
    )
    record = {
        "id": unit.id,
        "type": unit.type,
        **data,
        "gold": {"answers": list(unit.answers), "evidence": list(unit.evidence)},
    }
    if scored is not None:
        record["evidence_score"] = round(scored, 6)
    record["grades"] = grades
    return record


def _error_record(unit: Unit, exc: InputError) -> dict[str, Any]:
    grades = metrics.grade(
        answers=unit.answers,
        evidence=unit.evidence,
        answer="",
        refused=True,
        citations=[],
        passages=[],
        sources={},
        is_list=unit.type == LIST,
        followup=unit.followup,
    )
    gold = {"answers": list(unit.answers), "evidence": list(unit.evidence)}
    return {
        "id": unit.id,
        "type": unit.type,
        "question": unit.question,
        "error": str(exc),
        "gold": gold,
        "grades": grades,
    }


def answer_items(
    engine: Engine, items: Sequence[Item], *, strategy: str = "hybrid", score: bool = False
) -> list[dict[str, Any]]:
    """One graded record per unit; conversations carry their history from turn to turn."""
    keep_turns = engine.settings.history_turns
    texts: dict[str, str | None] = {}  # source -> its text, read once per run
    records = []
    for item in items:
        history: list[Turn] = []
        for unit in item:
            recent = history[-keep_turns:] if keep_turns else []
            try:
                answer = engine.answer(unit.question, recent, strategy=strategy)
            except InputError as exc:
                records.append(_error_record(unit, exc))
                history.append(Turn(unit.question, ""))
                continue
            scored, unforced = None, None
            if score:
                found = engine.retrieve(clean_question(unit.question), recent, strategy=strategy)
                scored = found.best
                if unit.answers and found.sentences:  # the answer it would give with no threshold
                    text = engine.extractive(unit.question, found).answer
                    unforced = metrics.answer_correct(text, unit.answers, all_items=unit.type == LIST)
            record = _record(unit, answer, scored, texts)
            if unforced is not None:
                record["answer_correct_unrefused"] = unforced
            records.append(record)
            history.append(Turn(unit.question, answer.answer))
    return records


def git_revision() -> str | None:
    """`git rev-parse --short HEAD` of the checkout this code runs from; None when there is none."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def summarize(
    records: Sequence[dict[str, Any]], *, settings: Settings, strategy: str, qa: Sequence[str]
) -> dict[str, Any]:
    grades = [r["grades"] for r in records]
    answered = [
        g["answer_chars"] for r, g in zip(records, grades, strict=True) if not g["refused"] and "error" not in r
    ]
    timed = [r["timings_ms"] for r in records if "timings_ms" in r]
    chars = metrics.percentiles(answered)
    return {
        "meta": {
            "n": len(records),
            "n_answerable": sum(g["answerable"] for g in grades),
            "n_unanswerable": sum(not g["answerable"] for g in grades),
            "n_followups": sum(g["followup"] for g in grades),
            "errors": sum("error" in r for r in records),
            "k": settings.top_k,
            "mode": "llm" if settings.llm_model else "extractive",
            "model": settings.llm_model or None,
            "strategy": strategy,
            "refusal_threshold": settings.refusal_threshold,
            "embedding_model": settings.embedding_model,
            "qa": list(qa),
            "git_revision": git_revision(),
            "bootstrap_resamples": metrics.BOOTSTRAP_RESAMPLES,
            "bootstrap_seed": metrics.BOOTSTRAP_SEED,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        **metrics.summarize_grades(grades),
        "latency_ms": {
            stage: metrics.percentiles([t[stage] for t in timed]) for stage in ("retrieve", "generate", "total")
        },
        "answer_chars": {**chars, "max": max(answered) if answered else None},
        "by_type": metrics.by_type([(r["type"], r["grades"]) for r in records]),
        "outcomes": {r["id"]: metrics.passed(r["grades"]) for r in records},
    }


def load_baseline(path: Path, strategy: str) -> dict[str, Any]:
    """A summary.json, or a results folder (its `<strategy>/summary.json` when it has several)."""
    if path.is_dir():
        path = (
            path / strategy / "summary.json" if (path / strategy / "summary.json").is_file() else path / "summary.json"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"no baseline summary at {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read the baseline {path}: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), dict) for k in metrics.METRIC_KEYS):
        raise InputError(f"{path} is not a `ragbot eval` summary.json")
    return {**data, "_path": str(path)}


def new_results_folder(root: Path = RESULTS_DIR) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    folder, n = root / stamp, 1
    while folder.exists():
        n += 1
        folder = root / f"{stamp}-{n}"
    return folder


def evaluate(
    settings: Settings,
    qa_paths: Sequence[Path],
    *,
    out: Path,
    strategies: Sequence[str] = ("hybrid",),
    compare: Path | None = None,
    bounds: Sequence[tuple[str, float]] = (),
    calibrate: bool = False,
) -> EvalRun:
    """Answer, grade and write every strategy's results; input is checked before anything runs."""
    from retrieval.documents.ingest import open_index

    from .calibrate import Scored
    from .calibrate import calibrate as sweep
    from .report import comparison_markdown, write_run

    strategies = list(dict.fromkeys(strategies)) or ["hybrid"]
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise InputError(f"unknown strategy {unknown[0]!r}; one of {', '.join(STRATEGIES)}")
    datasets = [load_dataset(p) for p in qa_paths]
    check_unique([item for d in datasets for item in d.items], "the Q&A sets together")
    baselines = {s: load_baseline(compare, s) for s in strategies} if compare else {}

    records: dict[str, list[dict[str, Any]]] = {s: [] for s in strategies}
    engine = None
    if any(d.contexts is None for d in datasets):
        engine = Engine(settings, open_index(settings))
    for d in datasets:
        if d.contexts is None:
            for s in strategies:
                records[s] += answer_items(engine, d.items, strategy=s, score=calibrate)
            continue
        with temporary_engine(settings, d.contexts, embedder=engine.index.embedder if engine else None) as temp:
            for s in strategies:
                records[s] += answer_items(temp, d.items, strategy=s, score=calibrate)

    run = EvalRun(out, baselines=baselines)
    qa = [str(p) for p in qa_paths]
    for s in strategies:
        folder = out if len(strategies) == 1 else out / s
        summary = summarize(records[s], settings=settings, strategy=s, qa=qa)
        write_run(folder, summary, records[s], baselines.get(s))
        run.summaries[s] = summary
        if calibrate:
            scored = [
                Scored(r["id"], r["grades"]["answerable"], r["evidence_score"], r.get("answer_correct_unrefused"))
                for r in records[s]
                if "evidence_score" in r
            ]
            run.calibrations[s] = sweep(scored, settings.refusal_threshold, folder, s)
        failed = metrics.failed_bounds(summary, bounds)
        if failed:
            run.failed_bounds[s] = failed
    if len(strategies) > 1:
        (out / "comparison.md").write_text(comparison_markdown(run.summaries), encoding="utf-8")
    return run


def command(
    settings: Settings,
    qa: Sequence[Path],
    out: Path | None,
    strategies: Sequence[str],
    compare: Path | None,
    minimums: Sequence[str],
    calibrate: bool,
    as_json: bool,
) -> int:
    """`ragbot eval`: run, print the summary (a table, or JSON with --json); 1 when a --min bound fails."""
    import click

    try:
        bounds = [metrics.parse_bound(m) for m in minimums]
    except ValueError as exc:
        raise InputError(f"--min: {exc}") from None
    qa = list(qa) or [settings.seeds_dir / "qa.jsonl"]
    run = evaluate(
        settings,
        qa,
        out=out or new_results_folder(),
        strategies=strategies,
        compare=compare,
        bounds=bounds,
        calibrate=calibrate,
    )
    if as_json:
        payload = next(iter(run.summaries.values())) if len(run.summaries) == 1 else run.summaries
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        from rich.console import Console

        from .report import console_table

        console = Console(highlight=False)
        for s, summary in run.summaries.items():
            console.print(console_table(summary, run.baselines.get(s)))
    for s, cal in run.calibrations.items():
        rec, cur = cal["recommended"], cal["current"]
        click.echo(
            f"calibration ({s}): recommended refusal_threshold = {rec['threshold']:.3f} "
            f"({rec['accuracy']:.1%} of refusal decisions right, {rec['false_refusals']} answerable refused, "
            f"{rec['false_answers']} unanswerable answered); current {cur['threshold']:.3f} "
            f"({cur['accuracy']:.1%}, {cur['false_refusals']} refused, {cur['false_answers']} answered)",
            err=as_json,
        )
    click.echo(f"results in {run.folder}", err=True)
    for s, failed in run.failed_bounds.items():
        for message in failed:
            click.echo(f"ragbot eval: {s}: {message}", err=True)
    return 1 if run.failed_bounds else 0
