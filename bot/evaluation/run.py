"""Run an evaluation: answer every question with the bot's own `Engine.answer()`, grade, write, check.

Questions of a JSONL set are answered from a temporary store built from its documents (the seeds
folder, or the `docs` paths; documents.py), never from the configured store, so what else a user
ingested does not change the numbers; a SQuAD file is answered from a temporary collection of its
contexts (squad.py). The documents' paths and content hashes go into summary.json's meta, and a
baseline measured on other documents gets a warning (`EvalRun.warnings`). Conversation turns are
answered in order, each with the earlier turns and the engine's own earlier answers as history,
trimmed to `history_turns` as the chat does. Each strategy gets its own results; with `--calibrate`
each question's evidence score is computed once more with `Engine.retrieve()` and the threshold
sweep runs in memory (calibrate.py). `evaluate` returns an `EvalRun` (summaries, calibrations,
failed bounds, warnings) and writes the results folder (report.py).
Does not tune the engine, change settings or print: the CLI shows the returned run.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from retrieval import Answer, Embedder, Engine, InputError, Settings, Turn, clean_question, read_text

from . import metrics
from .dataset import LIST, Item, Unit, check_unique, load_jsonl
from .documents import differences, document_engine, document_files, fingerprint, shown
from .squad import is_squad, load_squad, temporary_engine
from .summary import current_threshold, load_baseline, summarize

STRATEGIES = ("dense", "bm25", "hybrid")
RESULTS_DIR = Path("eval-results")


@dataclass
class Dataset:
    """One Q&A file: its questions, and for SQuAD the contexts they are answered from."""

    path: Path
    items: list[Item]
    contexts: list[str] | None = None  # SQuAD: the documents it is answered from


@dataclass
class EvalRun:
    """What `evaluate` did, per strategy: summary.json's content, calibration, bounds missed."""

    folder: Path
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    calibrations: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed_bounds: dict[str, list[str]] = field(default_factory=dict)
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: dict[str, list[str]] = field(default_factory=dict)


def load_dataset(path: Path) -> Dataset:
    """Our JSONL set, or a SQuAD v2.0 `.json` file with its contexts."""
    if is_squad(path):
        contexts, items = load_squad(path)
        return Dataset(path, items, contexts)
    return Dataset(path, load_jsonl(path))


def source_text(source: str) -> str | None:
    """The text a citation's offsets refer to (None when the file cannot be read)."""
    try:
        return read_text(Path(source))
    except InputError:
        return None


def _record(unit: Unit, answer: Answer, scored: float | None, texts: dict[str, str | None]) -> dict[str, Any]:
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
        standalone=unit.standalone_turn,
        short_answer=answer.short_answer.text if answer.short_answer else None,
        confidence=answer.confidence,
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
        standalone=unit.standalone_turn,
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


def _from(path: Path, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records tagged with the Q&A file they came from (for the per-file breakdown)."""
    for r in records:
        r["qa_file"] = str(path)
    return records


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
                scored = engine.judge.confidence(found)
                if unit.answers and found.sentences:  # the answer it would give with no threshold
                    text = engine.extractive(unit.question, found).answer
                    unforced = metrics.answer_correct(text, unit.answers, all_items=unit.type == LIST)
            record = _record(unit, answer, scored, texts)
            if unforced is not None:
                record["answer_correct_unrefused"] = unforced
            records.append(record)
            history.append(Turn(unit.question, answer.answer))
    return records


def new_results_folder(root: Path = RESULTS_DIR) -> Path:
    """A results folder that does not exist yet: `<root>/<local time stamp>[-n]`."""
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
    docs: Sequence[Path] = (),
    claims: Path | None = None,
) -> EvalRun:
    """Answer, grade and write every strategy's results; input is checked before anything runs.
    JSONL sets are answered from a temporary store of `docs` (default: the seeds folder), and so is a
    claim set (`claims`, judged once with `Engine.check`; its metrics go into every summary as "claims")."""
    from .calibrate import Scored
    from .calibrate import calibrate as sweep
    from .claims import claim_metrics, judge_claims, load_claims
    from .report import comparison_markdown, write_claim_records, write_run

    strategies = list(dict.fromkeys(strategies)) or ["hybrid"]
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise InputError(f"unknown strategy {unknown[0]!r}; one of {', '.join(STRATEGIES)}")
    datasets = [load_dataset(p) for p in qa_paths]
    claim_rows = load_claims(claims) if claims else []
    claim_records: list[dict[str, Any]] = []
    check_unique([item for d in datasets for item in d.items], "the Q&A sets together")
    baselines = {s: load_baseline(compare, s) for s in strategies} if compare else {}
    doc_paths = list(docs) or [settings.seeds_dir]
    jsonl = any(d.contexts is None for d in datasets) or bool(claim_rows)
    files = document_files(doc_paths) if jsonl else []
    documents = fingerprint([*files, *(d.path for d in datasets if d.contexts is not None)])

    records: dict[str, list[dict[str, Any]]] = {s: [] for s in strategies}
    embedder = Embedder(settings.embedding_model)  # one model for every temporary store
    with ExitStack() as stack:
        shared: Engine | None = None
        for d in datasets:
            if d.contexts is not None:
                with temporary_engine(settings, d.contexts, embedder=embedder) as temp:
                    for s in strategies:
                        records[s] += _from(d.path, answer_items(temp, d.items, strategy=s, score=calibrate))
                continue
            if shared is None:  # built once, for every JSONL set
                shared = stack.enter_context(document_engine(settings, doc_paths, embedder=embedder))
            for s in strategies:
                records[s] += _from(d.path, answer_items(shared, d.items, strategy=s, score=calibrate))
        if claim_rows:
            if shared is None:
                shared = stack.enter_context(document_engine(settings, doc_paths, embedder=embedder))
            claim_records = judge_claims(shared, claim_rows)

    run = EvalRun(out, baselines=baselines)
    qa = [shown(p) for p in qa_paths]
    for s in strategies:
        folder = out if len(strategies) == 1 else out / s
        summary = summarize(
            records[s],
            settings=settings,
            strategy=s,
            qa=qa,
            docs=[shown(p) for p in doc_paths] if jsonl else [],
            documents=documents,
        )
        if claims is not None and claim_rows:
            summary["claims"] = {"file": shown(claims), **claim_metrics(claim_records)}
            write_claim_records(folder, claim_records)
        write_run(folder, summary, records[s], baselines.get(s))
        run.summaries[s] = summary
        if s in baselines and (note := differences(documents, baselines[s])):
            run.warnings[s] = [note]
        if calibrate:
            scored = [
                Scored(r["id"], r["grades"]["answerable"], r["evidence_score"], r.get("answer_correct_unrefused"))
                for r in records[s]
                if "evidence_score" in r
            ]
            run.calibrations[s] = sweep(scored, current_threshold(settings), folder, s)
        failed = metrics.failed_bounds(summary, bounds)
        if failed:
            run.failed_bounds[s] = failed
    if len(strategies) > 1:
        (out / "comparison.md").write_text(comparison_markdown(run.summaries), encoding="utf-8")
    return run
