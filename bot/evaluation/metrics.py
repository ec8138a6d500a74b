"""The metric definitions of `ragbot eval`: pure functions over plain data.

Text is compared after `normalize`: case-folded, curly quotes made straight, `[n]` markers removed
(the core's `strip_markers`: `[3]`, `[1, 2]`, `[2-4]`, with the space before each), whitespace
collapsed. Per question (or conversation turn) `grade` decides:
- a passage or citation *holds the evidence* when its normalised text contains a normalised
  evidence string;
- evidence hit@1: the first citation holds it; hit@k: one of the retrieved passages holds it;
  reciprocal rank: 1 / rank of the first retrieved passage that holds it (0 when none does);
- correct: the question was answered (not refused) and a gold answer occurs in the answer, starting
  at a word boundary ("Russia" matches "Russian Federation", "US" does not match inside "Russian");
  for `list` rows every gold item must occur;
- token F1: SQuAD's token F1 against the best gold answer (a `list` row's items form one answer);
  0 when refused;
- citation precision: the share of shown citations that hold the evidence;
- quote validity: the share of citations whose quote equals `text[start:end]` of its source;
- short answer EM / F1: SQuAD's exact match and token F1 of the phrase shown first (the answer's
  `short_answer`, else its text without markers), over answerable rows; 0 when refused;
- refusal AUC: ROC AUC of the judge's `confidence` for "answered correctly" against everything
  else (unanswerable rows and wrong answers), over all rows;
- outcome: answerable rows are passed when correct, unanswerable rows when refused; `passed`
  also asks an answerable row for evidence hit@1 (what report.md lists as failed and compares).
`summarize_grades` averages them over the rows each applies to (answerable rows; unanswerable rows
for refusal accuracy; later turns that depend on the earlier ones for follow-up accuracy, and later
turns marked standalone for standalone-turn accuracy, both by outcome; rows with citations for quote
validity) with percentile-bootstrap 95% intervals from a fixed seed, so reruns agree.
Does not run the engine or read files: run.py gathers the inputs, report.py formats the outputs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from retrieval import strip_markers

from .reliability import roc_auc

METRIC_KEYS = (
    "evidence_hit_at_1",
    "hit_at_k",
    "mrr",
    "answer_accuracy",
    "token_f1",
    "citation_precision",
    "quote_validity",
    "refusal_accuracy",
    "false_refusal_rate",
    "followup_accuracy",
    "standalone_accuracy",
    "short_answer_em",
    "short_answer_f1",
    "refusal_auc",
)
NEWER_KEYS = frozenset(
    {"standalone_accuracy", "short_answer_em", "short_answer_f1", "refusal_auc"}
)  # a baseline written before they existed may lack them
LOWER_IS_BETTER = frozenset({"false_refusal_rate"})
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 20240601

_QUOTES = str.maketrans(
    {"‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"'}
)
_ARTICLES = frozenset({"a", "an", "the"})


def normalize(text: str) -> str:
    """Lower-case, straight quotes, no `[n]` markers, single spaces."""
    return strip_markers(text.translate(_QUOTES)).lower()


def contains_answer(answer: str, gold: str) -> bool:
    """Does the normalised `gold` occur in the normalised `answer`, starting at a word boundary?"""
    needle = normalize(gold)
    if not needle:
        return False
    return re.search(r"(?<!\w)" + re.escape(needle), normalize(answer)) is not None


def answer_correct(answer: str, golds: Sequence[str], *, all_items: bool = False) -> bool:
    """Any gold answer contained; with `all_items` (list rows), every one of them."""
    if not golds:
        return False
    found = [contains_answer(answer, g) for g in golds]
    return all(found) if all_items else any(found)


def holds_evidence(text: str, evidence: Sequence[str]) -> bool:
    """Does `text` (a quote or a passage) contain one of the evidence strings?"""
    haystack = normalize(text)
    return any(normalize(e) and normalize(e) in haystack for e in evidence)


def _tokens(text: str) -> list[str]:
    return [t for t in re.findall(r"\w+", normalize(text)) if t not in _ARTICLES]


def token_f1(answer: str, gold: str) -> float:
    """SQuAD's token F1 (punctuation and the articles a/an/the dropped)."""
    pred, ref = _tokens(answer), _tokens(gold)
    if not pred or not ref:
        return float(pred == ref)
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def exact_match(answer: str, gold: str) -> bool:
    """SQuAD's exact match: the same tokens after normalising (punctuation and a/an/the dropped)."""
    return _tokens(answer) == _tokens(gold)


def reciprocal_rank(passages: Sequence[str], evidence: Sequence[str]) -> float:
    for rank, text in enumerate(passages, start=1):
        if holds_evidence(text, evidence):
            return 1.0 / rank
    return 0.0


def quote_valid(citation: Mapping[str, Any], sources: Mapping[str, str | None]) -> bool:
    """`quote == text[start:end]` of the cited source (an unreadable source fails)."""
    text = sources.get(citation["source"])
    return text is not None and text[citation["start"] : citation["end"]] == citation["quote"]


def grade(
    *,
    answers: Sequence[str],
    evidence: Sequence[str],
    answer: str,
    refused: bool,
    citations: Sequence[Mapping[str, Any]],
    passages: Sequence[str],
    sources: Mapping[str, str | None],
    is_list: bool = False,
    followup: bool = False,
    standalone: bool = False,
    short_answer: str | None = None,
    confidence: float | None = None,
) -> dict[str, Any]:
    """The grades of one question or turn; None where a measure does not apply. `followup`: a later
    turn that needs the earlier ones; `standalone`: a later turn marked as not needing them."""
    answerable = bool(answers)
    shown = list(citations)
    grades: dict[str, Any] = {
        "answerable": answerable,
        "refused": refused,
        "followup": followup,
        "standalone": standalone,
        "answer_chars": len(strip_markers(answer)),
        "confidence": confidence,
        "quote_validity": (sum(quote_valid(c, sources) for c in shown) / len(shown)) if shown else None,
    }
    if answerable:
        correct = not refused and answer_correct(answer, answers, all_items=is_list)
        golds = [" ".join(answers)] if is_list else list(answers)
        rr = reciprocal_rank(passages, evidence)
        shown_short = short_answer or strip_markers(answer)  # the phrase shown first, else the sentence
        grades.update(
            short_answer_em=False if refused else any(exact_match(shown_short, g) for g in golds),
            short_answer_f1=0.0 if refused else max(token_f1(shown_short, g) for g in golds),
            correct=correct,
            outcome=correct,
            evidence_hit_at_1=bool(shown) and not refused and holds_evidence(shown[0]["quote"], evidence),
            hit_at_k=rr > 0,
            reciprocal_rank=rr,
            token_f1=0.0 if refused else max(token_f1(answer, g) for g in golds),
            citation_precision=(
                sum(holds_evidence(c["quote"], evidence) for c in shown) / len(shown) if shown and not refused else None
            ),
        )
    else:
        grades.update(
            correct=None,
            outcome=refused,
            evidence_hit_at_1=None,
            hit_at_k=None,
            reciprocal_rank=None,
            token_f1=None,
            citation_precision=None,
            short_answer_em=None,
            short_answer_f1=None,
        )
    return grades


def passed(grades: Mapping[str, Any]) -> bool:
    """A question passes when answered correctly with the evidence cited first, or rightly refused."""
    if grades["answerable"]:
        return bool(grades["correct"] and grades["evidence_hit_at_1"])
    return bool(grades["refused"])


# -- aggregation ----------------------------------------------------------------------------
def bootstrap_ci(
    values: Sequence[float], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> list[float] | None:
    """Percentile-bootstrap 95% interval of the mean; the same inputs always give the same interval."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return None
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return [round(float(lo), 4), round(float(hi), 4)]


def metric(
    values: Sequence[float], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> dict[str, Any]:
    """`{"value", "ci95", "n"}` of the mean of `values`; value and ci95 are None when there are none."""
    if not values:
        return {"value": None, "ci95": None, "n": 0}
    return {
        "value": round(float(np.mean(values)), 4),
        "ci95": bootstrap_ci(values, resamples=resamples, seed=seed),
        "n": len(values),
    }


Grades = Mapping[str, Any]


def _values(grades: Iterable[Grades], key: str, where: Callable[[Grades], bool] = lambda g: True) -> list[float]:
    return [float(g[key]) for g in grades if where(g) and g.get(key) is not None]


def summarize_grades(
    grades: Sequence[Mapping[str, Any]], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> dict[str, dict[str, Any]]:
    """Every metric of METRIC_KEYS over a run's grades."""

    def answerable(g: Grades) -> bool:
        return bool(g["answerable"])

    def unanswerable(g: Grades) -> bool:
        return not g["answerable"]

    columns = {
        "evidence_hit_at_1": _values(grades, "evidence_hit_at_1", answerable),
        "hit_at_k": _values(grades, "hit_at_k", answerable),
        "mrr": _values(grades, "reciprocal_rank", answerable),
        "answer_accuracy": _values(grades, "correct", answerable),
        "token_f1": _values(grades, "token_f1", answerable),
        "citation_precision": _values(grades, "citation_precision", answerable),
        "quote_validity": _values(grades, "quote_validity"),
        "refusal_accuracy": _values(grades, "refused", unanswerable),
        "false_refusal_rate": _values(grades, "refused", answerable),
        "followup_accuracy": _values(grades, "outcome", lambda g: g["followup"]),
        "standalone_accuracy": _values(grades, "outcome", lambda g: bool(g.get("standalone"))),
        "short_answer_em": _values(grades, "short_answer_em", answerable),
        "short_answer_f1": _values(grades, "short_answer_f1", answerable),
    }
    out = {key: metric(columns[key], resamples=resamples, seed=seed) for key in METRIC_KEYS if key in columns}
    scored = [g for g in grades if g.get("confidence") is not None]
    auc = roc_auc([g["confidence"] for g in scored], [bool(g["answerable"] and g["correct"]) for g in scored])
    out["refusal_auc"] = {"value": None if auc is None else round(auc, 4), "ci95": None, "n": len(scored)}
    return {key: out[key] for key in METRIC_KEYS}


def percentiles(values: Sequence[float], *, digits: int = 1) -> dict[str, float | None]:
    """`{"p50", "p95"}` (linear interpolation) rounded to `digits` decimals, None when empty."""
    if not values:
        return {"p50": None, "p95": None}
    p50, p95 = np.percentile(np.asarray(values, dtype=float), [50, 95])
    return {"p50": round(float(p50), digits), "p95": round(float(p95), digits)}


def by_type(rows: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per question type: n, accuracy (share of outcomes passed), evidence hit@1 and share refused."""
    out: dict[str, dict[str, Any]] = {}
    for typ in dict.fromkeys(t for t, _ in rows):
        grades = [g for t, g in rows if t == typ]
        hit = _values(grades, "evidence_hit_at_1", lambda g: g["answerable"])
        out[typ] = {
            "n": len(grades),
            "accuracy": round(sum(bool(g["outcome"]) for g in grades) / len(grades), 4),
            "evidence_hit_at_1": round(sum(hit) / len(hit), 4) if hit else None,
            "refused": round(sum(bool(g["refused"]) for g in grades) / len(grades), 4),
        }
    return out


# -- comparisons and bounds ---------------------------------------------------------------------
def flips(before: Mapping[str, bool], after: Mapping[str, bool]) -> tuple[list[str], list[str]]:
    """(ids that passed before and fail now, ids that failed before and pass now), among ids in both."""
    common = [i for i in after if i in before]
    return [i for i in common if before[i] and not after[i]], [i for i in common if not before[i] and after[i]]


def parse_bound(text: str) -> tuple[str, float]:
    """`"answer_accuracy=0.9"` -> ("answer_accuracy", 0.9); ValueError naming what is wrong."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep:
        raise ValueError(f"{text!r} is not METRIC=VALUE")
    if key not in METRIC_KEYS:
        raise ValueError(f"unknown metric {key!r}; one of {', '.join(METRIC_KEYS)}")
    try:
        bound = float(value)
    except ValueError:
        raise ValueError(f"{value.strip()!r} is not a number") from None
    return key, bound


def failed_bounds(metrics: Mapping[str, Mapping[str, Any]], bounds: Sequence[tuple[str, float]]) -> list[str]:
    """A message for every metric below its bound (a metric with no rows fails its bound)."""
    failures = []
    for key, bound in bounds:
        value = metrics[key]["value"]
        if value is None:
            failures.append(f"{key} has no rows to measure (bound {bound:g})")
        elif value < bound:
            failures.append(f"{key} = {value:.4f} is below {bound:g}")
    return failures
