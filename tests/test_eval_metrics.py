"""The pure metric definitions of `ragbot eval` (bot/evaluation/metrics.py) and the threshold sweep."""

from __future__ import annotations

import json

import pytest

from bot.evaluation import metrics as m
from bot.evaluation.calibrate import Scored, best, calibrate, candidates, point

TEXT = "Aleppo’s Old City fell. “It is a significant landmark”, Assad said. Canada and the US called for a truce."


def cite(quote: str, start: int | None = None, source: str = "a.txt", n: int = 1) -> dict:
    start = TEXT.index(quote) if start is None else start
    return {"n": n, "source": source, "quote": quote, "start": start, "end": start + len(quote), "score": 0.5}


def test_normalize_folds_case_quotes_markers_and_whitespace():
    assert m.normalize("Aleppo’s  “Old”\nCity [1] fell [12].") == 'aleppo\'s "old" city fell.'
    assert m.normalize("Lavrov said so [1, 2] and [3-4].") == "lavrov said so and."


def test_answer_containment_starts_at_a_word_boundary():
    assert m.contains_answer("blocked by Russian Federation and China", "Russia")
    assert not m.contains_answer("blocked by Russian Federation", "US")
    assert m.contains_answer("Canada and the US called [1]", "us")
    assert m.contains_answer("seized about 80% of east Aleppo", "80%")
    assert m.contains_answer("would be “eradicated”, Lavrov said", '"eradicated"')
    assert not m.contains_answer("anything", "  ")


def test_list_rows_need_every_item_other_rows_any_gold():
    answer = "the leaders of Britain, Germany and the US [1]"
    assert m.answer_correct(answer, ["Britain", "France"])
    assert not m.answer_correct(answer, ["Britain", "France"], all_items=True)
    assert m.answer_correct(answer, ["Britain", "Germany", "US"], all_items=True)
    assert not m.answer_correct(answer, [])


def test_holds_evidence_compares_normalised_text():
    assert m.holds_evidence("“It is a significant landmark”, Assad said.", ['"it is a significant landmark"'])
    assert not m.holds_evidence("It is a landmark", ["significant landmark"])


def test_token_f1_is_squads():
    assert m.token_f1("the cat sat", "cat sat down") == pytest.approx(0.8)
    assert m.token_f1("The Cat [1]", "cat") == 1.0
    assert m.token_f1("dog", "cat") == 0.0
    assert m.token_f1("the", "a") == 1.0  # both empty after dropping articles


def test_reciprocal_rank_of_the_first_passage_holding_evidence():
    passages = ["nothing here", "the US called for a truce", "the US called again"]
    assert m.reciprocal_rank(passages, ["US called"]) == 0.5
    assert m.reciprocal_rank(passages, ["absent"]) == 0.0


def test_grade_of_a_correct_answer():
    quote = "“It is a significant landmark”, Assad said."
    g = m.grade(
        answers=["landmark"],
        evidence=["significant landmark"],
        answer=f"{quote} [1]",
        refused=False,
        citations=[cite(quote)],
        passages=["x", TEXT],
        sources={"a.txt": TEXT},
    )
    assert g["correct"] and g["outcome"] and g["evidence_hit_at_1"] and g["hit_at_k"]
    assert g["reciprocal_rank"] == 0.5
    assert g["citation_precision"] == 1.0 and g["quote_validity"] == 1.0
    assert g["answer_chars"] == len(quote)
    assert m.passed(g)


def test_grade_of_a_refused_answerable_question():
    g = m.grade(
        answers=["landmark"],
        evidence=["landmark"],
        answer="The article doesn't say.",
        refused=True,
        citations=[],
        passages=[TEXT],
        sources={},
    )
    assert g["refused"] and g["correct"] is False and g["evidence_hit_at_1"] is False
    assert g["token_f1"] == 0.0 and g["citation_precision"] is None and g["quote_validity"] is None
    assert g["hit_at_k"] is True  # retrieval found it even though the answer was refused
    assert not m.passed(g)


def test_grade_of_an_answered_unanswerable_question_and_bad_offsets():
    quote = "Aleppo’s Old City fell."
    wrong = cite(quote, start=1)
    g = m.grade(
        answers=[],
        evidence=[],
        answer=quote,
        refused=False,
        citations=[cite(quote), wrong],
        passages=[TEXT],
        sources={"a.txt": TEXT},
    )
    assert g["answerable"] is False and g["outcome"] is False
    assert g["correct"] is None and g["evidence_hit_at_1"] is None and g["citation_precision"] is None
    assert g["quote_validity"] == 0.5
    unreadable = m.grade(
        answers=[],
        evidence=[],
        answer=quote,
        refused=False,
        citations=[cite(quote)],
        passages=[],
        sources={"a.txt": None},
    )
    assert unreadable["quote_validity"] == 0.0


def test_right_answer_from_the_wrong_first_citation_is_correct_but_not_passed():
    first, second = "Aleppo’s Old City fell.", "Canada and the US called for a truce."
    g = m.grade(
        answers=["US"],
        evidence=["Canada and the US"],
        answer=f"{first} [1] {second} [2]",
        refused=False,
        citations=[cite(first), cite(second, n=2)],
        passages=[TEXT],
        sources={"a.txt": TEXT},
    )
    assert g["correct"] and not g["evidence_hit_at_1"]
    assert g["citation_precision"] == 0.5
    assert not m.passed(g)


def _g(
    answerable: bool, refused: bool, correct: bool | None = None, followup: bool = False, standalone: bool = False
) -> dict:
    return m.grade(
        answers=["x"] if answerable else [],
        evidence=["x"] if answerable else [],
        answer="x" if correct else "y",
        refused=refused,
        citations=[],
        passages=["x"] if correct else [],
        sources={},
        followup=followup,
        standalone=standalone,
    )


def test_summarize_averages_over_the_rows_each_metric_applies_to():
    grades = [
        _g(True, False, True),
        _g(True, False, False),
        _g(True, True),
        _g(False, True),
        _g(False, False),
        _g(False, True),
        _g(True, False, True, followup=True),
        _g(True, False, False, standalone=True),
        _g(False, True, standalone=True),
    ]
    s = m.summarize_grades(grades)
    assert list(s) == list(m.METRIC_KEYS)
    assert s["answer_accuracy"]["value"] == 0.4 and s["answer_accuracy"]["n"] == 5
    assert s["false_refusal_rate"]["value"] == 0.2
    assert s["refusal_accuracy"]["value"] == 0.75
    assert s["followup_accuracy"] == {"value": 1.0, "ci95": [1.0, 1.0], "n": 1}  # standalone turns are not in it
    assert s["standalone_accuracy"]["value"] == 0.5 and s["standalone_accuracy"]["n"] == 2
    assert s["quote_validity"] == {"value": None, "ci95": None, "n": 0}  # no citations anywhere
    lo, hi = s["answer_accuracy"]["ci95"]
    assert 0.0 <= lo <= 0.5 <= hi <= 1.0
    assert m.summarize_grades(grades) == s  # fixed seed: reruns agree


def test_bootstrap_is_reproducible_and_seed_dependent():
    values = [1, 0, 1, 1, 0, 1, 0, 1, 1, 1]
    assert m.bootstrap_ci(values) == m.bootstrap_ci(values)
    spread = [0.13, 0.52, 0.91, 0.27, 0.64, 0.08, 0.77]
    assert m.bootstrap_ci(spread, resamples=50, seed=1) != m.bootstrap_ci(spread, resamples=50, seed=2)
    assert m.bootstrap_ci([]) is None
    assert m.bootstrap_ci([0.25, 0.25]) == [0.25, 0.25]


def test_percentiles_and_by_type():
    assert m.percentiles([10, 20, 30, 40]) == {"p50": 25.0, "p95": 38.5}
    assert m.percentiles([]) == {"p50": None, "p95": None}
    rows = [("factoid", _g(True, False, True)), ("factoid", _g(True, True)), ("unanswerable", _g(False, True))]
    table = m.by_type(rows)
    assert table["factoid"] == {"n": 2, "accuracy": 0.5, "evidence_hit_at_1": 0.0, "refused": 0.5}
    assert table["unanswerable"]["accuracy"] == 1.0 and table["unanswerable"]["evidence_hit_at_1"] is None


def test_flips_and_bounds():
    assert m.flips({"a": True, "b": False, "c": True}, {"a": False, "b": True, "c": True, "d": False}) == (["a"], ["b"])
    assert m.parse_bound("answer_accuracy=0.9") == ("answer_accuracy", 0.9)
    for bad in ("answer_accuracy", "accuracy=0.9", "answer_accuracy=high"):
        with pytest.raises(ValueError):
            m.parse_bound(bad)
    summary = {"answer_accuracy": {"value": 0.85}, "followup_accuracy": {"value": None}, "mrr": {"value": 0.9}}
    failed = m.failed_bounds(summary, [("answer_accuracy", 0.9), ("followup_accuracy", 0.5), ("mrr", 0.9)])
    assert len(failed) == 2 and failed[0].startswith("answer_accuracy = 0.8500") and "no rows" in failed[1]


# -- the refusal threshold sweep ---------------------------------------------------------------
def _rows(answerable: list[float], unanswerable: list[float]) -> list[Scored]:
    return [Scored(f"a{i}", True, s) for i, s in enumerate(answerable)] + [
        Scored(f"u{i}", False, s) for i, s in enumerate(unanswerable)
    ]


def test_point_answers_at_or_above_the_threshold_like_the_engine():
    rows = _rows([0.5, 0.7], [0.5, 0.2])
    p = point(rows, 0.5)
    assert (p.false_refusals, p.false_answers, p.accuracy) == (0, 1, 0.75)
    assert p.refusal_accuracy == 0.5 and p.false_refusal_rate == 0.0


def test_best_threshold_sits_mid_gap_when_the_classes_separate():
    rows = _rows([0.5, 0.6, 0.7], [0.2, 0.3])
    chosen = best(rows)
    assert chosen.threshold == 0.4 and chosen.accuracy == 1.0
    assert candidates([0.2, 0.3]) == [0.0, 0.25, 0.65]


def test_best_threshold_ties_go_to_fewer_false_refusals():
    # answering everything and refusing above 0.5 are both 2/3 right; the first refuses nobody answerable
    rows = _rows([0.3, 0.7], [0.5])
    chosen = best(rows)
    assert chosen.threshold == 0.0 and chosen.false_refusals == 0 and chosen.accuracy == pytest.approx(2 / 3)


def test_calibrate_writes_table_plot_and_json(tmp_path):
    rows = _rows([0.45, 0.6, 0.8], [0.1, 0.3, 0.5])
    result = calibrate(rows, 0.35, tmp_path, "hybrid")
    assert result["recommended"]["threshold"] == 0.375
    assert result["current"]["false_answers"] == 1
    assert json.loads((tmp_path / "calibration.json").read_text())["recommended"] == result["recommended"]
    table = (tmp_path / "calibration.md").read_text()
    assert "| 0.375 (recommended) |" in table and "| 0.350 (current) |" in table
    assert (tmp_path / "calibration.png").read_bytes().startswith(b"\x89PNG")


def test_calibration_ignores_answerable_questions_answered_wrongly_anyway():
    # a0 scores lowest but its answer is wrong either way: it must not drag the threshold below u0
    rows = [
        Scored("a0", True, 0.10, correct=False),
        Scored("a1", True, 0.50, correct=True),
        Scored("a2", True, 0.60, correct=True),
        Scored("u0", False, 0.20),
    ]
    chosen = best(rows)
    assert 0.20 < chosen.threshold <= 0.50
    assert point(rows, chosen.threshold).accuracy == 0.75  # a0 is wrong at every threshold
    assert point(rows, 0.0).accuracy == 0.5  # u0 answered, a0 wrong
