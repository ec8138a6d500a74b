"""How well the judge's confidence tells right answers from the rest: ROC AUC and a reliability diagram.

`roc_auc` scores the ranking (1.0: every question answered correctly has a higher confidence than
every other); `reliability` bins the questions by confidence and gives the share answered correctly
in each bin, which `reliability_plot` draws against the diagonal of a perfectly calibrated judge.
Pure functions over plain data; does not run the engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

RELIABILITY_BINS = 10


def roc_auc(scores: Sequence[float], positive: Sequence[bool]) -> float | None:
    """ROC AUC of `scores` for the positives (ties count half); None without both classes."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(positive, dtype=bool)
    pos, neg = s[y], s[~y]
    if not len(pos) or not len(neg):
        return None
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (len(pos) * len(neg)))


def reliability(records: Sequence[Mapping[str, Any]], bins: int = RELIABILITY_BINS) -> list[tuple[float, float, int]]:
    """(mean confidence, share answered correctly, n) per confidence bin: how far the judge's
    probability is from the frequency of right answers (a calibrated judge lies on the diagonal)."""
    rows = [
        (float(g["confidence"]), bool(g["answerable"] and g["correct"]))
        for r in records
        if (g := r.get("grades")) and g.get("confidence") is not None
    ]
    out = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(c, ok) for c, ok in rows if lo <= c < hi or (b == bins - 1 and c == 1.0)]
        if inside:
            out.append(
                (sum(c for c, _ in inside) / len(inside), sum(ok for _, ok in inside) / len(inside), len(inside))
            )
    return out


def reliability_plot(ax: Any, points: Sequence[tuple[float, float, int]]) -> None:
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    if points:
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", color="tab:green")
        for x, y, n in points:
            ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10), fontsize="x-small")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (judge's probability)")
    ax.set_ylabel("share answered correctly")
    ax.set_title("Reliability of the confidence")
