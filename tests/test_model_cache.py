"""The embedding model's optimised graph, kept in the user's cache: the same vectors as a fresh
optimisation, its weights in a file of their own, whole or rebuilt."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from retrieval.documents.embed import WEIGHTS_FILE, Embedder, bundled_files, optimized_path

TEXTS = ["Which news agency carried Lavrov's remarks?", "The cease-fire was agreed in Geneva.", "x"]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = optimized_path(bundled_files()[0], ort.__version__)
    assert folder is not None and folder.is_relative_to(tmp_path)
    return folder


def test_the_cached_graph_gives_the_vectors_of_a_fresh_optimisation(cache):
    fresh = Embedder().embed_array(TEXTS)  # optimises the model and writes the cache
    assert sorted(p.name for p in cache.iterdir()) == ["model.onnx", WEIGHTS_FILE]
    assert (cache / WEIGHTS_FILE).stat().st_size > 20 * (cache / "model.onnx").stat().st_size  # the weights moved out
    assert not list(cache.parent.glob("*.tmp"))  # the temporary folder is gone
    cached = Embedder().embed_array(TEXTS)  # loads the cached graph, optimisation off
    np.testing.assert_array_equal(cached, fresh)


def test_a_damaged_cache_is_rebuilt_and_answers_the_same(cache, tmp_path):
    reference = Embedder().embed_array(TEXTS)
    weights = cache / WEIGHTS_FILE
    size = weights.stat().st_size
    weights.write_bytes(weights.read_bytes()[: size // 3])  # a cut-off copy
    again = Embedder().embed_array(TEXTS)
    np.testing.assert_array_equal(again, reference)
    assert weights.stat().st_size == size  # written whole again
    np.testing.assert_array_equal(Embedder().embed_array(TEXTS), reference)


def test_an_unwritable_cache_still_embeds(cache, tmp_path):
    cache.parent.parent.mkdir(parents=True)
    cache.parent.write_text("not a folder")  # models/ cannot be made
    reference = Embedder().embed_array(TEXTS)
    assert cache.parent.is_file()
    assert reference.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(reference, axis=1), 1.0, rtol=1e-5)


def test_the_older_single_file_cache_is_replaced(cache):
    cache.parent.mkdir(parents=True)
    old = cache.parent / f"{cache.name}.onnx"
    old.write_bytes(b"an older cache of the whole graph")
    Embedder().embed_array(TEXTS)
    assert not old.exists() and (cache / "model.onnx").is_file()
