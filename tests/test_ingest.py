"""Ingest against the real Chroma, embedder and splitter: sync, idempotence, model mismatch."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from retrieval.documents.ingest import ingest
from retrieval.documents.load import display_path
from retrieval.errors import StoreError
from retrieval.storage.index import Index
from tests.helpers import ARTICLE


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(ARTICLE, folder / "article.txt")
    (folder / "harbour.md").write_text(
        "# Harbour report\n\nThe ferry to Skye leaves at noon. Tickets cost twelve pounds.\n\n"
        "The harbour master is Ailsa Reid. She has held the post since 2019.\n",
        encoding="utf-8",
    )
    return folder


def _all_ids(index: Index) -> set[str]:
    return set(index.vectors.collection.get(include=[])["ids"])


def test_reingest_of_unchanged_files_writes_nothing(make_settings, embedder, docs):
    settings = make_settings()
    index = Index.open(settings, create=True, embedder=embedder)
    first = ingest(settings, [docs], index=index)
    assert first.added == 2 and first.embedded == first.passages > 0
    ids = _all_ids(index)
    second = ingest(settings, [docs], index=index)
    assert (second.embedded, second.deleted, second.added, second.updated, second.unchanged) == (0, 0, 0, 0, 2)
    assert _all_ids(index) == ids
    assert index.catalog.live_count() == len(ids)


def test_changed_and_removed_files_are_synced_and_others_untouched(make_settings, embedder, docs, tmp_path):
    settings = make_settings()
    other = tmp_path / "other.txt"
    other.write_text("The lighthouse on the point was painted red in May.", encoding="utf-8")
    index = Index.open(settings, create=True, embedder=embedder)
    ingest(settings, [docs], index=index)
    ingest(settings, [other], index=index)
    harbour = display_path(docs / "harbour.md")
    old_harbour = index.catalog.live_ids(harbour)
    other_ids = index.catalog.live_ids(display_path(other))

    # same length, so the passages after it keep their offsets (and ids)
    text = (docs / "harbour.md").read_text(encoding="utf-8").replace("twelve pounds", "thirty pounds")
    (docs / "harbour.md").write_text(text, encoding="utf-8")
    (docs / "article.txt").unlink()
    report = ingest(settings, [docs], index=index)

    assert (report.updated, report.removed) == (1, 1)
    new_harbour = index.catalog.live_ids(harbour)
    assert new_harbour != old_harbour and len(new_harbour & old_harbour) >= 1  # unchanged passages keep ids
    assert report.embedded == len(new_harbour - old_harbour)
    assert index.catalog.document(display_path(docs / "article.txt")) is None
    assert index.catalog.live_ids(display_path(other)) == other_ids
    assert _all_ids(index) == new_harbour | other_ids  # old vectors deleted, nothing duplicated
    hits = index.catalog.search("ticket price pounds", 3)
    assert any("thirty pounds" in p.text for p, _ in hits)
    assert not any("twelve pounds" in p.text for p, _ in hits)


def test_rebuild_drops_everything_else(make_settings, embedder, docs, tmp_path):
    settings = make_settings()
    other = tmp_path / "other.txt"
    other.write_text("The lighthouse on the point was painted red in May.", encoding="utf-8")
    index = Index.open(settings, create=True, embedder=embedder)
    ingest(settings, [docs, other], index=index)
    report = ingest(settings, [docs], rebuild=True, index=index)
    index = Index.open(settings, embedder=embedder)
    assert report.added == 2
    assert {d.source for d in index.catalog.documents()} == {
        display_path(docs / "article.txt"),
        display_path(docs / "harbour.md"),
    }


def test_opening_with_another_embedding_model_says_rebuild(make_settings, embedder, docs, tmp_path):
    settings = make_settings()
    index = Index.open(settings, create=True, embedder=embedder)
    ingest(settings, [docs], index=index)
    index.close()
    other_model = tmp_path / "other-model"
    other_model.mkdir()
    from retrieval.documents.embed import bundled_files

    model, tokenizer = bundled_files()
    (other_model / "model.onnx").symlink_to(model)
    (other_model / "tokenizer.json").symlink_to(tokenizer)
    with pytest.raises(StoreError, match="ingest --rebuild"):
        Index.open(make_settings(embedding_model=str(other_model)))


def test_missing_store_says_what_to_run(make_settings):
    with pytest.raises(StoreError, match="ragbot ingest"):
        Index.open(make_settings())


def test_embedder_vectors_are_unit_length_and_batch_independent(embedder):
    import numpy as np

    texts = ["short", "a much longer sentence about the ferry timetable and the harbour", "third one"]
    together = embedder.embed_array(texts)
    alone = np.vstack([embedder.embed_array([t]) for t in texts])
    assert together.shape == (3, 384)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert np.allclose(together, alone, atol=1e-4)  # padding to the batch's longest input changes nothing
