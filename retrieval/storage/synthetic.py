"""Write a synthetic corpus straight into a local store, for measuring retrieval at scale (`ragbot bench`).

`write_synthetic` stores the given passages with vectors drawn without the embedder (seeded, so a
rerun builds the same store) in batches: vectors into Chroma, texts into the catalog, each document
made live with its passages in the same catalog transaction. Given `basis` (real passage vectors),
each vector is a basis vector picked at random plus isotropic noise (`noise` is its expected norm),
normalised: clustered around real topics, as a news archive is. Without it, isotropic random unit
vectors (the hardest case for HNSW). It skips what `ingest` does for real documents
(reading files, splitting, embedding, change detection), which would take hours at a million
passages. Leaves out making up the passages (the bench does that) and Chroma servers: it writes
the local store of the given settings only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from retrieval.documents.embed import Embedder
from retrieval.errors import ConfigError
from retrieval.schema import Passage
from retrieval.settings import Settings
from retrieval.storage.catalog import Catalog, Change, DocumentInfo, now_utc
from retrieval.storage.index import catalog_path
from retrieval.storage.vectors import VectorStore


def write_synthetic(
    settings: Settings,
    passages: Iterable[Passage],
    embedder: Embedder | None = None,
    *,
    seed: int = 5,
    batch_size: int = 5000,
    basis: np.ndarray | None = None,
    noise: float = 1.0,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write `passages` (a document's passages one after another) into the store; return how many.

    Vectors are unit vectors of the embedder's dimension (perturbed from `basis` when given); the
    store is marked as built with
    its model, so `Index.open` accepts it. `progress(written)` is called after every batch. A batch
    ends on a document boundary once it holds `batch_size` passages.
    """
    if settings.chroma_host:
        raise ConfigError("a synthetic corpus is written to a local store only: unset RAGBOT_CHROMA_HOST")
    embedder = embedder or Embedder(settings.embedding_model)
    vectors = VectorStore.open(settings, embedder, create=True)
    catalog = Catalog(catalog_path(settings))
    rng = np.random.default_rng(seed)
    batch: list[Passage] = []
    written = generation = 0

    def flush() -> None:
        nonlocal written, generation
        v = rng.standard_normal((len(batch), embedder.dim())).astype(np.float32)
        if basis is not None:
            v *= noise / np.sqrt(embedder.dim())
            v += basis[rng.integers(0, len(basis), size=len(batch))]
        vectors.upsert(batch, v / np.linalg.norm(v, axis=1, keepdims=True))
        by_doc: dict[str, list[Passage]] = {}
        for p in batch:
            by_doc.setdefault(p.source, []).append(p)
        stamp = now_utc()
        changes = [
            Change(s, DocumentInfo(s, ps[0].title, f"synthetic-{s}", len(ps), stamp), tuple(p.id for p in ps))
            for s, ps in by_doc.items()
        ]
        generation += 1
        catalog.apply(changes, batch, generation)
        written += len(batch)
        batch.clear()
        if progress:
            progress(written)

    try:
        catalog.set_meta("embedding_model", embedder.name)
        for passage in passages:
            if len(batch) >= batch_size and passage.source != batch[-1].source:
                flush()
            batch.append(passage)
        if batch:
            flush()
    finally:
        catalog.close()
    return written
