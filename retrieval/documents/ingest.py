"""Ingest: load (or fetch) -> split -> embed -> store, as a sync of the given paths and URLs.

For each file under the given paths: unchanged documents write nothing; changed ones get their new
passages embedded and written first, then made live in one step, then the old passages deleted;
documents that disappeared from a given folder are removed. Other documents are untouched.
Passage ids are stable (source + offsets + text hash), so unchanged passages are never re-embedded.
A file that cannot be used is skipped and reported with its reason (`IngestReport.skipped`); the
rest are still ingested, and a document ingested before keeps its passages while its file cannot
be read. Sources are relative to the root folder (retrieval/root.py); a URL is its own source and
is fetched again on each ingest of it. Each published document's text (what offsets refer to) is
stored with it in the catalog. Printing is the caller's.
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
from retrieval.documents.fetch import FetchError, check_url, fetch_document, is_url
from retrieval.documents.load import Skipped, SkipReason, display_path, find_files, load_or_skip
from retrieval.documents.split import split
from retrieval.errors import InputError, StoreError
from retrieval.root import ingest_hint, root_folder
from retrieval.schema import Document, Passage
from retrieval.settings import Settings
from retrieval.storage.catalog import StoredText
from retrieval.storage.index import Index

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (passages embedded so far, passages to embed)


@dataclass
class IngestReport:
    """What an ingest did. `files` counts the documents read; `skipped` every file left out, with why."""

    paths: list[str] = field(default_factory=list)  # what was ingested, as sources are recorded (folders end in /)
    files: int = 0
    unchanged: int = 0
    updated: int = 0
    added: int = 0
    removed: int = 0
    embedded: int = 0
    deleted: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    passages: int = 0

    @property
    def failed(self) -> list[Skipped]:
        """The skipped files that are documents but could not be read or decoded (not merely unsupported)."""
        return [s for s in self.skipped if s.reason is not SkipReason.UNSUPPORTED]

    def summary(self) -> str:
        parts = [
            f"{self.files} file(s): {self.added} new, {self.updated} changed, {self.unchanged} unchanged, "
            f"{self.removed} removed",
            f"{self.embedded} passage(s) embedded, {self.deleted} deleted, {self.passages} live in the store",
        ]
        if self.skipped:
            failed = len(self.failed)
            parts.append(
                f"{len(self.skipped)} file(s) skipped ({len(self.skipped) - failed} not a supported kind, "
                f"{failed} unreadable)"
            )
        return "; ".join(parts)


def document_hash(doc: Document) -> str:
    """What decides whether a document changed: its text, and for extracted kinds (.md, .html, .pdf,
    .docx, URLs) the extractor's version, the titles, date, pages, lines and paragraph numbers, so a
    changed extraction updates the store on re-ingest."""
    if not doc.extraction:
        return hashlib.sha1(doc.text.encode("utf-8")).hexdigest()  # plain text: as before
    headings = "\n".join(f"{at}\t{h}" for at, h in doc.sections)
    marks = f"{doc.date}\n{doc.pages}\n{doc.lines}\n{doc.numbers}"
    return hashlib.sha1(f"{doc.extraction}\n{doc.title}\n{headings}\n{marks}\n\n{doc.text}".encode()).hexdigest()


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


def _paths_and_urls(given: Sequence[Path | str]) -> tuple[list[Path], list[str]]:
    """The file paths and the URLs among the arguments; InputError for a URL ragbot does not fetch."""
    paths: list[Path] = []
    urls: list[str] = []
    for item in given:
        if isinstance(item, str) and is_url(item):
            urls.append(check_url(item))
        else:
            paths.append(Path(item))
    return paths, list(dict.fromkeys(urls))


def _fetch(url: str, settings: Settings) -> Document | Skipped:
    try:
        return fetch_document(url, settings)
    except FetchError as exc:
        return Skipped(url, SkipReason.NOT_FETCHED, str(exc))


def ingest(
    settings: Settings,
    paths: Sequence[Path | str] | None = None,
    *,
    rebuild: bool = False,
    index: Index | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Sync `paths` (files, folders and http(s) URLs given as strings; default: the seeds folder) into
    the store and report what changed (and what was skipped)."""
    if not paths and not settings.seeds_dir.exists():
        seeds = settings.seeds_dir
        raise InputError(f"no PATH given and no seeds folder at {seeds}: {ingest_hint(seeds)}")
    paths, urls = _paths_and_urls(list(paths) if paths else [settings.seeds_dir])
    files, unsupported = find_files(paths)  # raises InputError on a missing path before touching the store
    if rebuild:
        if index is not None:
            index.close()
        Index.drop(settings)
        index = None
    index = index or Index.open(settings, create=True)
    index.refresh()  # server mode: plan against what other clients have ingested
    root = root_folder()
    report = IngestReport(paths=[display_path(p, root) + ("/" if p.is_dir() else "") for p in paths] + urls)
    loaded = [load_or_skip(f, root) for f in files] + [_fetch(u, settings) for u in urls]
    docs = [d for d in loaded if isinstance(d, Document)]
    failed = [d for d in loaded if isinstance(d, Skipped)]
    report.files = len(docs)
    unsupported_files = [Skipped(p, SkipReason.UNSUPPORTED) for p in unsupported]
    report.skipped = sorted(unsupported_files + failed, key=lambda s: str(s.path))
    plans = []
    for doc in docs:
        doc_hash = document_hash(doc)
        passages = split(doc)
        ids = [p.id for p in passages]
        current = index.catalog.document(doc.source)
        if current and current.doc_hash == doc_hash and index.catalog.live_ids(doc.source) == set(ids):
            missing = set(ids) - index.vectors.existing(ids)
            if not missing:
                report.unchanged += 1
                stored = index.catalog.text(doc.source)  # none when an older ragbot ingested it
                if stored is None or stored.file_hash != doc.file_hash:
                    index.catalog.set_text(doc.source, StoredText(doc.text, doc.file_hash))
                continue
        plans.append((doc, doc_hash, passages, current is not None))

    planned = [p for _, _, passages, _ in plans for p in passages]
    known = index.vectors.existing([p.id for p in planned])  # written by an ingest that stopped before publishing
    to_embed = [p for p in planned if p.id not in known]
    to_embed.sort(key=lambda p: len(p.text))  # batches of similar length: little padding
    total = len(to_embed)
    if progress:
        progress(0, total)
    _embed_and_write(index, to_embed, progress)
    report.embedded = total

    for doc, doc_hash, passages, existed in plans:
        index.catalog.stage(passages)
        stale = index.catalog.publish(
            doc.source, doc.title, doc_hash, [p.id for p in passages], doc.date, StoredText(doc.text, doc.file_hash)
        )
        if stale:
            index.vectors.delete(stale)
            index.catalog.purge(stale)
            report.deleted += len(stale)
        if existed:
            report.updated += 1
        else:
            report.added += 1

    # unreadable files and unfetched pages: kept as they were
    present = {d.source for d in docs} | {
        s.path if isinstance(s.path, str) else display_path(s.path, root) for s in failed
    }
    roots = [display_path(p, root) for p in paths if p.is_dir()]
    for info in index.catalog.documents():
        if info.source not in present and any(_under(info.source, r) for r in roots):
            report.removed += 1
            report.deleted += _retire(index, info.source)
    index.save_vector_copy()  # local store: the copy the next process answers from (storage/snapshot.py)
    report.passages = index.catalog.live_count()
    return report


def _retire(index: Index, source: str) -> int:
    """Take a document out of the store: its passages not live, then their vectors and rows deleted."""
    ids = index.catalog.retire(source)
    index.vectors.delete(ids)
    index.catalog.purge(ids)
    return len(ids)


def remove(settings: Settings, sources: Sequence[str], *, index: Index | None = None) -> dict[str, int]:
    """Drop the documents `sources` (as `ragbot sources` lists them, or paths naming them; URLs as
    ingested) from the store, without a rebuild: {source: passages deleted}. InputError, before
    anything is removed, when one of them is not in the store."""
    index = index or Index.open(settings)
    index.refresh()
    known = [resolve_source(index, given) for given in sources]
    removed = {source: _retire(index, source) for source in dict.fromkeys(known)}
    index.save_vector_copy()  # as after an ingest: the next process answers from a current copy
    return removed


def resolve_source(index: Index, given: str) -> str:
    """The recorded source a command-line argument names: a URL or source as listed, or a path to the
    file (relative to the working directory); InputError when the store holds no such document."""
    candidates = [given]
    if not is_url(given):
        candidates.append(display_path(Path(given)))
    for candidate in candidates:
        if index.catalog.document(candidate) is not None:
            return candidate
    raise InputError(f"{given} is not in the store (`ragbot sources` lists what is); nothing was changed")


def open_index(
    settings: Settings,
    *,
    auto_ingest: bool = True,
    progress: Progress | None = None,
    on_ingest: Callable[[IngestReport], None] | None = None,
) -> Index:
    """Open the store for answering; when it is empty and the seeds folder exists, ingest it first
    (creating the store if need be) and hand the report to `on_ingest`. Without a seeds folder a
    missing store is an error, never an empty new one.

    StoreError when there is still nothing to answer from, or when passages have lost their vectors
    (Chroma's files deleted or replaced under the catalog): answers would quietly lose their dense side."""
    fill = auto_ingest and settings.seeds_dir.is_dir()
    index = Index.open(settings, create=fill)
    if fill and index.catalog.live_count() == 0:
        log.info("the store is empty: ingesting %s", settings.seeds_dir)
        report = ingest(settings, [settings.seeds_dir], index=index, progress=progress)
        if on_ingest is not None:
            on_ingest(report)
    live = index.catalog.live_count()
    if live == 0:
        where = f"the store at {settings.chroma_host or settings.chroma_path}"
        if fill:
            raise StoreError(
                f"{where} holds no documents and the seeds folder {settings.seeds_dir} has none to ingest: "
                "run `ragbot ingest PATH` with a folder or file of your documents"
            )
        raise StoreError(f"{where} holds no documents: {ingest_hint(settings.seeds_dir)}")
    vectors = index.dense.count()  # the vector copy when current (its count is Chroma's)
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
    temp = settings.replace(**update)
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
