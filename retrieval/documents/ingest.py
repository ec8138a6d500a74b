"""Ingest: load -> split -> embed -> store, as a sync of the given paths.

For each file under the given paths: unchanged documents write nothing; changed ones get their new
passages embedded and written first, then made live in one step, then the old passages deleted;
documents that disappeared from a given folder are removed. Other documents are untouched.
Passage ids are stable (source + offsets + text hash), so unchanged passages are never re-embedded.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retrieval.documents.embed import Embedder
from retrieval.documents.load import display_path, find_files, load_document
from retrieval.documents.split import split
from retrieval.errors import StoreError
from retrieval.schema import Passage
from retrieval.settings import Settings
from retrieval.storage.index import Index

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (passages embedded so far, passages to embed)


@dataclass
class IngestReport:
    files: int = 0
    unchanged: int = 0
    updated: int = 0
    added: int = 0
    removed: int = 0
    embedded: int = 0
    deleted: int = 0
    skipped: list[str] = field(default_factory=list)
    passages: int = 0

    def summary(self) -> str:
        parts = [
            f"{self.files} file(s): {self.added} new, {self.updated} changed, {self.unchanged} unchanged, "
            f"{self.removed} removed",
            f"{self.embedded} passage(s) embedded, {self.deleted} deleted, {self.passages} live in the store",
        ]
        if self.skipped:
            parts.append(f"{len(self.skipped)} file(s) skipped (not .txt/.md/.html)")
        return "; ".join(parts)


def _under(source: str, root: str) -> bool:
    return source == root or source.startswith(root.rstrip("/") + "/")


EMBED_BATCH = 256


def _embed_and_write(index: Index, passages: Sequence[Passage], progress: Progress | None) -> None:
    """Embed in batches while the previous batch is written to Chroma (one write in flight)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ragbot-write") as writer:
        pending = None
        for b in range(0, len(passages), EMBED_BATCH):
            batch = passages[b : b + EMBED_BATCH]
            vectors = index.embedder.embed_array([p.text for p in batch])
            if pending is not None:
                pending.result()  # a failed write stops the ingest before anything is published
            pending = writer.submit(index.vectors.upsert, batch, vectors)
            if progress:
                progress(b + len(batch), len(passages))
        if pending is not None:
            pending.result()


def ingest(
    settings: Settings,
    paths: Sequence[Path] | None = None,
    *,
    rebuild: bool = False,
    index: Index | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Sync `paths` (default: the seeds folder) into the store and report what changed."""
    paths = list(paths) if paths else [settings.seeds_dir]
    files, skipped = find_files(paths)  # raises InputError on a missing path before touching the store
    if rebuild:
        if index is not None:
            index.close()
        Index.drop(settings)
        index = None
    index = index or Index.open(settings, create=True)
    index.refresh()  # server mode: plan against what other clients have ingested
    report = IngestReport(files=len(files), skipped=[display_path(p) for p in skipped])

    docs = [load_document(f) for f in files]
    plans = []
    for doc in docs:
        doc_hash = hashlib.sha1(doc.text.encode("utf-8")).hexdigest()
        passages = split(doc)
        ids = [p.id for p in passages]
        current = index.catalog.document(doc.source)
        if current and current.doc_hash == doc_hash and index.catalog.live_ids(doc.source) == set(ids):
            missing = set(ids) - index.vectors.existing(ids)
            if not missing:
                report.unchanged += 1
                continue
        plans.append((doc, doc_hash, passages, current is not None))

    known = {}
    for doc, _, passages, _ in plans:
        ids = [p.id for p in passages]
        known[doc.source] = index.vectors.existing(ids)
    to_embed = [p for doc, _, passages, _ in plans for p in passages if p.id not in known[doc.source]]
    to_embed.sort(key=lambda p: len(p.text))  # batches of similar length: little padding
    total = len(to_embed)
    if progress:
        progress(0, total)
    _embed_and_write(index, to_embed, progress)
    report.embedded = total

    for doc, doc_hash, passages, existed in plans:
        index.catalog.stage(passages)
        stale = index.catalog.publish(doc.source, doc.title, doc_hash, [p.id for p in passages])
        if stale:
            index.vectors.delete(stale)
            index.catalog.purge(stale)
            report.deleted += len(stale)
        if existed:
            report.updated += 1
        else:
            report.added += 1

    present = {d.source for d in docs}
    roots = [display_path(p) for p in paths if p.is_dir()]
    for info in index.catalog.documents():
        if info.source not in present and any(_under(info.source, r) for r in roots):
            ids = index.catalog.retire(info.source)
            index.vectors.delete(ids)
            index.catalog.purge(ids)
            report.removed += 1
            report.deleted += len(ids)
    report.passages = index.catalog.live_count()
    return report


def open_index(settings: Settings, *, auto_ingest: bool = True, progress: Progress | None = None) -> Index:
    """Open the store for answering; when it is empty and the seeds folder exists, ingest it first.

    StoreError when there is still nothing to answer from, or when passages have lost their vectors
    (Chroma's files deleted or replaced under the catalog): answers would quietly lose their dense side."""
    index = Index.open(settings, create=auto_ingest)
    if auto_ingest and index.catalog.live_count() == 0 and settings.seeds_dir.is_dir():
        log.info("the store is empty: ingesting %s", settings.seeds_dir)
        ingest(settings, [settings.seeds_dir], index=index, progress=progress)
    live = index.catalog.live_count()
    if live == 0:
        raise StoreError(
            f"the store at {settings.chroma_host or settings.chroma_path} holds no documents and the seeds folder "
            f"{settings.seeds_dir} has none to ingest: run `ragbot ingest PATH`"
        )
    vectors = index.vectors.count()
    if vectors < live:
        raise StoreError(
            f"the store at {settings.chroma_host or settings.chroma_path} is damaged: {live - vectors} of {live} "
            "passages have no vector. Run `ragbot ingest --rebuild` with your documents' paths."
        )
    return index


@contextmanager
def temporary_index(settings: Settings, paths: Sequence[Path], *, embedder: Embedder | None = None) -> Iterator[Index]:
    """An Index over `paths` alone, in a fresh collection (a temporary local store, or on the configured
    server), dropped with its files on exit, even when the caller fails. The configured store is never
    written; `index.settings` are the temporary collection's."""
    folder = Path(tempfile.mkdtemp(prefix="ragbot-temp-"))
    update: dict[str, Any] = {"collection": f"ragbot-eval-{uuid.uuid4().hex[:12]}"}
    if not settings.chroma_host:
        update["chroma_path"] = folder / "store"
    temp = settings.model_copy(update=update)
    index = None
    try:
        index = Index.open(temp, create=True, embedder=embedder)
        ingest(temp, list(paths), index=index)
        yield index
    finally:
        if index is not None:
            index.close()
        Index.drop(temp)
        shutil.rmtree(folder, ignore_errors=True)
