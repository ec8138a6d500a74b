"""Claim sets for `ragbot eval`: read and checked, each claim judged with `Engine.check`, and the
verdict metrics: accuracy per gold verdict, their macro average, and the confusion matrix.

One JSON object per line: `{"id", "claim", "verdict": "supported" | "contradicted" | "not_mentioned",
"kind"?, "evidence"?: [...]}` (`kind` says how a claim was made: "paraphrase", "number", "date",
"name", "negation"; other keys are ignored). A malformed set raises InputError naming the line.
`supported_with_facts` is the share of "supported" verdicts whose quotes hold every name, number
and date of the claim (`key_facts_missing`): it must be 1. Pure functions apart from `judge_claims`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from retrieval import CLAIM_VERDICTS, Engine, InputError, key_facts_missing

from .dataset import json_lines


def load_claims(path: Path) -> list[dict[str, Any]]:
    """The rows of a claim set; InputError naming the file and line when one is malformed."""
    rows, seen = [], set()
    for _, where, row in json_lines(path, "claim"):
        if not isinstance(row, dict):
            raise InputError(f"{where}: expected a JSON object")
        if not isinstance(row.get("id"), str) or not row["id"].strip() or row["id"] in seen:
            raise InputError(f"{where}: 'id' must be a non-empty string, unique in the file")
        if not isinstance(row.get("claim"), str) or not row["claim"].strip():
            raise InputError(f"{where}: 'claim' must be a non-empty string")
        if row.get("verdict") not in CLAIM_VERDICTS:
            raise InputError(f"{where}: 'verdict' must be one of {', '.join(CLAIM_VERDICTS)}")
        seen.add(row["id"])
        rows.append(row)
    if not rows:
        raise InputError(f"{path} holds no claims")
    return rows


def judge_claims(engine: Engine, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One record per claim: the gold verdict, the check's JSON object, and (supported) the key facts missing."""
    records = []
    for row in rows:
        check = engine.check(row["claim"])
        record = {"id": row["id"], "gold": row["verdict"], "kind": row.get("kind"), **check.to_json()}
        if check.verdict == "supported":
            record["facts_missing"] = key_facts_missing(row["claim"], [c.quote for c in check.citations])
        records.append(record)
    return records


def claim_metrics(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Accuracy per gold verdict, macro accuracy, the confusion matrix (gold -> predicted -> count)."""
    confusion = {g: dict.fromkeys(CLAIM_VERDICTS, 0) for g in CLAIM_VERDICTS}
    for r in records:
        confusion[r["gold"]][r["verdict"]] += 1
    per_class = {
        g: {"accuracy": (row[g] / n if (n := sum(row.values())) else None), "n": n} for g, row in confusion.items()
    }
    present = [v["accuracy"] for v in per_class.values() if v["accuracy"] is not None]
    supported = [r for r in records if r["verdict"] == "supported"]
    return {
        "n": len(records),
        "macro_accuracy": sum(present) / len(present) if present else None,
        "accuracy": sum(r["gold"] == r["verdict"] for r in records) / len(records) if records else None,
        "per_class": per_class,
        "confusion": confusion,
        "supported_with_facts": (
            sum(not r.get("facts_missing") for r in supported) / len(supported) if supported else None
        ),
        "misjudged": [
            {"id": r["id"], "claim": r["claim"], "gold": r["gold"], "verdict": r["verdict"]}
            for r in records
            if r["gold"] != r["verdict"]
        ],
    }


def claims_markdown(m: Mapping[str, Any]) -> list[str]:
    """report.md's claim-check section: per-class accuracy, macro, the confusion matrix, the misjudged claims."""

    def f(x: float | None) -> str:
        return "–" if x is None else f"{x:.3f}"

    lines = [
        "",
        f"## Claim check ({m['n']} claims from {m.get('file', '?')})",
        "",
        "| gold verdict | n | accuracy |",
        "|---|---:|---:|",
        *[f"| {g} | {v['n']} | {f(v['accuracy'])} |" for g, v in m["per_class"].items()],
        f"| **macro** | {m['n']} | {f(m['macro_accuracy'])} |",
        "",
        f"Supported verdicts whose quotes hold the claim's names, numbers and dates: {f(m['supported_with_facts'])}.",
        "",
        "Confusion matrix (rows: gold, columns: predicted):",
        "",
        "| gold \\ predicted | " + " | ".join(CLAIM_VERDICTS) + " |",
        "|---|" + "---:|" * len(CLAIM_VERDICTS),
        *[f"| {g} | " + " | ".join(str(row[p]) for p in CLAIM_VERDICTS) + " |" for g, row in m["confusion"].items()],
    ]
    wrong = m["misjudged"]
    lines += ["", f"Misjudged claims ({len(wrong)}):" if wrong else "Misjudged claims: none."]
    lines += [f"- `{r['id']}` ({r['gold']} judged {r['verdict']}): {r['claim']}" for r in wrong]
    return lines
