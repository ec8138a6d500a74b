"""The change log of a collection on a Chroma server: numbered entries that make ingests visible to every client.

Every ingest that publishes or removes a document appends one entry (after its vectors are written,
before the old ones are deleted); clients apply entries in order (storage/sync.py). The log is a
second Chroma collection beside the passages, reached through the client `vectors.make_client` made.
Does not import chromadb itself.

Compaction: an entry states a document's whole live set, so an entry followed by a later one for
the same document is superseded: a client at any generation that reads the log from there meets
the later one, and applies only the latest entry per document anyway. `compact` deletes superseded
entries once they are older than a grace period (`RAGBOT_CHROMA_LOG_KEEP_S`); the newest entry of
every document, and so the log's highest number, is never deleted. The grace period also keeps a
writer from claiming a number that compaction freed: `append` first reads the highest number in
use, and only a writer stalled for longer than the grace period between that read and its write
could land under it.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from retrieval.errors import StoreError
from retrieval.settings import Settings
from retrieval.storage.vectors import LOG_SUFFIX, _guard, _missing, _where

MAX_APPEND_TRIES = 1000


@dataclass(frozen=True)
class LogEntry:
    """One change: `op` "publish" (ids = the document's live passages) or "remove"."""

    generation: int
    op: str
    source: str
    title: str = ""
    doc_hash: str = ""
    ingested_at: str = ""
    ids: tuple[str, ...] = ()


class ChangeLog:
    """The change log of a collection on a server: an append-only, numbered list of LogEntry.

    `append` claims the next number by adding record N and reading it back: Chroma keeps the
    first record added under an id, so of two writers racing for N one reads back the other's
    entry and moves on to N+1. Numbers are therefore dense and each is written once.
    """

    def __init__(self, collection: Any) -> None:
        self.collection = collection

    @classmethod
    def open(cls, client: Any, settings: Settings, *, create: bool) -> ChangeLog:
        name = settings.collection + LOG_SUFFIX
        try:
            if create:
                collection = client.get_or_create_collection(
                    name, embedding_function=None, metadata={"ragbot": "change-log", "of": settings.collection}
                )
            else:
                collection = client.get_collection(name, embedding_function=None)
        except Exception as exc:
            if not create and _missing(exc):
                raise StoreError(
                    f"the collection {settings.collection!r} on {_where(settings)} has no ragbot change log: "
                    "run `ragbot ingest` against it once"
                ) from None
            raise StoreError(f"cannot open the change log {name!r} on {_where(settings)}: {exc}") from exc
        return cls(collection)

    @property
    def id(self) -> str:
        return str(self.collection.id)

    def since(self, generation: int) -> list[LogEntry]:
        """Entries numbered above `generation`, in order."""
        with _guard("reading the change log"):
            got = self.collection.get(where={"gen": {"$gt": generation}}, include=["documents", "metadatas"])
        entries = [self._entry(m, d) for m, d in zip(got["metadatas"], got["documents"], strict=True)]
        return sorted(entries, key=lambda e: e.generation)

    @staticmethod
    def _entry(meta: dict[str, Any], document: str) -> LogEntry:
        body = json.loads(document)
        return LogEntry(
            int(meta["gen"]),
            meta["op"],
            meta["source"],
            body.get("title", ""),
            body.get("doc_hash", ""),
            body.get("ingested_at", ""),
            tuple(body.get("ids", ())),
        )

    def latest(self, after: int = 0) -> int:
        """The highest number in the log, or `after` when there is none above it (metadata only)."""
        with _guard("reading the change log"):
            got = self.collection.get(where={"gen": {"$gt": after}}, include=["metadatas"])
        return max([after, *(int(m["gen"]) for m in got["metadatas"])])

    def compact(self, keep_s: float, source: str | None = None) -> int:
        """Delete the superseded entries (of `source`, or of every document) older than `keep_s` seconds;
        return how many. Entries written before entries carried their time count as old."""
        where: dict[str, Any] = {"source": source} if source is not None else {"gen": {"$gt": 0}}
        with _guard("reading the change log"):
            got = self.collection.get(where=where, include=["metadatas"])
        newest: dict[str, int] = {}
        for m in got["metadatas"]:
            newest[m["source"]] = max(newest.get(m["source"], 0), int(m["gen"]))
        cutoff = time.time() - keep_s
        stale = [
            key
            for key, m in zip(got["ids"], got["metadatas"], strict=True)
            if int(m["gen"]) < newest[m["source"]] and float(m.get("t", 0.0)) <= cutoff
        ]
        if stale:
            with _guard("compacting the change log"):
                self.collection.delete(ids=stale)
        return len(stale)

    def append(self, entry: LogEntry, after: int) -> int:
        """Write `entry` under the first free number above `after` and the highest in use; return it."""
        writer = uuid.uuid4().hex
        body = json.dumps(
            {"title": entry.title, "doc_hash": entry.doc_hash, "ingested_at": entry.ingested_at, "ids": list(entry.ids)}
        )
        generation = self.latest(after)
        with _guard("writing the change log"):
            for _ in range(MAX_APPEND_TRIES):
                generation += 1
                key = f"{generation:012d}"
                meta = {"gen": generation, "op": entry.op, "source": entry.source, "writer": writer, "t": time.time()}
                self.collection.add(ids=[key], embeddings=[[1.0]], documents=[body], metadatas=[meta])
                got = self.collection.get(ids=[key], include=["metadatas"])
                if got["metadatas"] and got["metadatas"][0].get("writer") == writer:
                    return generation
        raise StoreError(f"could not append to the change log after {MAX_APPEND_TRIES} tries: too many writers")
