"""`ragbot eval` end to end: output folders, strategies, calibration, --compare, --min, --json, bad input."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.evaluation.metrics import METRIC_KEYS
from tests.helpers import ARTICLE, ROOT

SMALL_SET = ["q02", "p04", "l02", "y01", "n01", "u07", "u10", "c01", "c06"]


@pytest.fixture
def run(store_copy, tmp_path, monkeypatch):
    """Invoke the CLI in-process in tmp_path over a store copy; its seeds/ holds the article and a small set."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / ARTICLE.name).symlink_to(ARTICLE)  # cited sources are "seeds/<article>", relative to the cwd
    rows = [json.loads(line) for line in (ROOT / "seeds" / "qa.jsonl").read_text(encoding="utf-8").splitlines() if line]
    (seeds / "qa.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows if r["id"] in SMALL_SET), encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAGBOT_CHROMA_PATH", str(store_copy))
    monkeypatch.setenv("RAGBOT_SEEDS_DIR", str(seeds))
    monkeypatch.setenv("RAGBOT_LLM_MODEL", "")

    def invoke(*args: str):
        return CliRunner().invoke(cli, ["eval", *args], catch_exceptions=False)

    return invoke


def test_strategies_calibration_squad_then_compare_min_and_json(run, tmp_path):
    out = tmp_path / "first"
    result = run(
        "--qa",
        "seeds/qa.jsonl",
        "--qa",
        str(ROOT / "seeds" / "squad_sample.json"),
        "--strategy",
        "bm25",
        "--strategy",
        "hybrid",
        "--calibrate",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert "evidence hit@1" in result.stdout and "recommended refusal_threshold" in result.stdout
    comparison = (out / "comparison.md").read_text(encoding="utf-8")
    assert "| metric | bm25 | hybrid |" in comparison
    for strategy in ("bm25", "hybrid"):
        folder = out / strategy
        records = [json.loads(line) for line in (folder / "results.jsonl").read_text(encoding="utf-8").splitlines()]
        ids = [r["id"] for r in records]
        assert ids[:3] == ["q02", "p04", "l02"] and "c01#2" in ids and ids[-1].startswith("squad-sample-")
        assert all(r["question"] and "grades" in r and "evidence_score" in r for r in records)
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        assert summary["meta"]["strategy"] == strategy and summary["meta"]["n"] == len(records) == 31
        assert all(set(summary[k]) >= {"value", "ci95"} for k in METRIC_KEYS)
        assert summary["followup_accuracy"]["n"] == 2
        report = (folder / "report.md").read_text(encoding="utf-8")
        assert "## Metrics" in report and "## By question type" in report and "## Failed questions" in report
        assert "| squad |" in report
        for picture in ("report.png", "calibration.png"):
            assert (folder / picture).read_bytes().startswith(b"\x89PNG")
        calibration = json.loads((folder / "calibration.json").read_text(encoding="utf-8"))
        assert 0.0 <= calibration["recommended"]["threshold"] <= 1.0
        assert len(calibration["scores"]) == len(records)

    # defaults: the seeds folder's qa.jsonl and a new folder under eval-results/; against the hybrid run above
    second = run("--json", "--compare", str(out), "--min", "answer_accuracy=1.01", "--min", "quote_validity=0")
    assert second.exit_code == 1
    assert "answer_accuracy = " in second.stderr and "is below 1.01" in second.stderr
    assert "quote_validity" not in second.stderr
    summary = json.loads(second.stdout)
    assert summary["meta"]["qa"] == ["seeds/qa.jsonl"] and summary["meta"]["n"] == 11
    (folder,) = (tmp_path / "eval-results").iterdir()
    assert json.loads((folder / "summary.json").read_text(encoding="utf-8")) == summary
    report = (folder / "report.md").read_text(encoding="utf-8")
    assert "## Against the baseline" in report and str(out / "hybrid" / "summary.json") in report
    assert "| metric | value | 95% CI | n | baseline | Δ |" in report


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--min", "accuracy=0.9"], "unknown metric 'accuracy'"),
        (["--min", "answer_accuracy"], "is not METRIC=VALUE"),
        (["--qa", "missing.jsonl"], "no such Q&A file"),
        (["--compare", "nowhere.json"], "no baseline summary"),
    ],
)
def test_bad_input_fails_before_answering(run, tmp_path, args, message):
    result = run(*args, "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "out").exists()
