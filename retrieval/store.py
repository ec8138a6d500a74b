"""The vector store: one Chroma collection, local (`PersistentClient`) or on a server (`HttpClient`).

chromadb is used directly rather than through langchain-chroma: ragbot needs exact ids, batched
upserts with precomputed vectors, deletes by id and the collection's metadata (which embedding model
and dimension built it), and nothing else. Our embedding function is always passed (Chroma's default
one downloads a model) and telemetry is off. Texts and visibility live in the catalog
(`catalog.py`); Chroma holds vectors plus enough metadata to rebuild a catalog.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from .embed import OnnxEmbeddings
from .errors import StoreError
from .schema import Passage
from .settings import Settings

log = logging.getLogger(__name__)

WRITE_BATCH = 1000


def _chroma_ef(embedder: OnnxEmbeddings):
    from chromadb.api.types import EmbeddingFunction

    class RagbotEmbeddingFunction(EmbeddingFunction):
        def __init__(self, inner: OnnxEmbeddings) -> None:
            self._inner = inner

        def __call__(self, input):  # noqa: A002 - Chroma's parameter name
            return list(self._inner.embed_array(list(input)))

        @staticmethod
        def name() -> str:
            return "ragbot-onnx"

        def get_config(self) -> dict[str, Any]:
            return {"model": self._inner.name}

        @staticmethod
        def build_from_config(config: dict[str, Any]):
            return RagbotEmbeddingFunction(OnnxEmbeddings(config.get("model", "")))

        def default_space(self):
            return "cosine"

        def is_legacy(self) -> bool:
            return False

    return RagbotEmbeddingFunction(embedder)


def make_client(settings: Settings):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if settings.chroma_host:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
        settings.chroma_path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
    except Exception as exc:  # chromadb raises ValueError, ConnectionError, its own errors...
        where = (
            f"the Chroma server at {settings.chroma_host}:{settings.chroma_port}"
            if settings.chroma_host
            else f"the store at {settings.chroma_path}"
        )
        raise StoreError(
            f"cannot open {where}: {exc}. Check that it is reachable, or run `ragbot ingest --rebuild`."
        ) from exc


class VectorStore:
    """Vectors of passages, keyed by passage id."""

    def __init__(self, client, collection, embedder: OnnxEmbeddings) -> None:
        self.client = client
        self.collection = collection
        self.embedder = embedder

    @classmethod
    def open(cls, settings: Settings, embedder: OnnxEmbeddings, *, create: bool) -> VectorStore:
        """Open the collection; with `create`, make it when missing. Model mismatch -> StoreError."""
        client = make_client(settings)
        ef = _chroma_ef(embedder)
        try:
            if create:
                collection = client.get_or_create_collection(
                    settings.collection,
                    embedding_function=ef,
                    metadata={"embedding_model": embedder.name, "embedding_dim": embedder.dim(), "hnsw:space": "cosine"},
                )
            else:
                collection = client.get_collection(settings.collection, embedding_function=ef)
        except Exception as exc:
            if not create and type(exc).__name__ in {"NotFoundError", "InvalidCollectionException", "ValueError"}:
                raise StoreError(
                    f"the collection {settings.collection!r} does not exist yet: run `ragbot ingest`"
                ) from None
            raise StoreError(
                f"cannot open the collection {settings.collection!r}: {exc}. "
                "If the store is damaged, run `ragbot ingest --rebuild`."
            ) from exc
        meta = collection.metadata or {}
        model, dim = meta.get("embedding_model"), meta.get("embedding_dim")
        if model != embedder.name or (dim is not None and int(dim) != embedder.dim()):
            raise StoreError(
                f"the collection {settings.collection!r} was built with the embedding model {model!r} "
                f"(dimension {dim}), not {embedder.name!r}: run `ragbot ingest --rebuild`"
            )
        return cls(client, collection, embedder)

    @staticmethod
    def drop(settings: Settings) -> None:
        client = make_client(settings)
        try:
            client.delete_collection(settings.collection)
        except Exception as exc:  # missing collection: nothing to drop
            log.debug("drop %s: %s", settings.collection, exc)

    def count(self) -> int:
        return self.collection.count()

    def upsert(self, passages: Sequence[Passage], vectors: np.ndarray) -> None:
        for b in range(0, len(passages), WRITE_BATCH):
            batch = passages[b : b + WRITE_BATCH]
            self.collection.upsert(
                ids=[p.id for p in batch],
                embeddings=vectors[b : b + WRITE_BATCH],
                documents=[p.text for p in batch],
                metadatas=[
                    {"source": p.source, "title": p.title, "paragraph": p.paragraph, "start": p.start, "end": p.end}
                    for p in batch
                ],
            )

    def delete(self, ids: Sequence[str]) -> None:
        for b in range(0, len(ids), WRITE_BATCH):
            self.collection.delete(ids=list(ids[b : b + WRITE_BATCH]))

    def existing(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        return set(self.collection.get(ids=list(ids), include=[])["ids"])

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """(passage id, cosine similarity) of the k nearest passages, best first."""
        n = self.count()
        if n == 0:
            return []
        res = self.collection.query(query_embeddings=[vector], n_results=min(k, n), include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0], strict=True)]

    def similarities(self, vector: np.ndarray, ids: Sequence[str]) -> dict[str, float]:
        """Cosine similarity of `vector` to the stored vectors of `ids` (unknown ids are left out)."""
        got = self.collection.get(ids=list(ids), include=["embeddings"])
        if not len(got["ids"]):
            return {}
        matrix = np.asarray(got["embeddings"], dtype=np.float32)
        return dict(zip(got["ids"], (matrix @ np.asarray(vector, dtype=np.float32)).tolist(), strict=True))
