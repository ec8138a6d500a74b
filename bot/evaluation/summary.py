"""A run's summary.json and the baseline it is compared to (`ragbot eval --compare`).

`summarize` turns a strategy's graded records into the summary: the run's settings and provenance
(git revision, time, the documents answered from with their content hashes), every metric with its
interval, latency and answer-length percentiles, the per-type breakdown and each question's outcome.
`load_baseline` reads a committed summary.json (or a results folder) back. Does not grade
(metrics.py) or write files (report.py).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from retrieval import InputError, Settings, now_utc, refusal_thresholds

from . import metrics


def current_threshold(settings: Settings) -> float:
    """The refusal threshold answers use (the setting, else the judge file's calibrated one)."""
    return refusal_thresholds(settings)[0]


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
    records: Sequence[dict[str, Any]],
    *,
    settings: Settings,
    strategy: str,
    qa: Sequence[str],
    docs: Sequence[str] = (),
    documents: Sequence[dict[str, str]] = (),
) -> dict[str, Any]:
    """summary.json's content for one strategy's records; `docs` are the paths JSONL sets were answered
    from and `documents` the files with their hashes (documents.fingerprint)."""
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
            "n_standalone_turns": sum(bool(g.get("standalone")) for g in grades),
            "errors": sum("error" in r for r in records),
            "k": settings.top_k,
            "mode": "llm" if settings.llm_model else "extractive",
            "model": settings.llm_model or None,
            "strategy": strategy,
            "refusal_threshold": current_threshold(settings),
            "embedding_model": settings.embedding_model,
            "qa": list(qa),
            "docs": list(docs),
            "documents": list(documents),
            "git_revision": git_revision(),
            "bootstrap_resamples": metrics.BOOTSTRAP_RESAMPLES,
            "bootstrap_seed": metrics.BOOTSTRAP_SEED,
            "created": now_utc(),
        },
        **metrics.summarize_grades(grades),
        "latency_ms": {
            stage: metrics.percentiles([t[stage] for t in timed]) for stage in ("retrieve", "generate", "total")
        },
        "answer_chars": {**chars, "max": max(answered) if answered else None},
        "by_type": metrics.by_type([(r["type"], r["grades"]) for r in records]),
        "by_file": {
            name: {key: m["value"] for key, m in metrics.summarize_grades(g, resamples=1).items()} | {"n": len(g)}
            for name in dict.fromkeys(r.get("qa_file", "") for r in records)
            if len(g := [r["grades"] for r in records if r.get("qa_file", "") == name]) and name
        },
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
    required = [k for k in metrics.METRIC_KEYS if k not in metrics.NEWER_KEYS]
    if not isinstance(data, dict) or not all(isinstance(data.get(k), dict) for k in required):
        raise InputError(f"{path} is not a `ragbot eval` summary.json")
    return {**data, "_path": str(path)}
