"""SQuAD v2.0 input: the mapping to our fields and the temporary collection it is answered from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.evaluation.run import answer_items
from bot.evaluation.squad import load_squad, parse_squad, temporary_engine
from retrieval.errors import InputError
from retrieval.storage.vectors import make_client
from tests.helpers import ROOT

SAMPLE = ROOT / "seeds" / "squad_sample.json"


def test_the_sample_maps_answers_and_impossible_questions():
    contexts, items = load_squad(SAMPLE)
    units = [u for item in items for u in item]
    assert len(contexts) == 3 and all(len(item) == 1 for item in items)
    impossible = [u for u in units if not u.answerable]
    assert len(impossible) >= 5 and all(u.type == "unanswerable" and u.evidence == () for u in impossible)
    answerable = [u for u in units if u.answerable]
    assert len(answerable) >= 10 and all(u.type == "squad" and u.evidence == u.answers for u in answerable)
    cost = next(u for u in units if u.question == "How much did the bridge renovation cost?")
    assert cost.answers == ("42 million euros", "42 million")  # duplicates dropped, order kept
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                for a in qa["answers"] + qa.get("plausible_answers", []):
                    start = a["answer_start"]
                    assert paragraph["context"][start : start + len(a["text"])] == a["text"]


def _squad(context: str, *qas: dict) -> dict:
    return {"data": [{"paragraphs": [{"context": context, "qas": list(qas)}]}]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "not a SQuAD file"),
        (_squad(""), "'context' must be"),
        (_squad("Some text.", {"id": "1", "question": "q?", "answers": []}), "needs 'answers'"),
        (_squad("Some text.", {"id": "1", "question": " ", "is_impossible": True}), "the question is empty"),
        (
            _squad("Some text.", {"id": "1", "question": "q?", "answers": [{"text": "other", "answer_start": 0}]}),
            "not in its context",
        ),
        (_squad("Some text."), "holds no questions"),
    ],
)
def test_malformed_squad_is_rejected(data, message):
    with pytest.raises(InputError, match=message):
        parse_squad(data, "bad.json")


def test_invalid_json_file(tmp_path: Path):
    path = tmp_path / "bad.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        load_squad(path)


def test_contexts_are_answered_from_a_temporary_collection_that_is_removed(make_settings, store_copy, embedder):
    settings = make_settings(chroma_path=store_copy)
    contexts, items = load_squad(SAMPLE)
    before = sorted(c.name for c in make_client(settings).list_collections())
    with temporary_engine(settings, contexts, embedder=embedder) as engine:
        folder = engine.settings.chroma_path.parent
        assert engine.settings.collection != settings.collection and folder.is_dir()
        records = answer_items(engine, items[:4] + items[-2:], strategy="hybrid")
    assert not folder.exists()
    assert sorted(c.name for c in make_client(settings).list_collections()) == before
    sources = {c["source"] for r in records for c in r["citations"]} | {
        h["source"] for r in records for h in r["retrieved"]
    }
    assert sources and all(Path(s).name.startswith("context-") for s in sources)  # never the configured store's article
    assert all(r["grades"]["quote_validity"] in (None, 1.0) for r in records)


def test_the_temporary_collection_is_removed_when_the_run_fails(make_settings, embedder):
    settings = make_settings()
    with pytest.raises(RuntimeError), temporary_engine(settings, ["One short context."], embedder=embedder) as engine:
        folder = engine.settings.chroma_path.parent
        raise RuntimeError("boom")
    assert not folder.exists()
    assert not settings.chroma_path.exists()  # the configured local store was never created
