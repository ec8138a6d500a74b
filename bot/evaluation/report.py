"""The files of an eval run: results.jsonl, summary.json, report.md, report.png and comparison.md.

report.md holds the metric table (with deltas when a baseline is given), the per-type breakdown,
the documents answered from (path and SHA-256), every failed question with what was answered and
cited, and against a baseline the questions whose outcome flipped and whether its documents differ.
report.png plots accuracy per question type and the latency distribution (matplotlib, Agg backend,
so no display is needed). comparison.md sets strategies side by side.
Does not compute metrics (metrics.py), run anything or print (the CLI's terminal.py shows the
metric table on the terminal, with `fmt`, `fmt_ci`, `delta` and `LABELS` from here).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .claims import claims_markdown
from .documents import differences
from .metrics import LOWER_IS_BETTER, METRIC_KEYS, flips, passed
from .reliability import reliability, reliability_plot

LABELS = {
    "evidence_hit_at_1": "evidence hit@1",
    "hit_at_k": "hit@k",
    "mrr": "MRR",
    "answer_accuracy": "answer accuracy",
    "token_f1": "token F1",
    "citation_precision": "citation precision",
    "quote_validity": "quote validity",
    "refusal_accuracy": "refusal accuracy",
    "false_refusal_rate": "false-refusal rate",
    "followup_accuracy": "follow-up accuracy",
    "standalone_accuracy": "standalone-turn accuracy",
    "short_answer_em": "short answer EM",
    "short_answer_f1": "short answer F1",
    "refusal_auc": "refusal AUC (confidence)",
}
QUOTE_CHARS = 220


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (imported on first use: it is slow to import)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def fmt(value: float | None) -> str:
    """A metric value with 3 decimals; '–' when there is none."""
    return "–" if value is None else f"{value:.3f}"


def fmt_ci(ci: Sequence[float] | None) -> str:
    """A 95% interval as '[lo, hi]'; '–' when there is none."""
    return "–" if not ci else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def delta(key: str, value: float | None, base: float | None) -> tuple[str, str]:
    """('+0.021', 'better'|'worse'|'') of value against base ('–', '' when either is missing)."""
    if value is None or base is None:
        return "–", ""
    d = value - base
    if abs(d) < 5e-5:
        return "0", ""
    better = d < 0 if key in LOWER_IS_BETTER else d > 0
    return f"{d:+.3f}", "better" if better else "worse"


def baseline_label(baseline: Mapping[str, Any]) -> str:
    meta = baseline.get("meta", {})
    revision, strategy = meta.get("git_revision") or "?", meta.get("strategy", "?")
    return f"{baseline.get('_path', 'baseline')} (revision {revision}, strategy {strategy})"


def _short(text: str, limit: int = QUOTE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _reason(record: Mapping[str, Any]) -> str | None:
    """Why a record did not pass (see metrics.passed), None when it did."""
    g = record["grades"]
    if passed(g):
        return None
    if "error" in record:
        return f"error: {record['error']}"
    if not g["answerable"]:
        return "answered a question the documents do not answer"
    if g["refused"]:
        return "refused"
    if not g["correct"]:
        return "wrong answer" + ("" if g["evidence_hit_at_1"] else ", evidence not cited first")
    return "right answer, but the first citation does not hold the evidence"


def failures(records: Sequence[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], str]]:
    return [(r, reason) for r in records if (reason := _reason(r))]


def metrics_table(summary: Mapping[str, Any], baseline: Mapping[str, Any] | None) -> list[str]:
    head = "| metric | value | 95% CI | n |"
    rule = "|---|---:|---|---:|"
    if baseline:
        head += " baseline | Δ |"
        rule += "---:|---|"
    lines = [head, rule]
    for key in METRIC_KEYS:
        m = summary[key]
        row = f"| {LABELS[key]} | {fmt(m['value'])} | {fmt_ci(m['ci95'])} | {m.get('n', '')} |"
        if baseline:
            base = (baseline.get(key) or {}).get("value")
            d, verdict = delta(key, m["value"], base)
            row += f" {fmt(base)} | {d} {verdict} |"
        lines.append(row)
    return lines


def report_markdown(
    summary: Mapping[str, Any], records: Sequence[Mapping[str, Any]], baseline: Mapping[str, Any] | None
) -> str:
    meta = summary["meta"]
    lat = summary["latency_ms"]
    chars = summary["answer_chars"]
    lines = [
        f"# ragbot eval: {meta['strategy']}",
        "",
        f"{meta['n']} questions ({meta['n_answerable']} answerable, {meta['n_unanswerable']} unanswerable, "
        f"{meta['n_followups']} follow-ups, {meta.get('n_standalone_turns', 0)} standalone later turns) "
        f"from {', '.join(meta['qa'])}; k={meta['k']}, mode {meta['mode']}"
        f"{', model ' + meta['model'] if meta['model'] else ''}, refusal threshold {meta['refusal_threshold']}, "
        f"revision {meta['git_revision'] or 'unknown'}, {meta['created']}.",
        f"95% intervals: percentile bootstrap, {meta['bootstrap_resamples']} resamples, seed {meta['bootstrap_seed']}.",
        "",
        "## Metrics",
        "",
        *metrics_table(summary, baseline),
        "",
        "| latency (ms) | p50 | p95 |",
        "|---|---:|---:|",
        *[f"| {stage} | {lat[stage]['p50']} | {lat[stage]['p95']} |" for stage in ("retrieve", "generate", "total")],
        "",
        f"Answer length (answered questions, characters): p50 {chars['p50']}, p95 {chars['p95']}, max {chars['max']}.",
        "",
        "## By question type",
        "",
        "| type | n | accuracy | evidence hit@1 | refused |",
        "|---|---:|---:|---:|---:|",
        *[
            f"| {t} | {v['n']} | {fmt(v['accuracy'])} | {fmt(v['evidence_hit_at_1'])} | {fmt(v['refused'])} |"
            for t, v in summary["by_type"].items()
        ],
        "",
        "Accuracy: answerable questions answered correctly; unanswerable ones refused.",
        *_file_lines(summary.get("by_file", {})),
        *_documents_lines(meta),
        *(claims_markdown(summary["claims"]) if summary.get("claims") else []),
    ]
    failed = failures(records)
    lines += ["", f"## Failed questions ({len(failed)})", ""]
    if not failed:
        lines.append("None.")
    for record, reason in failed:
        lines += _failure_lines(record, reason)
    if baseline:
        lines += ["", "## Against the baseline", "", f"Baseline: {baseline_label(baseline)}.", ""]
        note = differences(meta.get("documents", []), baseline)
        if note:
            lines += [f"**Warning**: {note}; the deltas may come from the documents, not the change.", ""]
        worse, better = flips(baseline.get("outcomes", {}), summary["outcomes"])
        questions = {r["id"]: r["question"] for r in records}
        reasons = {r["id"]: reason for r, reason in failed}
        lines.append(f"Now failing ({len(worse)}):" if worse else "Now failing: none.")
        lines += [f"- `{i}`: {questions[i]} ({reasons[i]})" for i in worse]
        lines.append(f"Now passing ({len(better)}):" if better else "Now passing: none.")
        lines += [f"- `{i}`: {questions[i]}" for i in better]
    return "\n".join(lines) + "\n"


def _documents_lines(meta: Mapping[str, Any]) -> list[str]:
    documents = meta.get("documents", [])
    docs = meta.get("docs")
    where = f" (a temporary store of {', '.join(docs)}; the configured store is not used)" if docs else ""
    lines = ["", "## Documents", "", f"Answered from {len(documents)} document(s){where}:", ""]
    lines += ["| document | SHA-256 |", "|---|---|", *[f"| {d['path']} | `{d['sha256']}` |" for d in documents]]
    return lines


def _failure_lines(record: Mapping[str, Any], reason: str) -> list[str]:
    gold = record.get("gold", {})
    out = [f"### `{record['id']}` ({record['type']}): {reason}", "", f"- question: {record['question']}"]
    if gold.get("answers"):
        out.append("- gold: " + " / ".join(f"`{a}`" for a in gold["answers"]))
    if "error" not in record:
        out.append(f"- answer: {_short(record['answer'])}")
        for c in record.get("citations", []):
            out.append(
                f"- cited [{c['n']}] {c['source']}:{c['start']}-{c['end']} ({c['score']:.3f}): “{_short(c['quote'])}”"
            )
        if record.get("closest"):
            s = record["closest"]
            out.append(f"- closest passage ({s['score']:.3f}): “{_short(s['quote'])}”")
    for e in gold.get("evidence", []):
        out.append(f"- evidence: “{_short(e)}”")
    out.append("")
    return out


def _file_lines(by_file: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The per-file breakdown, when the run read more than one Q&A file."""
    if len(by_file) < 2:
        return []
    keys = ("answer_accuracy", "refusal_accuracy", "false_refusal_rate", "short_answer_f1", "refusal_auc")
    return [
        "",
        "## By Q&A file",
        "",
        "| file | n | " + " | ".join(LABELS[k] for k in keys) + " |",
        "|---|---:|" + "---:|" * len(keys),
        *[f"| {name} | {v['n']} | " + " | ".join(fmt(v[k]) for k in keys) + " |" for name, v in by_file.items()],
    ]


def report_plot(summary: Mapping[str, Any], records: Sequence[Mapping[str, Any]], path: Path) -> None:
    plt = pyplot()
    types = list(summary["by_type"])
    accuracy = [summary["by_type"][t]["accuracy"] for t in types]
    fig, (left, right, third) = plt.subplots(1, 3, figsize=(16, 4))
    bars = left.barh(range(len(types)), accuracy, color="tab:blue")
    left.bar_label(bars, labels=[f"{a:.2f}" for a in accuracy], fontsize="small", padding=2)
    left.set_yticks(range(len(types)), [f"{t} (n={summary['by_type'][t]['n']})" for t in types], fontsize="small")
    left.invert_yaxis()
    left.set_xlim(0, 1.1)
    left.set_xlabel("accuracy (unanswerable: share refused)")
    left.set_title(f"Accuracy per question type ({summary['meta']['strategy']})")
    timings = [r["timings_ms"] for r in records if "timings_ms" in r]
    series = [[t[stage] for t in timings] for stage in ("retrieve", "generate", "total")]
    if timings:
        right.boxplot(series, showfliers=True)
        right.set_xticks([1, 2, 3], ["retrieve", "generate", "total"])
    right.set_ylabel("ms")
    right.set_title("Latency per question")
    reliability_plot(third, reliability(records))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_run(
    folder: Path, summary: Mapping[str, Any], records: Sequence[Mapping[str, Any]], baseline: Mapping[str, Any] | None
) -> None:
    """results.jsonl, summary.json, report.md and report.png in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "results.jsonl").open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "report.md").write_text(report_markdown(summary, records, baseline), encoding="utf-8")
    report_plot(summary, records, folder / "report.png")


def write_claim_records(folder: Path, records: Sequence[Mapping[str, Any]]) -> None:
    """claims.jsonl: each claim's gold verdict and the check's JSON object."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "claims.jsonl").open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def comparison_markdown(summaries: Mapping[str, Mapping[str, Any]]) -> str:
    """Strategies side by side: every metric, latency and accuracy per type; the best value in bold."""
    names = list(summaries)
    lines = ["# Strategy comparison", "", "| metric | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]

    def row(label: str, values: list[float | None], cells: list[str], lower_better: bool) -> str:
        known = [v for v in values if v is not None]
        top = (min(known) if lower_better else max(known)) if known else None
        differ = len(set(known)) > 1
        shown = [f"**{c}**" if differ and v == top else c for v, c in zip(values, cells, strict=True)]
        return f"| {label} | " + " | ".join(shown) + " |"

    for key in METRIC_KEYS:
        ms = [summaries[n][key] for n in names]
        lines.append(
            row(
                LABELS[key],
                [m["value"] for m in ms],
                [f"{fmt(m['value'])} {fmt_ci(m['ci95'])}" if m["ci95"] else fmt(m["value"]) for m in ms],
                key in LOWER_IS_BETTER,
            )
        )
    for stage in ("retrieve", "total"):
        for p in ("p50", "p95"):
            vals = [summaries[n]["latency_ms"][stage][p] for n in names]
            lines.append(row(f"latency {stage} {p} (ms)", vals, ["–" if v is None else str(v) for v in vals], True))
    types = list(dict.fromkeys(t for n in names for t in summaries[n]["by_type"]))
    lines += [
        "",
        "Accuracy per question type (unanswerable: refused):",
        "",
        "| type | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for t in types:
        vals = [summaries[n]["by_type"].get(t, {}).get("accuracy") for n in names]
        lines.append(row(t, vals, [fmt(v) for v in vals], False))
    return "\n".join(lines) + "\n"
