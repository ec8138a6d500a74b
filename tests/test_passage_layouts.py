"""How passages are written to Chroma (storage/vectors.py): a new collection packs each passage's fields
into one metadata key (layout 2, the cheaper write); a collection made before that keeps the key-per-field
layout it has, so the ragbot versions that wrote it can still read it; every layout ever written is read
back; a collection from a newer layout is refused with the commands that fix it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from retrieval import Engine, Index, StoreError, ingest
from retrieval.schema import Passage
from tests.helpers import ROOT

PASSAGES = [
    Passage(
        "p-pdf", "report.pdf", "Título «quoted»", 3, 120, 160, "Ünïcode, “quotes”, 日本語.", page=7, date="2024-05-01"
    ),
    Passage("p-md", "notes.md", "", 0, 0, 11, "Plain words", line=42),
    Passage("p-txt", "a/b.txt", "A title", 12, 5, 30, 'A "JSON" [list], {braces}\nand a newline'),
]


def _vectors(n: int) -> np.ndarray:
    v = np.random.default_rng(0).standard_normal((n, 384)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _collection_made_before_layouts(settings, embedder, **more):
    """A collection as ragbot made it before layout 2: no `passage_layout` in its metadata (unless `more`)."""
    from retrieval.storage.vectors import _chroma_ef, make_client

    meta = {"embedding_model": embedder.name, "embedding_dim": embedder.dim(), "hnsw:space": "cosine", **more}
    client = make_client(settings, create=True)
    return client.create_collection(settings.collection, metadata=meta, embedding_function=_chroma_ef(embedder))


def test_a_new_collection_writes_one_key_per_passage_beside_its_source_and_reads_every_field_back(
    make_settings, embedder
):
    from retrieval.storage.vectors import PASSAGE_LAYOUT, VectorStore

    store = VectorStore.open(make_settings(), embedder, create=True)
    assert store.layout == PASSAGE_LAYOUT == 2 and store.collection.metadata["passage_layout"] == 2
    store.upsert(PASSAGES, _vectors(len(PASSAGES)))
    got = store.collection.get(ids=[p.id for p in PASSAGES], include=["metadatas"])
    assert all(set(m) == {"source", "passage"} for m in got["metadatas"])
    assert sorted(m["source"] for m in got["metadatas"]) == sorted(p.source for p in PASSAGES)
    assert sorted(store.fetch([p.id for p in PASSAGES]), key=lambda p: p.id) == sorted(PASSAGES, key=lambda p: p.id)


def test_a_collection_made_before_keeps_its_layout_and_every_layout_is_read(make_settings, embedder):
    from retrieval.storage.vectors import VectorStore

    settings = make_settings()
    old = _collection_made_before_layouts(settings, embedder)
    oldest = Passage("p-doc", "old.txt", "Old", 1, 0, 9, "As a doc.")
    old.upsert(  # the oldest layout: the text as Chroma's document, no page, line or date
        ids=[oldest.id],
        embeddings=_vectors(1),
        documents=[oldest.text],
        metadatas=[{"source": "old.txt", "title": "Old", "paragraph": 1, "start": 0, "end": 9}],
    )
    store = VectorStore.open(settings, embedder, create=True)
    assert store.layout == 1 and "passage_layout" not in (store.collection.metadata or {})
    store.upsert(PASSAGES, _vectors(len(PASSAGES)))
    got = store.collection.get(ids=["p-pdf", "p-md"], include=["metadatas"])
    by_id = dict(zip(got["ids"], got["metadatas"], strict=True))
    assert by_id["p-pdf"]["page"] == 7 and by_id["p-pdf"]["text"] == PASSAGES[0].text and "line" not in by_id["p-pdf"]
    assert by_id["p-md"]["line"] == 42 and "passage" not in by_id["p-md"]

    new = VectorStore.open(make_settings(chroma_path=settings.chroma_path.parent / "new"), embedder, create=True)
    new.upsert(PASSAGES[:1], _vectors(1))
    new_record = new.collection.get(ids=["p-pdf"], include=["metadatas"])["metadatas"][0]
    old.upsert(ids=["p-new"], embeddings=_vectors(1), metadatas=[new_record])  # a mixed collection reads too
    fetched = {p.id: p for p in store.fetch(["p-doc", "p-new", *(p.id for p in PASSAGES)])}
    assert fetched["p-doc"] == oldest
    assert fetched["p-new"] == dataclasses.replace(PASSAGES[0], id="p-new")
    assert [fetched[p.id] for p in PASSAGES] == PASSAGES


def test_an_old_collection_still_ingests_and_answers(make_settings, embedder):
    settings = make_settings()
    _collection_made_before_layouts(settings, embedder)
    index = Index.open(settings, create=True, embedder=embedder)
    report = ingest(settings, [ROOT / "seeds"], index=index)
    assert report.embedded == report.passages > 0 and index.vectors.layout == 1
    record = index.vectors.collection.get(limit=1, include=["metadatas"])["metadatas"][0]
    assert {"source", "title", "text", "start", "end"} <= set(record)
    answer = Engine(settings, index).answer("Which news agency carried Lavrov's remarks?").to_json()
    assert "TASS" in answer["answer"] and answer["citations"]


def test_a_collection_from_a_newer_layout_is_refused_with_what_to_run(make_settings, embedder):
    from retrieval.storage.vectors import VectorStore

    settings = make_settings()
    _collection_made_before_layouts(settings, embedder, passage_layout=3)
    for create in (False, True):
        with pytest.raises(StoreError, match=r"newer ragbot \(passage layout 3.*ingest --rebuild"):
            VectorStore.open(settings, embedder, create=create)
