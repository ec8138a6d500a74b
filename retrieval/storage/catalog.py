"""The catalog: every passage's text, which passages are live, and a BM25 index over them.

One SQLite file (WAL mode) beside the local Chroma store. It holds
- `passages`: id, source, title, paragraph, offsets, text, PDF page, Markdown line, date and a `live` flag;
- `fts`: an FTS5 index over passage text (Porter stemming), ranked with FTS5's built-in `bm25()`;
- `documents`: the current version (content hash), title and date of each ingested source;
- `texts`: the text each source's offsets refer to, as ingested, with its file's hash (`ragbot show`).
It is persistent and updated incrementally, so nothing is rebuilt at start or per query.
With a Chroma server the file is a local cache kept in step by `sync.py` (`apply()` below).

Its format has a version (`PRAGMA user_version`, CATALOG_VERSION). An older catalog is migrated in
place when opened (MIGRATIONS, one transaction); a newer one, or one whose migration fails, raises
StoreVersionError naming the `ragbot ingest --rebuild ...` command that rebuilds the store.

Visibility is what makes re-ingest safe while others read: new passages are staged (not live),
then one transaction makes the new set live and the old set not live, and only then are old rows
purged. A reader's single query sees each document entirely old or entirely new.
Does not hold vectors (Chroma does).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from retrieval.errors import StoreError, StoreVersionError
from retrieval.schema import Passage
from retrieval.text import terms

# The catalog's format, in SQLite's `PRAGMA user_version`: 0 = before versions (no page, line or date
# columns, no stored texts); 1 = passages with page, line and date, documents with date, stored texts.
CATALOG_VERSION = 1

PRAGMAS = """
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
"""
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS passages(
    rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, source TEXT NOT NULL, title TEXT NOT NULL,
    paragraph INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    live INTEGER NOT NULL DEFAULT 0, page INTEGER, line INTEGER, date TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS passages_source ON passages(source, live);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    text, content='passages', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2');
CREATE TRIGGER IF NOT EXISTS passages_ai AFTER INSERT ON passages BEGIN
    INSERT INTO fts(rowid, text) VALUES (new.rowid, new.text); END;
CREATE TRIGGER IF NOT EXISTS passages_ad AFTER DELETE ON passages BEGIN
    INSERT INTO fts(fts, rowid, text) VALUES ('delete', old.rowid, old.text); END;
CREATE VIRTUAL TABLE IF NOT EXISTS fts_vocab USING fts5vocab(fts, 'row');
CREATE TABLE IF NOT EXISTS documents(
    source TEXT PRIMARY KEY, title TEXT NOT NULL, doc_hash TEXT NOT NULL, passages INTEGER NOT NULL,
    ingested_at TEXT NOT NULL, date TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS texts(source TEXT PRIMARY KEY, text TEXT NOT NULL, file_hash TEXT NOT NULL);
"""
# Each step takes the catalog from version i to i + 1, in one transaction.
MIGRATIONS = (
    """
    ALTER TABLE passages ADD COLUMN page INTEGER;
    ALTER TABLE passages ADD COLUMN line INTEGER;
    ALTER TABLE passages ADD COLUMN date TEXT NOT NULL DEFAULT '';
    ALTER TABLE documents ADD COLUMN date TEXT NOT NULL DEFAULT '';
    CREATE TABLE IF NOT EXISTS texts(source TEXT PRIMARY KEY, text TEXT NOT NULL, file_hash TEXT NOT NULL);
    """,
)
assert len(MIGRATIONS) == CATALOG_VERSION
# Passage's fields, in order (`_insert` writes them so)
PASSAGE_COLUMNS = ("id", "source", "title", "paragraph", "start", '"end"', "text", "page", "line", "date")
COLUMNS = ", ".join(PASSAGE_COLUMNS)
DOCUMENT_COLUMNS = "source, title, doc_hash, passages, ingested_at, date"

log = logging.getLogger(__name__)

SEARCH_SLACK = 16  # extra FTS5 rows ranked, to absorb rows that are not live


@dataclass(frozen=True)
class DocumentInfo:
    source: str
    title: str
    doc_hash: str
    passages: int
    ingested_at: str
    date: str = ""


@dataclass(frozen=True)
class StoredText:
    """The text a document's offsets refer to, as ingested, and the SHA-1 of the bytes it came from."""

    text: str
    file_hash: str


@dataclass(frozen=True)
class Change:
    """A document's state after a change: `info` and its live passage ids, or `info=None` (removed)."""

    source: str
    info: DocumentInfo | None
    ids: tuple[str, ...] = ()


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Catalog:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
            self._db.executescript(PRAGMAS)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the catalog {path}: {exc}. Run `ragbot ingest --rebuild`.") from exc
        self._lock = threading.RLock()
        self._upgrade()

    def _upgrade(self) -> None:
        """Create a new catalog at CATALOG_VERSION, or migrate an older one in place; StoreVersionError
        (naming the command that rebuilds the store) for a newer catalog or a migration that fails."""
        try:
            version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
            fresh = self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'passages'").fetchone() is None
        except sqlite3.Error as exc:
            self._db.close()
            raise StoreError(f"cannot open the catalog {self.path}: {exc}. Run `ragbot ingest --rebuild`.") from exc
        if version > CATALOG_VERSION:
            self._refuse(
                f"it was written by a newer ragbot (catalog version {version}; this one reads {CATALOG_VERSION})"
            )
        try:
            if fresh or version == CATALOG_VERSION:
                self._db.executescript(SCHEMA)  # creates what is missing; the same statements as ever
                if fresh:
                    self._db.execute(f"PRAGMA user_version = {CATALOG_VERSION}")
                return
            with self._tx():  # another process may have migrated it while this one waited
                version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
                for step in range(version, CATALOG_VERSION):
                    for statement in MIGRATIONS[step].split(";"):
                        if statement.strip():
                            self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {CATALOG_VERSION}")
            log.info("migrated the catalog %s from version %d to %d", self.path, version, CATALOG_VERSION)
        except sqlite3.Error as exc:
            self._refuse(f"it is in an older format (catalog version {version}) and could not be migrated: {exc}")

    def _refuse(self, why: str) -> None:
        """Close the file and raise StoreVersionError with the exact command that rebuilds the store."""
        try:
            sources = [r[0] for r in self._db.execute("SELECT source FROM documents ORDER BY source")]
        except sqlite3.Error:
            sources = []
        self._db.close()
        raise StoreVersionError(self.path, why, sources)

    def close(self) -> None:
        self._db.close()

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, tuple(params)).fetchall()
            except sqlite3.DatabaseError as exc:
                raise StoreError(
                    f"the catalog {self.path} cannot be read: {exc}. Run `ragbot ingest --rebuild`."
                ) from exc

    # -- metadata ---------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._rows("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # -- writing ----------------------------------------------------------------------------
    def stage(self, passages: Sequence[Passage]) -> None:
        """Insert passages as not live (already known ids are left as they are)."""
        with self._lock, self._tx():
            self._insert(passages)

    def _insert(self, passages: Sequence[Passage]) -> None:
        self._db.executemany(
            f"INSERT OR IGNORE INTO passages({COLUMNS}, live) VALUES ({', '.join('?' * len(PASSAGE_COLUMNS))}, 0)",
            [(p.id, p.source, p.title, p.paragraph, p.start, p.end, p.text, p.page, p.line, p.date) for p in passages],
        )

    def publish(
        self, source: str, title: str, doc_hash: str, ids: Sequence[str], date: str = "", text: StoredText | None = None
    ) -> list[str]:
        """Make exactly `ids` the live passages of `source`, atomically, with the text their offsets refer
        to when given; return the replaced ids."""
        info = DocumentInfo(source, title, doc_hash, len(set(ids)), now_utc(), date)
        with self._lock, self._tx():
            if text is not None:
                self._store_text(source, text)
            return self._set_live(source, set(ids), info)

    def _set_live(self, source: str, keep: set[str], info: DocumentInfo | None) -> list[str]:
        old = {r[0] for r in self._db.execute("SELECT id FROM passages WHERE source = ?", (source,))}
        stale = sorted(old - keep)
        self._db.executemany("UPDATE passages SET live = 0 WHERE id = ?", [(i,) for i in stale])
        self._db.executemany("UPDATE passages SET live = 1 WHERE id = ?", [(i,) for i in keep])
        if info is None:
            self._db.execute("DELETE FROM documents WHERE source = ?", (source,))
            self._db.execute("DELETE FROM texts WHERE source = ?", (source,))
        else:
            self._db.execute(
                "INSERT OR REPLACE INTO documents(source, title, doc_hash, passages, ingested_at, date) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                astuple(info),
            )
        return stale

    def retire(self, source: str) -> list[str]:
        """Hide every passage of `source` and forget the document; return its passage ids."""
        with self._lock, self._tx():
            ids = [r[0] for r in self._db.execute("SELECT id FROM passages WHERE source = ?", (source,))]
            self._db.execute("UPDATE passages SET live = 0 WHERE source = ?", (source,))
            self._db.execute("DELETE FROM documents WHERE source = ?", (source,))
            self._db.execute("DELETE FROM texts WHERE source = ?", (source,))
        return ids

    def set_text(self, source: str, text: StoredText) -> None:
        """Keep the text `source`'s offsets refer to, and the hash of the file (or page) it came from."""
        with self._lock, self._tx():
            self._store_text(source, text)

    def _store_text(self, source: str, text: StoredText) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO texts(source, text, file_hash) VALUES (?, ?, ?)",
            (source, text.text, text.file_hash),
        )

    def text(self, source: str) -> StoredText | None:
        """The stored text of `source`, or None (not ingested, or ingested by a ragbot that kept no texts)."""
        rows = self._rows("SELECT text, file_hash FROM texts WHERE source = ?", (source,))
        return StoredText(rows[0][0], rows[0][1]) if rows else None

    def purge(self, ids: Sequence[str]) -> None:
        """Delete rows that are not live (live rows are never purged)."""
        with self._lock, self._tx():
            self._db.executemany("DELETE FROM passages WHERE id = ? AND live = 0", [(i,) for i in ids])

    def apply(self, changes: Sequence[Change], passages: Sequence[Passage], generation: int) -> bool:
        """Stage `passages`, apply `changes` and record `generation`, in one transaction.

        Skipped (returns False) when the catalog already reflects `generation` or a later one, so
        processes sharing this file can apply the same changes concurrently. Rows a change leaves
        not live are deleted at once: nobody else writes this file's sources.
        """
        with self._lock, self._tx():
            row = self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
            if row is not None and int(row[0]) >= generation:
                return False
            self._insert(passages)
            for change in changes:
                stale = self._set_live(change.source, set(change.ids), change.info)
                self._db.executemany("DELETE FROM passages WHERE id = ? AND live = 0", [(i,) for i in stale])
            self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('generation', ?)", (str(generation),))
        return True

    def reset(self, meta: dict[str, str]) -> None:
        """Forget every passage and document; keep only `meta` (a cache whose origin changed)."""
        with self._lock, self._tx():
            for table in ("passages", "documents", "texts", "meta"):
                self._db.execute(f"DELETE FROM {table}")
            self._db.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", list(meta.items()))

    def refresh(self) -> None:
        """Catch up with other writers: nothing to do for a local file (see `sync.ServerCatalog`)."""

    @contextmanager
    def _tx(self) -> Iterator[None]:
        """One write transaction: committed when the block ends normally, rolled back on an exception."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- reading ----------------------------------------------------------------------------
    def document(self, source: str) -> DocumentInfo | None:
        rows = self._rows(f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE source = ?", (source,))
        return DocumentInfo(*rows[0]) if rows else None

    def documents(self) -> list[DocumentInfo]:
        return [DocumentInfo(*r) for r in self._rows(f"SELECT {DOCUMENT_COLUMNS} FROM documents ORDER BY source")]

    def live_ids(self, source: str) -> set[str]:
        return {r[0] for r in self._rows("SELECT id FROM passages WHERE source = ? AND live = 1", (source,))}

    def document_count(self) -> int:
        """Documents ingested (live)."""
        return int(self._rows("SELECT count(*) FROM documents")[0][0])

    def live_count(self) -> int:
        """Live passages, from the documents table (one row per document, not one per passage)."""
        return int(self._rows("SELECT coalesce(sum(passages), 0) FROM documents")[0][0])

    def known(self, ids: Sequence[str]) -> set[str]:
        """The ids among `ids` that have a row, live or not."""
        out: set[str] = set()
        for b in range(0, len(ids), 500):
            chunk = list(ids[b : b + 500])
            out.update(
                r[0] for r in self._rows(f"SELECT id FROM passages WHERE id IN ({','.join('?' * len(chunk))})", chunk)
            )
        return out

    def passages(self, ids: Sequence[str]) -> dict[str, Passage]:
        """The live passages among `ids`."""
        out: dict[str, Passage] = {}
        for b in range(0, len(ids), 500):
            chunk = list(ids[b : b + 500])
            marks = ",".join("?" * len(chunk))
            for r in self._rows(
                f"SELECT {COLUMNS} FROM passages WHERE live = 1 AND id IN ({marks})",
                chunk,
            ):
                out[r[0]] = Passage(*r)
        return out

    def neighbours(self, passage: Passage) -> list[Passage]:
        """Live passages of the same paragraph, in order."""
        rows = self._rows(
            f"SELECT {COLUMNS} FROM passages WHERE source = ? AND paragraph = ? AND live = 1 ORDER BY start",
            (passage.source, passage.paragraph),
        )
        return [Passage(*r) for r in rows]

    def search(self, query: str, k: int) -> list[tuple[Passage, float]]:
        """BM25 over live passages: (passage, score > 0, higher is better), best first.

        The top rows are ranked inside FTS5 first and joined to `passages` afterwards, which
        halves the cost for questions of common words (the join no longer runs per match). Rows
        that are not live exist only while an ingest is between staging and purging; when they
        leave fewer than k hits, the exact join-then-rank query runs instead.
        """
        words = terms(query)
        if not words:
            return []
        match = " OR ".join('"' + w.replace('"', "") + '"' for w in dict.fromkeys(words))
        columns = ", ".join(f"p.{c}" for c in PASSAGE_COLUMNS)
        rows = self._rows(
            f"SELECT {columns}, f.s FROM (SELECT rowid, -bm25(fts) AS s FROM fts WHERE fts MATCH ? "
            "ORDER BY bm25(fts) LIMIT ?) f JOIN passages p ON p.rowid = f.rowid WHERE p.live = 1 ORDER BY f.s DESC",
            (match, k + SEARCH_SLACK),
        )[:k]
        if len(rows) < k:
            rows = self._rows(
                f"SELECT {columns}, -bm25(fts) AS s FROM fts JOIN passages p ON p.rowid = fts.rowid "
                "WHERE fts MATCH ? AND p.live = 1 ORDER BY bm25(fts) LIMIT ?",
                (match, k),
            )
        n = len(PASSAGE_COLUMNS)
        return [(Passage(*r[:n]), float(r[n])) for r in rows]

    def doc_freq(self, words: Sequence[str]) -> dict[str, int]:
        """How many passages contain each content word (after FTS5's stemming).

        Words that `terms()` drops (stopwords, single letters) are left out of the result: they
        carry no weight, and counting "the" costs a walk over nearly every passage.
        """
        out = {}
        for w in dict.fromkeys(terms(" ".join(words))):
            phrase = '"' + w.replace('"', "") + '"'
            out[w] = self._rows("SELECT count(*) FROM fts WHERE fts MATCH ?", (phrase,))[0][0]
        return out

    def has_term(self, term: str) -> bool:
        """Whether any passage holds `term` (an FTS5 Porter stem)."""
        return bool(self._rows("SELECT 1 FROM fts_vocab WHERE term = ?", (term,)))

    def terms_near(self, first: str, min_len: int, max_len: int) -> list[tuple[str, int]]:
        """Indexed terms starting with `first`, of `min_len`..`max_len` characters, with their passage counts."""
        return [
            (t, n)
            for t, n in self._rows(
                "SELECT term, doc FROM fts_vocab WHERE term >= ? AND term < ? AND length(term) BETWEEN ? AND ?",
                (first, first + "\U0010ffff", max(min_len, 1), max_len),
            )
        ]
