"""Fit the answerability judge, cross-validate it, and write the judge file the core reads.

    python -m bot.evaluation.judge_fit --squad ../shared/data/squad2-normans-complexity.json

1. examples (judge_data.py): seeds/qa.jsonl over seeds/, the SQuAD file over its contexts, and
   hard negatives (training only);
2. a logistic regression over a few inspectable features of the best sentence (FEATURES),
   standardised; seed rows weigh 1, their hard negatives SEED_NEGATIVE_WEIGHT, SQuAD rows
   SQUAD_WEIGHT (SQuAD's reworded questions are near chance for lexical features and, at full
   weight, drown the near-topic questions users ask);
3. cross-validation, reported per held-out set: each SQuAD article held out in turn (its
   paragraphs never split) and the JSONL set in 5 folds by row or conversation; each fold's
   refusal threshold is chosen on its own training questions with `choose_threshold`;
4. the final fit on everything; the refusal threshold chosen on the pooled out-of-fold
   probabilities, and the confident threshold (LLM mode) as the lowest at which the JSONL set's
   out-of-fold answered questions are right at least CONFIDENT_PRECISION of the time.
Fitting needs scikit-learn (a dev dependency); answering reads the JSON with numpy alone.
Refits on the same data are identical (lbfgs, fixed random_state). Prints; writes only --out.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from retrieval import JUDGE_PATH, load_settings

from .calibrate import MAX_FALSE_REFUSAL
from .judge_data import Example, build
from .reliability import roc_auc

FEATURES = ("score", "missing_entity_idf", "value_missing")
SEED_NEGATIVE_WEIGHT = 0.3
SQUAD_WEIGHT = 0.1
C = 1.0
FOLDS = 5
CONFIDENT_PRECISION = 0.95

Params = tuple[np.ndarray, np.ndarray, np.ndarray, float]


def matrix(examples: Sequence[Example]) -> np.ndarray:
    return np.array([[ex.features.get(f, 0.0) for f in FEATURES] for ex in examples], dtype=np.float64)


def weight(ex: Example) -> float:
    if ex.corpus == "squad":
        return SQUAD_WEIGHT
    return 1.0 if ex.kind.startswith("real") else SEED_NEGATIVE_WEIGHT


def fit(examples: Sequence[Example]) -> Params:
    from sklearn.linear_model import LogisticRegression

    x = matrix(examples)
    y = np.array([ex.label for ex in examples])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=C, max_iter=5000, random_state=0)
    model.fit((x - mean) / scale, y, sample_weight=np.array([weight(ex) for ex in examples]))
    return mean, scale, model.coef_[0], float(model.intercept_[0])


def predict(params: Params, examples: Sequence[Example]) -> np.ndarray:
    mean, scale, coef, intercept = params
    logit = ((matrix(examples) - mean) / scale) @ coef + intercept
    p: np.ndarray = 1.0 / (1.0 + np.exp(-logit))
    p[[not ex.features for ex in examples]] = 0.0  # nothing retrieved: the engine refuses
    return p


def decisions(p: np.ndarray, examples: Sequence[Example], t: float) -> dict[str, float]:
    answerable = np.array([ex.answerable for ex in examples])
    right = np.array([ex.label for ex in examples])
    answered = p >= t
    w = np.array([weight(ex) for ex in examples])  # the share of SQuAD's questions is not a user's
    return {
        "threshold": t,
        "refusal": float((~answered[~answerable]).mean()) if (~answerable).any() else float("nan"),
        "false_refusal": float((~answered[answerable]).mean()) if answerable.any() else float("nan"),
        "accuracy": float((answered & right)[answerable].mean()) if answerable.any() else float("nan"),
        "right": float((w * (((~answered) & ~answerable) | (answered & right))).sum() / max(w.sum(), 1e-9)),
    }


def choose_threshold(p: np.ndarray, examples: Sequence[Example]) -> float:
    """The threshold with the most right decisions (a refused unanswerable question, a correctly
    answered answerable one; a false refusal costs as much as a wrong answer) among those refusing at
    most MAX_FALSE_REFUSAL of the answerable questions, then the lowest."""
    candidates = np.unique(np.concatenate([[0.0], p]))
    scores = []
    for t in candidates:
        d = decisions(p, examples, float(t))
        scores.append(d["right"] if d["false_refusal"] <= MAX_FALSE_REFUSAL + 1e-9 else -1.0)
    best = int(np.argmax(scores))
    upper = candidates[best + 1] if best + 1 < len(candidates) else candidates[best]
    return round(float((candidates[best] + upper) / 2), 4)  # midway to the next distinct probability


def confident_threshold(p: np.ndarray, examples: Sequence[Example]) -> float:
    """The lowest threshold above which extractive answers are right CONFIDENT_PRECISION of the time
    (weighted as in fitting), so a model's refusal there is more likely wrong than the quote."""
    right = np.array([ex.label for ex in examples], dtype=np.float64)
    w = np.array([weight(ex) for ex in examples])
    for t in np.round(np.arange(0.05, 1.0, 0.01), 2):
        answered = p >= t
        if answered.any() and (w * right)[answered].sum() / w[answered].sum() >= CONFIDENT_PRECISION:
            return float(t)
    return 1.0


def folds(examples: Sequence[Example]) -> list[tuple[str, list[int], list[int]]]:
    """(name, train indices, test indices): SQuAD articles held out in turn, then JSONL folds."""
    real = [i for i, ex in enumerate(examples) if ex.kind.startswith("real")]
    out = []
    for title in sorted({examples[i].group for i in real if examples[i].corpus == "squad"}):
        test = [i for i in real if examples[i].corpus == "squad" and examples[i].group == title]
        train = [i for i, ex in enumerate(examples) if not (ex.corpus == "squad" and ex.group == title)]
        out.append((f"SQuAD, held out: {title}", train, test))
    groups = sorted({ex.group for ex in examples if ex.corpus == "seeds"})
    fold_of = {g: k % FOLDS for k, g in enumerate(groups)}
    for k in range(FOLDS):
        test = [i for i in real if examples[i].corpus == "seeds" and fold_of[examples[i].group] == k]
        train = [i for i, ex in enumerate(examples) if not (ex.corpus == "seeds" and fold_of[ex.group] == k)]
        out.append((f"seeds fold {k + 1}", train, test))
    return out


def curve(p: np.ndarray, examples: Sequence[Example]) -> list[str]:
    rows = ["| threshold | refusal | false refusal | answer accuracy | right among answered |", "|---|---|---|---|---|"]
    right = np.array([ex.label for ex in examples])
    for t in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        d = decisions(p, examples, t)
        precision = right[p >= t].mean() if (p >= t).any() else float("nan")
        rows.append(
            f"| {t:.2f} | {d['refusal']:.3f} | {d['false_refusal']:.3f} | {d['accuracy']:.3f} | {precision:.3f} |"
        )
    return rows


def _fmt_auc(value: float | None) -> str:
    return "nan" if value is None else f"{value:.3f}"


def report(name: str, p: np.ndarray, examples: Sequence[Example], t: float) -> str:
    d = decisions(p, examples, t)
    y = np.array([ex.label for ex in examples])
    return (
        f"| {name} | {len(examples)} | {_fmt_auc(roc_auc(p.tolist(), y.tolist()))} | {t:.3f} | {d['refusal']:.3f} | "
        f"{d['false_refusal']:.3f} | {d['accuracy']:.3f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--qa", type=Path, default=Path("seeds/qa.jsonl"))
    parser.add_argument("--docs", type=Path, default=Path("seeds"))
    parser.add_argument("--squad", type=Path, default=None, help="a SQuAD v2.0 file (e.g. the shared one)")
    parser.add_argument("--out", type=Path, default=JUDGE_PATH)
    args = parser.parse_args(argv)
    examples = list(build(load_settings(), args.qa, args.docs, args.squad))
    lines = ["| held-out set | questions | ROC AUC | threshold | refusal | false refusal | answer accuracy |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    pooled = np.zeros(len(examples))
    for name, train, test in folds(examples):
        tr = [examples[i] for i in train]
        params = fit(tr)
        real_train = [ex for ex in tr if ex.kind.startswith("real")]
        t = choose_threshold(predict(params, real_train), real_train)
        te = [examples[i] for i in test]
        p = predict(params, te)
        pooled[test] = p
        lines.append(report(name, p, te, t))
    real = [i for i, ex in enumerate(examples) if ex.kind.startswith("real")]
    oof = pooled[real]
    real_examples = [examples[i] for i in real]
    refusal = choose_threshold(oof, real_examples)
    user_like = [k for k, ex in enumerate(real_examples) if ex.corpus == "seeds"]  # questions people ask
    confident = max(confident_threshold(oof[user_like], [real_examples[k] for k in user_like]), refusal)
    for corpus in ("seeds", "squad"):
        idx = [k for k, ex in enumerate(real_examples) if ex.corpus == corpus]
        if idx:
            sub = [real_examples[k] for k in idx]
            lines += [
                "",
                f"out-of-fold {corpus}: at the chosen threshold {refusal:.3f}",
                report(corpus, oof[idx], sub, refusal),
            ]
            lines += ["", f"trade-off on {corpus} (out-of-fold):", *curve(oof[idx], sub)]
    mean, scale, coef, intercept = fit(examples)
    judge: dict[str, Any] = {
        "version": 1,
        "features": list(FEATURES),
        "mean": mean.round(6).tolist(),
        "scale": scale.round(6).tolist(),
        "coef": coef.round(6).tolist(),
        "intercept": round(intercept, 6),
        "refusal_threshold": refusal,
        "confident_threshold": confident,
        "fitted_on": {
            "qa": str(args.qa),
            "squad": str(args.squad) if args.squad else None,
            "examples": len(examples),
            "real": len(real),
            "weights": {"seed_negatives": SEED_NEGATIVE_WEIGHT, "squad": SQUAD_WEIGHT},
        },
    }
    args.out.write_text(json.dumps(judge, indent=1) + "\n", encoding="utf-8")
    lines += ["", f"weights (standardised): {dict(zip(FEATURES, coef.round(3).tolist(), strict=True))}",
              f"refusal threshold {refusal:.3f}, confident threshold {confident:.3f}; wrote {args.out}"]  # fmt: skip
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
