"""Server mode: the local catalog as a cache of the Chroma server, kept in step by a change log.

Every ingest that publishes or removes a document appends one numbered entry to the collection's
change log on the server (`changelog.ChangeLog`), after its vectors are written and before the old
ones are deleted. The log entry is the commit point: a document's new passages become live for
every client at once, wherever it runs. Each client keeps a local catalog (texts, BM25 index,
live flags) that records the last entry it applied; `refresh()` (called before every retrieval)
asks the server for newer entries in one round trip and, when there are some, fetches only the
passages it lacks and applies them in one SQLite transaction. So no client ever rebuilds its
lexical index from all passages, and every client filters dense hits and ranks BM25 over the same
live set: the one the log defines.

A new machine replays the log once into an empty cache. A cache made for another incarnation of
the collection (dropped and rebuilt with `ingest --rebuild`) is recognised by the collections'
ids and emptied before replaying.
Leaves out: concurrent ingests of the same document from two machines are last-writer-wins, and
the loser's new vectors stay in Chroma unused (never live) until `ragbot ingest --rebuild`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from retrieval.errors import StoreError
from retrieval.settings import Settings
from retrieval.storage.catalog import Catalog, Change, DocumentInfo, StoredText, now_utc
from retrieval.storage.changelog import ChangeLog, LogEntry
from retrieval.storage.vectors import CollectionGone, VectorStore

log = logging.getLogger(__name__)

FETCH_ATTEMPTS = 3


class ServerCatalog(Catalog):
    """A Catalog whose writes go through the server's change log and whose reads can catch up."""

    def __init__(self, path: Path, settings: Settings, vectors: VectorStore, changes: ChangeLog) -> None:
        super().__init__(path)
        self.settings = settings
        self.vectors = vectors
        self.changes = changes
        self._check_origin()

    @property
    def generation(self) -> int:
        return int(self.get_meta("generation") or 0)

    def _check_origin(self) -> None:
        origin = f"{self.vectors.id}/{self.changes.id}"
        if self.get_meta("origin") != origin:
            keep = {k: v for k in ("embedding_model",) if (v := self.get_meta(k)) is not None}
            self.reset({**keep, "origin": origin})

    def _reopen(self) -> None:
        fresh = VectorStore.open(self.settings, self.vectors.embedder, create=False, client=self.vectors.client)
        self.vectors.collection = fresh.collection
        self.changes = ChangeLog.open(self.vectors.client, self.settings, create=False)
        self._check_origin()

    # -- reading: catch up with the server ------------------------------------------------------
    def refresh(self) -> None:
        """Apply the log entries this cache has not seen (one round trip when there are none)."""
        try:
            self._catch_up()
        except CollectionGone:
            log.info("collection %s was rebuilt: reloading the local catalog", self.settings.collection)
            self._reopen()
            self._catch_up()

    def _catch_up(self) -> None:
        for attempt in range(FETCH_ATTEMPTS):
            entries = self.changes.since(self.generation)
            if not entries:
                return
            latest = {e.source: e for e in entries}  # each entry states a document's whole live set
            wanted = [i for e in latest.values() if e.op == "publish" for i in e.ids]
            have = self.known(wanted)
            need = [i for i in wanted if i not in have]
            fetched = self.vectors.fetch(need) if need else []
            got = have | {p.id for p in fetched}
            lacking = len(wanted) - len([i for i in wanted if i in got])
            if lacking and attempt < FETCH_ATTEMPTS - 1 and self.changes.since(entries[-1].generation):
                continue  # a newer entry replaced those passages and its writer deleted them: read again
            if lacking:
                log.warning("%d passage(s) named by the change log are missing on the server", lacking)
            self.apply(self._changes(latest.values(), got), fetched, entries[-1].generation)
            return

    @staticmethod
    def _changes(entries: Iterable[LogEntry], present: set[str]) -> list[Change]:
        out: list[Change] = []
        for e in entries:
            if e.op == "publish":
                ids = tuple(i for i in e.ids if i in present)
                out.append(Change(e.source, DocumentInfo(e.source, e.title, e.doc_hash, len(ids), e.ingested_at), ids))
            else:
                out.append(Change(e.source, None))
        return out

    # -- writing: through the log ---------------------------------------------------------------
    def _rows_of(self, source: str) -> set[str]:
        return {r[0] for r in self._rows("SELECT id FROM passages WHERE source = ?", (source,))}

    def publish(
        self, source: str, title: str, doc_hash: str, ids: Sequence[str], date: str = "", text: StoredText | None = None
    ) -> list[str]:
        """Append a publish entry (the commit point), catch up, and return the ids now unused. The log
        carries neither `date` (passages carry it in their metadata) nor `text`, which is kept in this
        machine's cache only."""
        before = self._rows_of(source)
        keep = tuple(dict.fromkeys(ids))
        self.changes.append(LogEntry(0, "publish", source, title, doc_hash, now_utc(), keep), after=self.generation)
        self.refresh()
        if text is not None:
            self.set_text(source, text)
        self._compact(source)
        return sorted(before - set(keep) - self.live_ids(source))

    def retire(self, source: str) -> list[str]:
        """Append a remove entry, catch up, and return the ids of `source` no longer live."""
        before = self._rows_of(source)
        self.changes.append(LogEntry(0, "remove", source), after=self.generation)
        self.refresh()
        self._compact(source)
        return sorted(before - self.live_ids(source))

    def _compact(self, source: str) -> None:
        """Delete the source's superseded log entries past the grace period (see changelog.py); a failure
        here loses nothing (the entries stay until the next change of the source), so it is only logged."""
        try:
            dropped = self.changes.compact(self.settings.chroma_log_keep_s, source)
        except StoreError as exc:
            log.warning("could not compact the change log for %s: %s", source, exc)
            return
        if dropped:
            log.debug("compacted %d superseded change-log entr(y/ies) of %s", dropped, source)
