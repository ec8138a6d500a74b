"""Claim sets in `ragbot eval`: per-class accuracy, macro accuracy and the confusion matrix (pure
functions), report.md's section, the default run's claims, and malformed claim files."""

from __future__ import annotations

import json

import pytest

from bot.evaluation.claims import claim_metrics, claims_markdown, load_claims
from retrieval import InputError
from tests.helpers import ROOT


def rec(gold: str, verdict: str, **extra) -> dict:
    return {"id": f"{gold}-{verdict}", "claim": "c", "gold": gold, "verdict": verdict, **extra}


def test_metrics_per_class_macro_and_confusion():
    records = [
        rec("supported", "supported"),
        rec("supported", "not_mentioned"),
        rec("contradicted", "contradicted"),
        rec("not_mentioned", "not_mentioned"),
        rec("not_mentioned", "contradicted"),
        rec("not_mentioned", "not_mentioned"),
    ]
    m = claim_metrics(records)
    assert m["per_class"]["supported"] == {"accuracy": 0.5, "n": 2}
    assert m["per_class"]["contradicted"] == {"accuracy": 1.0, "n": 1}
    assert m["per_class"]["not_mentioned"]["accuracy"] == pytest.approx(2 / 3)
    assert m["macro_accuracy"] == pytest.approx((0.5 + 1 + 2 / 3) / 3)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["confusion"]["not_mentioned"] == {"supported": 0, "contradicted": 1, "not_mentioned": 2}
    assert len(m["misjudged"]) == 2
    text = "\n".join(claims_markdown({"file": "x.jsonl", **m}))
    assert "| not_mentioned | 0 | 1 | 2 |" in text and "| **macro** | 6 | 0.722 |" in text


def test_supported_with_facts_counts_quotes_missing_a_fact():
    m = claim_metrics(
        [rec("supported", "supported", facts_missing=[]), rec("supported", "supported", facts_missing=["Sunday"])]
    )
    assert m["supported_with_facts"] == 0.5


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"id": "a", "claim": "x", "verdict": "true"}', "'verdict' must be one of"),
        ('{"id": "a", "claim": "", "verdict": "supported"}', "'claim' must be"),
        ("not json", "not valid JSON"),
    ],
)
def test_a_malformed_claim_file_names_its_line(tmp_path, line, message):
    path = tmp_path / "claims.jsonl"
    path.write_text('{"id": "ok", "claim": "China blocked it.", "verdict": "supported"}\n' + line + "\n")
    with pytest.raises(InputError, match=rf"claims.jsonl:2: {message}"):
        load_claims(path)


def test_eval_with_claims_writes_the_section_and_the_records(run_cli, tmp_path):
    qa = tmp_path / "qa.jsonl"
    qa.write_text((ROOT / "seeds" / "qa.jsonl").read_text(encoding="utf-8").splitlines()[1] + "\n")
    claims = tmp_path / "claims.jsonl"
    rows = [json.loads(line) for line in (ROOT / "seeds" / "claims.jsonl").read_text(encoding="utf-8").splitlines()]
    claims.write_text("".join(json.dumps(r) + "\n" for r in rows[::8]))
    result = run_cli("eval", "--qa", str(qa), "--claims", str(claims), "--out", str(tmp_path / "out"), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["claims"]["n"] == len(rows[::8]) and summary["claims"]["macro_accuracy"] is not None
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "## Claim check" in report and "Confusion matrix" in report
    records = (tmp_path / "out" / "claims.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(r)["id"] for r in records] == [r["id"] for r in rows[::8]]
    assert "claim check (hybrid): macro accuracy" in result.stderr
