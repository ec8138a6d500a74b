"""A memory-mapped copy of a local store's vectors: dense search without starting Chroma's client.

Importing chromadb and opening its client costs most of a cold `ragbot ask`. Chroma stays the
store of record (ingest writes only to it); after a process that had Chroma open closes its index,
it leaves beside the catalog a copy of every vector of the collection (`<collection>.vectors.npy`,
float32, with `<collection>.vectors.json` naming the ids, rows in the same order; made from the
previous copy and the vectors it lacks, read from Chroma: `write_snapshot`) stamped with
Chroma's own change counter for the collection: its id, its metadata segment's last sequence
number and its record count, read from `chroma.sqlite3` with the standard library. A process that
opens the store finds the stamp unchanged and searches the copy; any write to the collection
(an ingest, a rebuild, files deleted or replaced) changes the stamp, and the process opens Chroma
as before (and leaves a fresh copy when it closes). So the copy never answers for a collection
that has changed since it was made.

Search on the copy is exact (every vector scored, then the top k); Chroma's HNSW is approximate
but exact on stores this small: copies are made up to `SNAPSHOT_MAX` vectors only, where scoring
them all costs a millisecond or two. Leaves out Chroma servers (their clients never import much
more than the HTTP client) and stores beyond SNAPSHOT_MAX.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.settings import Settings

if TYPE_CHECKING:
    from retrieval.storage.vectors import VectorStore

log = logging.getLogger(__name__)

SNAPSHOT_MAX = 20_000
PAGE = 5000


def _meta_path(settings: Settings) -> Path:
    return settings.chroma_path / f"{settings.collection}.vectors.json"


def chroma_stamp(settings: Settings) -> list[Any] | None:
    """(collection id, last sequence number, records) of the collection in Chroma's own SQLite file, or
    None when it cannot be read (no store, another layout of Chroma's tables: then no copy is trusted)."""
    path = settings.chroma_path / "chroma.sqlite3"
    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            row = db.execute(
                "SELECT c.id, m.seq_id, (SELECT count(*) FROM embeddings e WHERE e.segment_id = s.id) "
                "FROM collections c JOIN segments s ON s.collection = c.id AND s.scope = 'METADATA' "
                "LEFT JOIN max_seq_id m ON m.segment_id = s.id WHERE c.name = ?",
                (settings.collection,),
            ).fetchone()
        finally:
            db.close()
    except sqlite3.Error as exc:
        log.debug("cannot read Chroma's stamp: %s", exc)
        return None
    return list(row) if row else None


class SnapshotVectors:
    """The read side of VectorStore (query, similarities, count, id) over the memory-mapped copy."""

    def __init__(self, collection_id: str, ids: list[str], matrix: np.ndarray) -> None:
        self._id = collection_id
        self.ids = ids
        self.matrix = matrix
        self._row = {pid: i for i, pid in enumerate(ids)}

    @classmethod
    def load(cls, settings: Settings) -> SnapshotVectors | None:
        """The copy, when it exists and Chroma's collection has not changed since it was made."""
        meta_path = _meta_path(settings)
        if settings.chroma_host or not meta_path.is_file():
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            stamp = chroma_stamp(settings)
            if stamp is None or meta.get("stamp") != stamp:
                return None
            matrix = np.load(settings.chroma_path / meta["file"], mmap_mode="r")
        except (OSError, ValueError, KeyError) as exc:
            log.debug("the vector copy cannot be used: %s", exc)
            return None
        if matrix.shape[0] != len(meta["ids"]):
            return None
        return cls(str(stamp[0]), list(meta["ids"]), matrix)

    @property
    def id(self) -> str:
        return self._id

    def count(self) -> int:
        return len(self.ids)

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """(passage id, cosine similarity) of the k nearest passages, best first (exact)."""
        if not self.ids:
            return []
        sims = self.matrix @ _unit(vector)
        k = min(k, len(self.ids))
        top = np.argpartition(-sims, k - 1)[:k] if k < len(self.ids) else np.arange(len(self.ids))
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(self.ids[i], float(sims[i])) for i in top]

    def similarities(self, vector: np.ndarray, ids: Sequence[str]) -> dict[str, float]:
        """Cosine similarity of `vector` to the stored vectors of `ids` (unknown ids are left out)."""
        rows = [(pid, self._row[pid]) for pid in ids if pid in self._row]
        if not rows:
            return {}
        sims = self.matrix[[r for _, r in rows]] @ _unit(vector)
        return {pid: float(s) for (pid, _), s in zip(rows, sims, strict=True)}


def _unit(vector: np.ndarray) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(v))
    return v / norm if norm else v


def write_snapshot(settings: Settings, vectors: VectorStore) -> bool:
    """Copy the collection's vectors beside the catalog, stamped as Chroma stands now; False when the store
    is a server's, too large, or changed while it was copied (then no copy is left to trust).

    Only the vectors the previous copy of the same collection lacks are read from Chroma: a passage id
    names its text (and a collection holds one model's vectors), so a vector kept under its id is the
    vector Chroma holds. Every id is listed from Chroma itself, so a vector gone from it is gone from
    the copy; a rebuilt collection (a new collection id) is copied whole."""
    if settings.chroma_host:
        return False
    before = chroma_stamp(settings)
    if before is None or before[2] > SNAPSHOT_MAX:
        return False
    ids: list[str] = vectors.collection.get(include=[])["ids"]
    kept_ids, kept = _previous_copy(settings, str(before[0]))
    row = {pid: i for i, pid in enumerate(kept_ids)}
    new = [i for i, pid in enumerate(ids) if pid not in row]
    missing = [ids[i] for i in new]
    fetched: dict[str, np.ndarray] = {}
    for offset in range(0, len(missing), PAGE):
        got = vectors.collection.get(ids=missing[offset : offset + PAGE], include=["embeddings"])
        found = np.asarray(got["embeddings"], dtype=np.float32).reshape(len(got["ids"]), -1)
        fetched.update(zip(got["ids"], found, strict=True))
    if chroma_stamp(settings) != before or len(ids) != before[2] or len(fetched) != len(missing):
        return False
    matrix = np.zeros((len(ids), vectors.embedder.dim()), dtype=np.float32)
    old = [(i, row[pid]) for i, pid in enumerate(ids) if pid in row]
    if old:
        matrix[[i for i, _ in old]] = kept[[r for _, r in old]]
    if new:
        raw = np.stack([fetched[ids[i]] for i in new])
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        matrix[new] = raw / np.where(norms > 0, norms, 1.0)  # cosine, as Chroma's space computes it
    meta_path = _meta_path(settings)
    name = f"{settings.collection}.vectors.{uuid.uuid4().hex[:8]}.npy"
    np.save(settings.chroma_path / name, matrix)
    tmp = meta_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"stamp": before, "file": name, "ids": ids}), encoding="utf-8")
    old_file = _current_file(meta_path)
    os.replace(tmp, meta_path)  # readers see the old copy or the new one, whole
    if old_file and old_file != name:
        (settings.chroma_path / old_file).unlink(missing_ok=True)  # a reader that mapped it keeps its pages
    return True


def _previous_copy(settings: Settings, collection_id: str) -> tuple[list[str], np.ndarray]:
    """(ids, unit vectors) of the copy there is of collection `collection_id`, current or not; none else."""
    empty: tuple[list[str], np.ndarray] = ([], np.zeros((0, 0), dtype=np.float32))
    try:
        meta = json.loads(_meta_path(settings).read_text(encoding="utf-8"))
        if str(meta["stamp"][0]) != collection_id:
            return empty
        matrix = np.load(settings.chroma_path / meta["file"], mmap_mode="r")
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return empty
    if matrix.ndim != 2 or matrix.shape[0] != len(meta["ids"]):
        return empty
    return list(meta["ids"]), matrix


def _current_file(meta_path: Path) -> str | None:
    try:
        return str(json.loads(meta_path.read_text(encoding="utf-8"))["file"])
    except (OSError, ValueError, KeyError):
        return None


def drop_snapshot(settings: Settings) -> None:
    """Delete the collection's vector copy (its files), if any: the collection is being dropped."""
    if settings.chroma_host or not settings.chroma_path.is_dir():
        return
    for path in settings.chroma_path.glob(f"{settings.collection}.vectors.*"):
        path.unlink(missing_ok=True)
