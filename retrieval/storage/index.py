"""The index a question is answered from: the embedder, the Chroma vectors and the catalog.

Opened once per process and shared (thread-safe). `Index.open(settings, create=False)` fails with
a StoreError that says what to run when there is nothing to open. Local store: the catalog is a
SQLite file beside Chroma's files, shared by every process that opens the store. Chroma server:
the catalog is a local cache that `refresh()` keeps in step with the server (see `sync.py`).

Dense search goes through `index.dense`: on a local store whose memory-mapped vector copy is
current (snapshot.py), the copy, so a process that only answers never starts Chroma's client;
otherwise Chroma itself. `index.vectors` is Chroma, opened on first use (writes, server mode).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

from retrieval.documents.embed import Embedder
from retrieval.errors import StoreError
from retrieval.root import ingest_hint
from retrieval.settings import Settings
from retrieval.storage.catalog import Catalog
from retrieval.storage.changelog import ChangeLog
from retrieval.storage.preload import start_loading, take_preloaded
from retrieval.storage.snapshot import SnapshotVectors, drop_snapshot, write_snapshot
from retrieval.storage.vectors import VectorStore

log = logging.getLogger(__name__)


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


class Index:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        vectors: VectorStore | None,
        catalog: Catalog,
        *,
        snapshot: SnapshotVectors | None = None,
        create: bool = False,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.catalog = catalog
        self._vectors = vectors
        self._snapshot = snapshot
        self._create = create
        self._lock = threading.Lock()

    @property
    def vectors(self) -> VectorStore:
        """Chroma's collection, opened on first use when the index was opened on the vector copy (which
        dense search then leaves for Chroma)."""
        if self._vectors is None:
            with self._lock:
                if self._vectors is None:
                    self._vectors = VectorStore.open(self.settings, self.embedder, create=self._create)
                    self._snapshot = None  # from now on this process may write: search what it writes
        return self._vectors

    @property
    def dense(self) -> SnapshotVectors | VectorStore:
        """What dense search reads: the current vector copy, else Chroma."""
        return self._snapshot if self._snapshot is not None else self.vectors

    @classmethod
    def open(cls, settings: Settings, *, create: bool = False, embedder: Embedder | None = None) -> Index:
        if embedder is None:
            embedder = take_preloaded(settings)  # a front-end may have started loading it already
            if embedder is None:
                embedder = Embedder(settings.embedding_model)
                start_loading(embedder)
        elif embedder.dimension is None:
            # Loading the model (native code, mostly without the GIL) overlaps opening the store
            start_loading(embedder)
        path = catalog_path(settings)
        if not create and not settings.chroma_host and not path.exists():
            raise StoreError(f"no ragbot store at {settings.chroma_path}: {ingest_hint(settings.seeds_dir)}")
        snapshot = None if settings.chroma_host else SnapshotVectors.load(settings)
        vectors = None if snapshot is not None else VectorStore.open(settings, embedder, create=create)
        if settings.chroma_host:
            assert vectors is not None
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
        return cls(settings, embedder, vectors, catalog, snapshot=snapshot, create=create)

    @staticmethod
    def drop(settings: Settings) -> None:
        VectorStore.drop(settings)
        path = catalog_path(settings)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        drop_snapshot(settings)

    def refresh(self) -> None:
        """Catch up with changes other processes or machines made (a no-op for the local store)."""
        self.catalog.refresh()

    def save_vector_copy(self) -> None:
        """Local store, after writes: leave the vector copy of Chroma as it now stands (snapshot.py) for the
        next process to answer from; a failure loses nothing (that process opens Chroma), so it is logged."""
        if self.settings.chroma_host or self._vectors is None:
            return
        try:
            write_snapshot(self.settings, self._vectors)
        except Exception as exc:  # noqa: BLE001 - chromadb, numpy and OS errors alike only cost speed
            log.warning("could not save the vector copy of %s: %s", self.settings.chroma_path, exc)

    def close(self) -> None:
        self.save_vector_copy()
        self.catalog.close()
