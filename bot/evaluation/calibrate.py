"""`ragbot eval --calibrate`: sweep the refusal threshold over the judge's confidence of a run.

The engine answers when the answerability judge's probability that its best evidence answers the
question (`Engine.judge.confidence(Engine.retrieve(question, history))`) reaches `refusal_threshold`
and refuses below it. Given each question's score, computed once, every threshold is evaluated in
memory: a decision is right when an unanswerable question is refused, or an answerable one is
answered and the answer the engine gives without a threshold is correct (when that is known). An
answerable question the engine would answer wrongly is wrong either way, so it does not pull the
threshold down. A false refusal costs as much as a wrong answer. The recommended value maximises the
share of right decisions among the thresholds that refuse at most MAX_FALSE_REFUSAL of the
answerable questions, then has the fewest false refusals, then is the lowest; it is the midpoint of
the score gap it falls in (rounded to 3 decimals when that keeps the same decisions), so it keeps
the widest margin on both sides. Writes calibration.md (table), calibration.png (curve and score
spread) and calibration.json. Does not change the setting: set RAGBOT_REFUSAL_THRESHOLD, or refit
the judge file. Does not judge the answers themselves (that is the rest of the run).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .report import fmt, pyplot

TABLE_STEP = 0.05
MAX_FALSE_REFUSAL = 0.05  # a product limit: at most one answerable question in twenty refused


@dataclass(frozen=True)
class Scored:
    id: str
    answerable: bool
    score: float
    correct: bool | None = None  # the unrefused answer holds a gold answer; None = not known


@dataclass(frozen=True)
class Point:
    threshold: float
    accuracy: float  # share of right refusal decisions
    refusal_accuracy: float | None  # unanswerable questions refused
    false_refusal_rate: float | None  # answerable questions refused
    false_refusals: int
    false_answers: int


def point(rows: Sequence[Scored], threshold: float) -> Point:
    """The refusal decisions at `threshold` (answer when score >= threshold)."""
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable]
    false_refusals = sum(r.score < threshold for r in answerable)
    false_answers = sum(r.score >= threshold for r in unanswerable)
    wrong_anyway = sum(r.correct is False and r.score >= threshold for r in answerable)
    right = len(rows) - false_refusals - false_answers - wrong_anyway
    return Point(
        threshold=threshold,
        accuracy=right / len(rows) if rows else 0.0,
        refusal_accuracy=(len(unanswerable) - false_answers) / len(unanswerable) if unanswerable else None,
        false_refusal_rate=false_refusals / len(answerable) if answerable else None,
        false_refusals=false_refusals,
        false_answers=false_answers,
    )


def candidates(scores: Sequence[float]) -> list[float]:
    """One threshold per distinct set of decisions: 0, each gap's midpoint, and above the top score."""
    distinct = sorted(set(scores))
    out = [0.0]
    for lo, hi in zip(distinct, distinct[1:], strict=False):
        mid = (lo + hi) / 2
        rounded = round(mid, 3)
        out.append(rounded if lo < rounded <= hi else mid)
    if distinct and distinct[-1] < 1.0:
        top = (distinct[-1] + 1.0) / 2
        out.append(round(top, 3) if round(top, 3) > distinct[-1] else top)
    return out


def best(rows: Sequence[Scored], max_false_refusal: float = MAX_FALSE_REFUSAL) -> Point:
    """Most right decisions among thresholds refusing at most `max_false_refusal` of the answerable
    questions, then fewest false refusals, then the lowest threshold."""
    if not rows:
        raise ValueError("no scored questions to calibrate on")
    points = [point(rows, t) for t in candidates([r.score for r in rows])]
    answerable = [r for r in rows if r.answerable and r.correct is not False]  # refusing a wrong answer harms no one
    allowed = [
        p
        for p in points
        if sum(r.score < p.threshold for r in answerable) <= max_false_refusal * len(answerable) + 1e-9
    ] or points[:1]
    return min(allowed, key=lambda p: (-p.accuracy, p.false_refusals, p.threshold))


def curve(rows: Sequence[Scored], step: float) -> list[Point]:
    n = round(1 / step)
    return [point(rows, round(i * step, 6)) for i in range(n + 1)]


def calibration_markdown(rows: Sequence[Scored], chosen: Point, current: Point, strategy: str) -> str:
    n_ans = sum(r.answerable for r in rows)
    n_un = len(rows) - n_ans
    lines = [
        f"# Refusal threshold calibration ({strategy})",
        "",
        f"{n_ans} answerable and {n_un} unanswerable questions; the engine answers when the judge's confidence "
        f"reaches the threshold (recommended: the most right decisions refusing at most {MAX_FALSE_REFUSAL:.0%} "
        "of the answerable questions).",
        "",
        f"**Recommended threshold: {chosen.threshold:.3f}**: {chosen.accuracy:.1%} of refusal decisions right, "
        f"{chosen.false_refusals} answerable refused, {chosen.false_answers} unanswerable answered.",
        f"Current setting {current.threshold:.3f}: {current.accuracy:.1%} right, {current.false_refusals} answerable "
        f"refused, {current.false_answers} unanswerable answered.",
        "",
        "| threshold | decisions right | unanswerable refused | answerable refused | false refusals | false answers |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    table = {p.threshold: p for p in curve(rows, TABLE_STEP)}
    table[chosen.threshold] = chosen
    table[current.threshold] = current
    for t in sorted(table):
        p = table[t]
        mark = " (recommended)" if t == chosen.threshold else ""
        mark += " (current)" if t == current.threshold else ""
        lines.append(
            f"| {t:.3f}{mark} | {p.accuracy:.3f} | {fmt(p.refusal_accuracy)} | {fmt(p.false_refusal_rate)} | "
            f"{p.false_refusals} | {p.false_answers} |"
        )
    lowest = sorted((r for r in rows if r.answerable), key=lambda r: r.score)[:5]
    highest = sorted((r for r in rows if not r.answerable), key=lambda r: -r.score)[:5]
    lines += ["", "Closest to the line:", ""]
    lines += [f"- answerable `{r.id}`: {r.score:.3f}" for r in lowest]
    lines += [f"- unanswerable `{r.id}`: {r.score:.3f}" for r in highest]
    return "\n".join(lines) + "\n"


def plot(rows: Sequence[Scored], chosen: Point, current: Point, path: Path) -> None:
    plt = pyplot()
    points = curve(rows, 0.005)
    xs = [p.threshold for p in points]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot(xs, [p.accuracy for p in points], label="decisions right")
    left.plot(
        xs,
        [p.refusal_accuracy if p.refusal_accuracy is not None else float("nan") for p in points],
        label="unanswerable refused",
    )
    left.plot(
        xs,
        [p.false_refusal_rate if p.false_refusal_rate is not None else float("nan") for p in points],
        label="answerable refused",
    )
    right.hist(
        [[r.score for r in rows if r.answerable], [r.score for r in rows if not r.answerable]],
        bins=20,
        range=(0, 1),
        label=["answerable", "unanswerable"],
        stacked=False,
    )
    for ax in (left, right):
        ax.axvline(chosen.threshold, color="green", linestyle="--", label=f"recommended {chosen.threshold:.3f}")
        ax.axvline(current.threshold, color="grey", linestyle=":", label=f"current {current.threshold:.3f}")
        ax.set_xlim(0, 1)
        ax.legend(fontsize="small")
    left.set_xlabel("refusal threshold")
    left.set_ylabel("share")
    left.set_title("Refusal trade-off")
    right.set_xlabel("evidence score (Engine.retrieve().best)")
    right.set_ylabel("questions")
    right.yaxis.get_major_locator().set_params(integer=True)
    right.set_title("Evidence scores")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def calibrate(rows: Sequence[Scored], current_threshold: float, folder: Path, strategy: str) -> dict[str, Any]:
    """Write the calibration files into `folder`; return calibration.json's content."""
    chosen = best(rows)
    current = point(rows, current_threshold)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "calibration.md").write_text(calibration_markdown(rows, chosen, current, strategy), encoding="utf-8")
    plot(rows, chosen, current, folder / "calibration.png")
    result = {
        "strategy": strategy,
        "recommended": asdict(chosen),
        "current": asdict(current),
        "curve": [asdict(p) for p in curve(rows, TABLE_STEP)],
        "scores": [asdict(r) for r in rows],
    }
    (folder / "calibration.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result
