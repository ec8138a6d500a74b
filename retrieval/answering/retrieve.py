"""Hybrid retrieval: dense (Chroma, cosine) + lexical (FTS5 BM25), fused by reciprocal rank.

Dense search reads `index.dense` (Chroma, or its memory-mapped copy on a local store: snapshot.py).
Both lists are over-fetched, filtered to live passages (see catalog.py) and fused with RRF
(k=60, Cormack et al. 2009). Each hit keeps its dense cosine similarity (fetched from Chroma for
lexical-only hits, or computed from their text when this process's Chroma cannot read them) and
its BM25 score, which sentence scoring uses next. `Hit.score` is the fused score divided by its
maximum (first in both lists), so it lies in [0, 1].
Does not rerank with a cross-encoder (none ships offline).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from retrieval.errors import StoreError
from retrieval.schema import Hit, Passage
from retrieval.storage.index import Index

RRF_K = 60
FETCH_FACTOR = 4
MIN_FETCH = 20
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Query:
    """What retrieval searches with: text for BM25 and a unit vector for the dense side."""

    text: str
    vector: np.ndarray


def _similarities(index: Index, vector: np.ndarray, passages: list[Passage]) -> dict[str, float]:
    """Cosine similarity of the query to passages the dense search did not return: from their stored
    vectors, else from their text embedded again (the same number). The second happens when this
    process's Chroma cannot read vectors another process has just written to the same local store."""
    try:
        found = index.dense.similarities(vector, [p.id for p in passages])
    except StoreError as exc:
        log.info("reading stored vectors failed (%s): embedding %d passage(s) again", exc, len(passages))
        found = {}
    lacking = [p for p in passages if p.id not in found]
    if lacking:
        sims = index.embedder.embed_array([p.text for p in lacking]) @ np.asarray(vector, dtype=np.float32)
        found.update(zip([p.id for p in lacking], sims.tolist(), strict=True))
    return found


def retrieve(index: Index, query: Query, k: int, strategy: str = "hybrid") -> list[Hit]:
    index.refresh()  # server mode: catch up with other clients' ingests (one round trip)
    fetch = max(k * FETCH_FACTOR, MIN_FETCH)
    dense = index.dense.query(query.vector, fetch) if strategy in ("hybrid", "dense") else []
    lexical = index.catalog.search(query.text, fetch) if strategy in ("hybrid", "bm25") else []
    wanted = list(dict.fromkeys([i for i, _ in dense] + [p.id for p, _ in lexical]))
    live = index.catalog.passages(wanted)

    fused: dict[str, float] = {}
    dense_sim = {i: s for i, s in dense if i in live}
    bm25 = {p.id: s for p, s in lexical if p.id in live}
    for ranked in ([i for i, _ in dense if i in live], [p.id for p, _ in lexical if p.id in live]):
        for rank, pid in enumerate(ranked, start=1):
            fused[pid] = fused.get(pid, 0.0) + 1.0 / (RRF_K + rank)
    lists = sum(1 for ranked in (dense, lexical) if ranked) or 1
    best = lists / (RRF_K + 1)
    top = sorted(fused, key=lambda pid: (-fused[pid], pid))[:k]

    missing = [live[pid] for pid in top if pid not in dense_sim]
    if missing:
        dense_sim.update(_similarities(index, query.vector, missing))
    max_bm25 = max(bm25.values(), default=0.0) or 1.0
    return [
        Hit(
            passage=live[pid],
            score=min(1.0, fused[pid] / best),
            dense=max(0.0, dense_sim.get(pid, 0.0)),
            lexical=bm25.get(pid, 0.0) / max_bm25,
        )
        for pid in top
    ]
