"""Sanity checks for the ragbot evaluation Q&A set in seeds/qa.jsonl."""

import json
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QA_PATH = ROOT / "seeds" / "qa.jsonl"
ARTICLE_PATH = ROOT / "seeds" / "000_7f696d753bde9fea.txt"

ANSWERABLE_TYPES = {"factoid", "paraphrase", "list", "why_how", "yes_no", "noisy"}
MIN_ANSWERABLE = 40
MIN_UNANSWERABLE = 8
MIN_CONVERSATIONS = 5
MIN_STANDALONE_TURNS = 6  # later turns that switch topic and must not lean on the previous one

QUOTE_MAP = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def norm(text):
    return " ".join(text.translate(QUOTE_MAP).lower().split())


@pytest.fixture(scope="module")
def article():
    return ARTICLE_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rows():
    lines = [line for line in QA_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
    parsed = []
    for n, line in enumerate(lines, 1):
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError as exc:  # pragma: no cover - failure path
            pytest.fail(f"line {n} does not parse: {exc}")
    return parsed


def units(rows):
    """Yield (label, type, unit) for every single question and every conversation turn (a turn with no
    answers, which the article does not answer, as "unanswerable")."""
    for r in rows:
        if r["type"] == "conversation":
            for i, turn in enumerate(r["turns"]):
                yield f"{r['id']}[{i}]", "conversation" if turn["answers"] else "unanswerable", turn
        else:
            yield r["id"], r["type"], r


def test_lines_parse(rows):
    assert rows
    for r in rows:
        assert isinstance(r, dict)
        assert "id" in r and "type" in r


def test_ids_unique(rows):
    dup = [i for i, c in Counter(r["id"] for r in rows).items() if c > 1]
    assert not dup, f"duplicate ids: {dup}"


def test_types_known(rows):
    allowed = ANSWERABLE_TYPES | {"unanswerable", "conversation"}
    for r in rows:
        assert r["type"] in allowed, r["id"]


def test_evidence_verbatim(rows, article):
    for label, _, unit in units(rows):
        for ev in unit["evidence"]:
            assert ev in article, f"{label}: evidence not in article: {ev!r}"


def test_answerable_nonempty(rows):
    for label, typ, unit in units(rows):
        if typ == "unanswerable":
            continue
        assert unit["question"].strip(), label
        assert unit["answers"], f"{label}: empty answers"
        assert unit["evidence"], f"{label}: empty evidence"
        assert all(a.strip() for a in unit["answers"]), label


def test_answer_supported_by_evidence(rows):
    for label, typ, unit in units(rows):
        if typ == "unanswerable":
            continue
        joined = norm(" ".join(unit["evidence"]))
        assert any(norm(a) in joined for a in unit["answers"]), (
            f"{label}: no gold answer occurs in evidence: {unit['answers']}"
        )
        if typ == "list":
            # list answers enumerate the items; each one must be in the evidence
            missing = [a for a in unit["answers"] if norm(a) not in joined]
            assert not missing, f"{label}: list items not in evidence: {missing}"


def test_unanswerable_empty(rows):
    for label, typ, unit in units(rows):
        if typ == "unanswerable":
            assert unit["answers"] == [], label
            assert unit["evidence"] == [], label
            assert unit["question"].strip(), label


def test_standalone_turns_are_later_turns(rows):
    marked = [
        (r["id"], i, turn["standalone"])
        for r in rows
        if r["type"] == "conversation"
        for i, turn in enumerate(r["turns"])
        if "standalone" in turn
    ]
    assert all(value is True and i >= 1 for _, i, value in marked), marked
    assert len(marked) >= MIN_STANDALONE_TURNS


def test_conversations_shape(rows):
    for r in rows:
        if r["type"] == "conversation":
            assert len(r["turns"]) >= 2, r["id"]
            for turn in r["turns"]:
                assert turn["question"].strip(), r["id"]


def test_minimum_counts(rows):
    counts = Counter(r["type"] for r in rows)
    answerable = sum(counts[t] for t in ANSWERABLE_TYPES)
    assert answerable >= MIN_ANSWERABLE, counts
    assert counts["unanswerable"] >= MIN_UNANSWERABLE, counts
    assert counts["conversation"] >= MIN_CONVERSATIONS, counts
    for t in ANSWERABLE_TYPES:
        assert counts[t] >= 1, f"type {t} missing"
