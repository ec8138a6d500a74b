"""The answerability judge at answer time: logistic regression in plain numpy from a JSON file.

judge.json holds {"version", "features": [...], "mean": [...], "scale": [...], "coef": [...],
"intercept": float, "refusal_threshold": float, "confident_threshold": float, "fitted_on": ...}.
`Judge.load(path)` checks it; `probability(features)` standardises the features in the stored order
and returns sigmoid(coef . z + intercept) in [0, 1]. A feature missing from the input counts as its
training mean (z = 0). Does not import scikit-learn or anything but numpy. `confidence_word` names
a confidence's band (low / medium / high) between the two thresholds, for every front-end to show.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from retrieval.answering.features import of_retrieval
from retrieval.errors import RagbotError

if TYPE_CHECKING:
    from retrieval.answering.query import Retrieval
    from retrieval.settings import Settings

FIT_COMMAND = "python -m bot.evaluation.judge_fit --squad ../shared/data/squad2-normans-complexity.json"
DEFAULT_PATH = Path(__file__).with_name("judge.json")


class JudgeFileError(RagbotError):
    """judge.json is missing or corrupt; the message names the file and the fit command."""

    exit_code = 1


@dataclass(frozen=True)
class Judge:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    refusal_threshold: float
    confident_threshold: float

    @classmethod
    def load(cls, path: Path | None = None) -> Judge:
        """The judge in `path` (default: the file shipped with the core); JudgeFileError when unusable."""
        path = path or DEFAULT_PATH

        def bad(why: str) -> JudgeFileError:
            return JudgeFileError(f"the judge file {path} {why}; refit it with `{FIT_COMMAND}`")

        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise bad("is missing") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise bad(f"cannot be read ({exc})") from None
        try:
            names = tuple(str(n) for n in data["features"])
            arrays = [np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "coef")]
            intercept = float(data["intercept"])
            thresholds = float(data["refusal_threshold"]), float(data["confident_threshold"])
        except (KeyError, TypeError, ValueError) as exc:
            raise bad(f"is not a judge file (bad or missing key: {exc})") from None
        if not names or any(a.shape != (len(names),) for a in arrays):
            raise bad("has arrays whose lengths do not match its feature list")
        if not all(np.isfinite(a).all() for a in arrays) or not math.isfinite(intercept):
            raise bad("holds a value that is not a finite number")
        if np.any(arrays[1] <= 0) or not all(0.0 <= t <= 1.0 for t in thresholds):
            raise bad("holds a non-positive scale or a threshold outside [0, 1]")
        return cls(names, arrays[0], arrays[1], arrays[2], intercept, *thresholds)

    def vector(self, features: Mapping[str, float]) -> np.ndarray:
        return np.array([features.get(n, m) for n, m in zip(self.features, self.mean, strict=True)], dtype=np.float64)

    def probability(self, features: Mapping[str, float]) -> float:
        """P(the sentence these features describe answers the question), in [0, 1]."""
        z = (self.vector(features) - self.mean) / self.scale
        logit = float(z @ self.coef + self.intercept)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))

    def contributions(self, features: Mapping[str, float]) -> dict[str, float]:
        """Each feature's share of the logit (for inspecting one decision)."""
        z = (self.vector(features) - self.mean) / self.scale
        return dict(zip(self.features, (z * self.coef).tolist(), strict=True))

    def confidence(self, found: Retrieval) -> float:
        """P(the best sentence found answers the question); 0.0 when nothing was found."""
        feats = of_retrieval(found)
        return self.probability(feats) if feats else 0.0


def thresholds(settings: Settings, judge: Judge | None = None) -> tuple[float, float]:
    """(refusal, confident) thresholds answers use: the settings' values, else the judge file's calibrated ones."""
    judge = judge or Judge.load()
    refusal, confident = settings.refusal_threshold, settings.confident_threshold
    return (
        judge.refusal_threshold if refusal is None else refusal,
        judge.confident_threshold if confident is None else confident,
    )


def confidence_word(confidence: float, thresholds: tuple[float, float]) -> str:
    """The band a confidence falls in, as every front-end shows it: "low", "medium" or "high".

    `thresholds` is (refusal, confident), as `Engine.thresholds` gives them: "low" below the refusal
    threshold (where answers are refused), "high" at or above the confident one, "medium" between.
    A confidence that is not a number (NaN) is "low".
    """
    refusal, confident = thresholds
    if not confidence >= refusal:  # NaN compares false: low
        return "low"
    return "high" if confidence >= confident else "medium"
