"""The index a question is answered from: the embedder, the Chroma vectors and the catalog.

Opened once per process and shared (thread-safe). `Index.open(settings, create=False)` fails with
a StoreError that says what to run when there is nothing to open. Local store: the catalog is a
SQLite file beside Chroma's files, shared by every process that opens the store. Chroma server:
the catalog is a local cache that `refresh()` keeps in step with the server (see `sync.py`).
"""

from __future__ import annotations

import atexit
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from retrieval.documents.embed import Embedder
from retrieval.errors import StoreError
from retrieval.root import ingest_hint
from retrieval.settings import Settings
from retrieval.storage.catalog import Catalog
from retrieval.storage.changelog import ChangeLog
from retrieval.storage.vectors import VectorStore


def _warm(embedder: Embedder) -> None:
    """Load the ONNX session; a failure is left for the caller's first embed to raise again."""
    try:
        embedder.dim()
    except Exception:  # noqa: BLE001 - reported by the next call on the main thread
        pass


def catalog_path(settings: Settings) -> Path:
    """Local store: beside Chroma's files. Server: a local cache named after server + collection."""
    if settings.chroma_host:
        from platformdirs import user_cache_dir

        server = f"{settings.chroma_host}:{settings.chroma_port}"
        if (settings.chroma_tenant, settings.chroma_database) != ("default_tenant", "default_database"):
            server += f"/{settings.chroma_tenant}/{settings.chroma_database}"  # caches made before these settings
        key = hashlib.sha1(server.encode()).hexdigest()[:12]
        return Path(user_cache_dir("ragbot")) / "catalogs" / f"{key}-{settings.collection}.sqlite3"
    return settings.chroma_path / f"{settings.collection}.catalog.sqlite3"


@dataclass
class Index:
    settings: Settings
    embedder: Embedder
    vectors: VectorStore
    catalog: Catalog

    @classmethod
    def open(cls, settings: Settings, *, create: bool = False, embedder: Embedder | None = None) -> Index:
        embedder = embedder or Embedder(settings.embedding_model)
        if embedder.dimension is None:
            # Loading the model (native code, mostly without the GIL) overlaps importing chromadb and
            # opening the store (mostly Python): about 0.3 s off a cold start on 2 cores.
            loader = threading.Thread(target=_warm, args=(embedder,), name="ragbot-embedder-load", daemon=True)
            loader.start()
            # never let the process end while native code is still loading (that aborts the process)
            atexit.register(loader.join, 10)
        path = catalog_path(settings)
        if not create and not settings.chroma_host and not path.exists():
            raise StoreError(f"no ragbot store at {settings.chroma_path}: {ingest_hint(settings.seeds_dir)}")
        vectors = VectorStore.open(settings, embedder, create=create)
        if settings.chroma_host:
            from retrieval.storage.sync import ServerCatalog

            changes = ChangeLog.open(vectors.client, settings, create=create)
            catalog: Catalog = ServerCatalog(path, settings, vectors, changes)
        else:
            catalog = Catalog(path)
        model = catalog.get_meta("embedding_model")
        if model is None:
            catalog.set_meta("embedding_model", embedder.name)
        elif model != embedder.name:
            raise StoreError(
                f"the store was built with the embedding model {model!r}, not {embedder.name!r}: "
                "run `ragbot ingest --rebuild`"
            )
        catalog.refresh()
        return cls(settings, embedder, vectors, catalog)

    @staticmethod
    def drop(settings: Settings) -> None:
        VectorStore.drop(settings)
        path = catalog_path(settings)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)

    def refresh(self) -> None:
        """Catch up with changes other processes or machines made (a no-op for the local store)."""
        self.catalog.refresh()

    def close(self) -> None:
        self.catalog.close()
