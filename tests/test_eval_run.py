"""Running the Q&A set through the real engine: records, history, evidence scores, summaries, inputs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from bot.evaluation import metrics
from bot.evaluation.dataset import load_jsonl, parse_row
from bot.evaluation.run import answer_items
from bot.evaluation.summary import load_baseline, summarize
from retrieval import MAX_QUESTION_CHARS
from retrieval.errors import InputError
from tests.helpers import ROOT

QA = ROOT / "seeds" / "qa.jsonl"
SCHEMA = json.loads((ROOT / "tests" / "answer.schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def items():
    return {item[0].id.split("#")[0]: item for item in load_jsonl(QA)}


class Recording:
    """The real engine, remembering the history each question was answered with."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.settings = engine.settings
        self.calls: list[tuple[str, tuple]] = []

    def answer(self, question, history=(), **kw):
        self.calls.append((question, tuple(history)))
        return self.engine.answer(question, history, **kw)

    def retrieve(self, question, history=(), **kw):
        return self.engine.retrieve(question, history, **kw)


def test_the_shipped_set_loads_into_units(items):
    units = [u for item in items.values() for u in item]
    assert len(units) == len({u.id for u in units})
    assert {u.id for u in items["c01"]} == {"c01#1", "c01#2"}
    later = [u for u in units if u.turn >= 2]
    assert sum(u.followup for u in units) + sum(u.standalone_turn for u in units) == len(later)
    assert sum(u.standalone_turn for u in units) >= 6 and not any(u.followup and u.standalone for u in units)
    assert all(not u.answerable for u in units if u.type == "unanswerable")


def test_records_are_the_ask_json_object_plus_id_type_and_grades(engine, items):
    records = answer_items(engine, [items["q02"], items["u07"], items["l01"]], strategy="hybrid")
    assert [r["id"] for r in records] == ["q02", "u07", "l01"]
    for r in records:
        jsonschema.Draft202012Validator(SCHEMA).validate(r)
        assert r["retrieved"] and r["type"] in {"factoid", "unanswerable", "list"}
        g = r["grades"]
        assert g["refused"] is (not r["answerable"])
        if r["citations"]:
            assert g["quote_validity"] == 1.0  # the engine's quotes are exact
        if g["answerable"]:
            expected = not g["refused"] and metrics.answer_correct(
                r["answer"], r["gold"]["answers"], all_items=r["type"] == "list"
            )
            assert g["correct"] is expected


def test_conversation_turns_carry_the_engines_own_answers_as_history(engine, items):
    spy = Recording(engine)
    records = answer_items(spy, [items["c02"], items["q01"]], strategy="hybrid")
    assert [r["id"] for r in records] == ["c02#1", "c02#2", "q01"]
    (q1, h1), (q2, h2), (q3, h3) = spy.calls
    assert h1 == () and h3 == ()  # history starts empty for every item
    assert len(h2) == 1 and h2[0].question == q1 and h2[0].answer == records[0]["answer"]
    assert records[1]["grades"]["followup"] and not records[0]["grades"]["followup"]


def test_standalone_turns_are_graded_apart_from_follow_ups(engine, items):
    records = answer_items(engine, [items["c08"], items["c14"]], strategy="hybrid")
    grades = {r["id"]: r["grades"] for r in records}
    assert [(g["followup"], g["standalone"]) for g in grades.values()] == [
        (False, False),
        (False, True),
        (True, False),
        (False, False),
        (False, True),
    ]
    summary = summarize(records, settings=engine.settings, strategy="hybrid", qa=["seeds/qa.jsonl"])
    assert summary["meta"]["n_followups"] == 1 and summary["meta"]["n_standalone_turns"] == 2
    assert summary["followup_accuracy"]["n"] == 1 and summary["standalone_accuracy"]["n"] == 2
    assert summary["standalone_accuracy"]["value"] == 1.0  # neither is answered from the turn before it


@pytest.mark.parametrize(
    ("turns", "message"),
    [
        ([{"question": "a?", "answers": [], "standalone": True}, {"question": "b?", "answers": []}], "a later turn"),
        ([{"question": "a?", "answers": []}, {"question": "b?", "answers": [], "standalone": "yes"}], "true or false"),
    ],
)
def test_a_misplaced_or_malformed_standalone_mark_is_rejected(turns, message):
    with pytest.raises(InputError, match=message):
        parse_row({"id": "c", "type": "conversation", "turns": turns}, "qa.jsonl:1")


def test_standalone_is_optional_and_unknown_turn_keys_are_ignored():
    turns = [{"question": "a?", "answers": []}, {"question": "b?", "answers": [], "standalone": False, "note": "x"}]
    first, second = parse_row({"id": "c", "type": "conversation", "turns": turns}, "qa.jsonl:1")
    assert second.followup and not second.standalone_turn and not first.followup


def test_the_calibrated_score_is_the_confidence_the_engine_compares_to_its_threshold(engine, items):
    records = answer_items(engine, [items["q05"], items["u08"], items["c06"]], strategy="hybrid", score=True)
    for r in records:
        assert 0.0 <= r["evidence_score"] <= 1.0
        assert r["answerable"] is (r["evidence_score"] >= engine.thresholds[0])


def test_a_question_the_engine_rejects_becomes_an_error_record(engine):
    too_long = "why " * (MAX_QUESTION_CHARS // 4 + 1)
    item = parse_row(
        {
            "id": "c",
            "type": "conversation",
            "turns": [
                {"question": too_long, "answers": ["x"], "evidence": ["x"]},
                {"question": "Which agency carried Lavrov's remarks?", "answers": ["TASS"], "evidence": ["TASS"]},
            ],
        },
        "test",
    )
    records = answer_items(engine, [item])
    assert "error" in records[0] and records[0]["grades"]["refused"] and not records[0]["grades"]["correct"]
    jsonschema.Draft202012Validator(SCHEMA).validate({k: records[0][k] for k in ("question", "error")})
    assert "error" not in records[1] and records[1]["retrieved"]


def test_summary_has_meta_every_metric_latency_and_outcomes(engine, items):
    records = answer_items(engine, [items["q03"], items["u01"], items["c03"]], strategy="bm25")
    summary = summarize(records, settings=engine.settings, strategy="bm25", qa=["seeds/qa.jsonl"])
    meta = summary["meta"]
    assert (meta["n"], meta["n_answerable"], meta["n_unanswerable"], meta["n_followups"]) == (4, 3, 1, 1)
    assert meta["strategy"] == "bm25" and meta["mode"] == "extractive" and meta["model"] is None
    assert meta["k"] == engine.settings.top_k
    assert (
        meta["bootstrap_resamples"] == metrics.BOOTSTRAP_RESAMPLES and meta["bootstrap_seed"] == metrics.BOOTSTRAP_SEED
    )
    assert meta["git_revision"] is None or meta["git_revision"].isalnum()
    for key in metrics.METRIC_KEYS:
        assert set(summary[key]) == {"value", "ci95", "n"}
    assert summary["refusal_accuracy"]["n"] == 1 and summary["followup_accuracy"]["n"] == 1
    for stage in ("retrieve", "generate", "total"):
        assert summary["latency_ms"][stage]["p50"] <= summary["latency_ms"][stage]["p95"]
    assert set(summary["outcomes"]) == {"q03", "u01", "c03#1", "c03#2"}
    again = summarize(records, settings=engine.settings, strategy="bm25", qa=["seeds/qa.jsonl"])
    assert all(again[k] == summary[k] for k in metrics.METRIC_KEYS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"id": "a", "type": "factoid", "question": "q?", "answers": ["x"], "evidence": ["x"]}\nnot json',
            ":2: not valid JSON",
        ),
        ('{"id": "a", "type": "factoid", "question": "q?", "evidence": ["x"]}', "'answers' must be a list"),
        ('{"id": "a", "type": "factoid", "question": "q?", "answers": ["x"]}', "needs 'evidence'"),
        ('{"id": "a#1", "type": "factoid", "question": "q?", "answers": [], "evidence": []}', "without '#'"),
        ('{"id": "a", "type": "conversation", "turns": []}', "non-empty 'turns'"),
        ('{"id": "a", "type": "factoid", "question": " ", "answers": [], "evidence": []}', "'question' must be"),
        (
            '{"id": "a", "type": "unanswerable", "question": "q?", "answers": []}\n'
            '{"id": "a", "type": "unanswerable", "question": "r?", "answers": []}',
            "duplicate ids a",
        ),
        ("\n\n", "holds no questions"),
    ],
)
def test_a_malformed_set_is_rejected_with_its_line(tmp_path: Path, text: str, message: str):
    path = tmp_path / "qa.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_jsonl(path)


def test_load_jsonl_missing_file(tmp_path: Path):
    with pytest.raises(InputError, match="no such Q&A file"):
        load_jsonl(tmp_path / "absent.jsonl")


def test_baseline_from_a_file_or_a_results_folder(tmp_path: Path):
    summary = {key: {"value": 0.5, "ci95": [0.4, 0.6]} for key in metrics.METRIC_KEYS} | {"meta": {"strategy": "bm25"}}
    (tmp_path / "bm25").mkdir()
    (tmp_path / "bm25" / "summary.json").write_text(json.dumps(summary))
    assert load_baseline(tmp_path, "bm25")["meta"]["strategy"] == "bm25"
    assert load_baseline(tmp_path / "bm25" / "summary.json", "hybrid")["mrr"]["value"] == 0.5
    with pytest.raises(InputError, match="no baseline summary"):
        load_baseline(tmp_path, "hybrid")
    (tmp_path / "other.json").write_text('{"meta": {}}')
    with pytest.raises(InputError, match="not a `ragbot eval` summary"):
        load_baseline(tmp_path / "other.json", "hybrid")
