"""The catalog on its own: visibility, BM25 over live passages, generations, persistence."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.schema import Passage
from retrieval.storage.catalog import Catalog, Change, DocumentInfo


def _p(source: str, n: int, text: str) -> Passage:
    return Passage(f"{source}#{n}", source, source.title(), n, n * 100, n * 100 + len(text), text)


def _info(source: str, ids) -> DocumentInfo:
    return DocumentInfo(source, source.title(), f"hash-{len(ids)}", len(ids), "2024-01-01T00:00:00+00:00")


@pytest.fixture
def catalog(tmp_path: Path):
    c = Catalog(tmp_path / "c.sqlite3")
    yield c
    c.close()


def test_publish_switches_the_live_set_at_once_and_purge_keeps_live_rows(catalog):
    old = [_p("a", 1, "The ferry leaves at dawn."), _p("a", 2, "It returns at noon.")]
    catalog.stage(old)
    assert catalog.search("ferry", 5) == []  # staged passages are invisible
    assert catalog.publish("a", "A", "h1", [p.id for p in old]) == []
    assert [p.id for p, _ in catalog.search("ferry", 5)] == ["a#1"]

    new = [_p("a", 2, "It returns at noon."), _p("a", 3, "The quokka boat leaves at dusk.")]
    new[0] = old[1]
    catalog.stage(new)
    assert [p.id for p, _ in catalog.search("ferry", 5)] == ["a#1"]  # still the old version
    stale = catalog.publish("a", "A", "h2", [p.id for p in new])
    assert stale == ["a#1"]
    assert catalog.search("ferry", 5) == [] and [p.id for p, _ in catalog.search("quokka", 5)] == ["a#3"]
    catalog.purge(stale + ["a#2"])  # a live id is never purged
    assert catalog.known(["a#1", "a#2", "a#3"]) == {"a#2", "a#3"}
    assert catalog.live_count() == 2
    assert catalog.document("a").doc_hash == "h2"


def test_retire_hides_a_document_and_forgets_it(catalog):
    catalog.stage([_p("a", 1, "Alpha words here."), _p("b", 1, "Beta words here.")])
    catalog.publish("a", "A", "h", ["a#1"])
    catalog.publish("b", "B", "h", ["b#1"])
    assert catalog.retire("a") == ["a#1"]
    assert {p.source for p, _ in catalog.search("words", 5)} == {"b"}
    assert [d.source for d in catalog.documents()] == ["b"] and catalog.live_count() == 1
    assert catalog.passages(["a#1", "b#1"]).keys() == {"b#1"}


def test_search_ranks_by_bm25_and_fills_k_past_rows_that_are_not_live(catalog):
    live = [_p("a", i, f"Harbour news item {i} about trade.") for i in range(1, 9)]
    best = _p("a", 9, "Harbour harbour harbour: the harbour closes.")
    hidden = [_p("z", i, "Harbour harbour harbour harbour harbour.") for i in range(1, 30)]
    catalog.stage([*live, best, *hidden])
    catalog.publish("a", "A", "h", [p.id for p in [*live, best]])
    hits = catalog.search("harbour", 5)
    assert [p.id for p, _ in hits][0] == "a#9"
    assert len(hits) == 5 and all(p.source == "a" for p, _ in hits)
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0
    assert catalog.search("the of and", 5) == []  # stopwords only: nothing to match
    assert catalog.search('harbour" OR "x', 3)  # quotes in a question cannot break the query


def test_doc_freq_counts_passages_with_a_stemmed_word(catalog):
    ps = [_p("a", 1, "Talks resumed."), _p("a", 2, "The talk was short."), _p("a", 3, "Nothing here.")]
    catalog.stage(ps)
    catalog.publish("a", "A", "h", [p.id for p in ps])
    assert catalog.doc_freq(["talks", "nothing", "absent"]) == {"talks": 2, "nothing": 1, "absent": 0}


def test_apply_is_one_step_and_skips_generations_already_applied(catalog, tmp_path):
    ps = [_p("a", 1, "First version text."), _p("b", 1, "Other document text.")]
    changes = [Change("a", _info("a", ["a#1"]), ("a#1",)), Change("b", _info("b", ["b#1"]), ("b#1",))]
    assert catalog.apply(changes, ps, generation=2)
    assert catalog.get_meta("generation") == "2" and catalog.live_count() == 2

    # a second process sharing the file has nothing left to do for generation 2 or below
    other = Catalog(tmp_path / "c.sqlite3")
    assert not other.apply([Change("a", None)], [], generation=2)
    assert not other.apply([Change("a", None)], [], generation=1)
    assert catalog.live_count() == 2

    v2 = _p("a", 2, "Second version text.")
    assert other.apply([Change("a", _info("a", ["a#2"]), ("a#2",)), Change("b", None)], [v2], generation=3)
    other.close()
    assert [p.id for p, _ in catalog.search("version", 5)] == ["a#2"]
    assert catalog.known(["a#1", "b#1"]) == set()  # replaced rows are deleted, not just hidden
    assert [d.source for d in catalog.documents()] == ["a"]


def test_reset_forgets_passages_and_documents_but_keeps_the_given_meta(catalog):
    catalog.apply([Change("a", _info("a", ["a#1"]), ("a#1",))], [_p("a", 1, "Some text.")], generation=5)
    catalog.reset({"origin": "x/y", "embedding_model": "m"})
    assert catalog.documents() == [] and catalog.search("text", 5) == [] and catalog.live_count() == 0
    assert catalog.get_meta("generation") is None and catalog.get_meta("origin") == "x/y"


def test_the_index_persists_and_is_not_rebuilt_when_reopened(tmp_path):
    path = tmp_path / "c.sqlite3"
    first = Catalog(path)
    ps = [_p("a", i, f"Passage number {i} mentions lighthouses.") for i in range(1, 50)]
    first.stage(ps)
    first.publish("a", "A", "h", [p.id for p in ps])
    rowids = first._rows("SELECT rowid, id FROM passages ORDER BY rowid")
    first.close()

    again = Catalog(path)
    assert again._rows("SELECT rowid, id FROM passages ORDER BY rowid") == rowids
    assert again._rows("SELECT count(*) FROM fts WHERE fts MATCH 'lighthouse'")[0][0] == 49
    assert len(again.search("lighthouses", 10)) == 10
    again.close()


def test_a_damaged_catalog_is_a_store_error_naming_the_fix(tmp_path):
    from retrieval.errors import StoreError

    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="ingest --rebuild"):
        Catalog(path)
