"""The memory-mapped vector copy of a local store (storage/snapshot.py): it holds Chroma's vectors, finds
their exact neighbours, gives the same answers, and is trusted only while Chroma's collection is unchanged.
(That an answering process then never imports chromadb: tests/test_catalog_cold_start.py.)"""

from __future__ import annotations

import numpy as np

from bot.evaluation import bench_corpus
from retrieval import Index, ingest, write_synthetic
from tests.helpers import ROOT

QUESTION = "From which city did Interfax report Lavrov's comments?"


def _pair(settings, embedder):
    """The store opened on its copy, and a VectorStore on Chroma itself."""
    from retrieval.storage.snapshot import SnapshotVectors
    from retrieval.storage.vectors import VectorStore

    copy = SnapshotVectors.load(settings)
    assert copy is not None
    return copy, VectorStore.open(settings, embedder, create=False)


def _agree_on_the_vectors(copy, chroma, v, ids):
    mine, yours = copy.similarities(v, ids), chroma.similarities(v, ids)
    assert mine.keys() == yours.keys() and all(abs(mine[i] - yours[i]) < 1e-5 for i in mine)


def test_the_copy_holds_chromas_vectors_and_finds_its_neighbours_exactly(make_settings, embedder):
    """On the article the copy returns what Chroma returns. On 3,000 clustered passages Chroma's HNSW is
    approximate and sometimes misses a true neighbour; the copy scores every vector, so its hits are the
    exact ones: never less similar than Chroma's, and Chroma's own hits score the same on both."""
    settings = make_settings()
    ingest(settings, [ROOT / "seeds"], index=Index.open(settings, create=True, embedder=embedder))
    passages = list(bench_corpus.synthetic_passages(3000, [ROOT / "seeds" / "000_7f696d753bde9fea.txt"]))
    other = make_settings(chroma_path=settings.chroma_path.parent / "synthetic")
    write_synthetic(other, passages, embedder, basis=bench_corpus.real_vectors(settings, embedder))
    Index.open(other, embedder=embedder).close()  # a process that had Chroma open leaves the copy
    vectors = embedder.embed_array(bench_corpus.questions(settings))
    copy, chroma = _pair(settings, embedder)
    assert copy.count() == chroma.count() == 21 and copy.id == chroma.id
    for v in vectors:
        for k in (5, 20, 40):
            ours, theirs = copy.query(v, k), chroma.query(v, k)
            assert [i for i, _ in ours] == [i for i, _ in theirs]
            assert np.allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-5)
        _agree_on_the_vectors(copy, chroma, v, [i for i, _ in chroma.query(v, 21)] + ["no-such-id"])

    copy, chroma = _pair(other, embedder)
    assert copy.count() == chroma.count() == 3000 and copy.id == chroma.id
    same = 0
    for v in vectors:
        ours, theirs = copy.query(v, 20), chroma.query(v, 20)
        exact = copy.similarities(v, [i for i, _ in ours + theirs])
        assert all(abs(exact[i] - s) < 1e-5 for i, s in ours + theirs)  # the same numbers on both sides
        assert [s for _, s in ours] == sorted((s for _, s in ours), reverse=True)
        assert all(a >= b - 1e-6 for (_, a), (_, b) in zip(ours, theirs, strict=True))  # never a worse hit
        _agree_on_the_vectors(copy, chroma, v, [i for i, _ in theirs])
        same += [i for i, _ in ours] == [i for i, _ in theirs]
    assert same >= len(vectors) // 2  # mostly the very same list: HNSW misses only near its k-th hit


def test_any_change_to_chroma_retires_the_copy_until_the_next_one(make_settings, embedder, tmp_path):
    from retrieval.storage.snapshot import SnapshotVectors

    settings = make_settings()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Alpha\n\nThe lighthouse keeper painted the lamp room blue.\n", encoding="utf-8")
    ingest(settings, [docs], index=Index.open(settings, create=True, embedder=embedder))
    index = Index.open(settings, embedder=embedder)
    assert index._vectors is None and isinstance(index.dense, SnapshotVectors)  # Chroma was never opened
    first = index.dense.count()

    (docs / "b.txt").write_text("Beta\n\nThe orchestra rehearsed the symphony.\n", encoding="utf-8")
    writer = Index.open(settings, create=True, embedder=embedder)
    from retrieval.schema import Passage

    stray = Passage("stray#0", "stray.txt", "Stray", 1, 0, 5, "stray")
    writer.vectors.upsert([stray], embedder.embed_array(["stray"]))  # a real change, no copy made
    assert SnapshotVectors.load(settings) is None
    assert Index.open(settings, embedder=embedder)._vectors is not None  # Chroma again
    writer.vectors.delete(["stray#0"])
    report = ingest(settings, [docs], index=writer)  # the ingest leaves a fresh copy
    copy = SnapshotVectors.load(settings)
    assert copy is not None and copy.count() == first + report.embedded
    # the process on the old copy keeps answering from it; once it writes, it searches Chroma
    assert index.dense.count() == first
    index.vectors.count()
    assert index.dense is index.vectors

    # a rebuild drops the copy with the collection; Chroma's files gone: the copy is not trusted
    writer.close()
    index.close()
    Index.drop(settings)
    assert not list(settings.chroma_path.glob("*.vectors.*"))
    ingest(settings, [docs], index=Index.open(settings, create=True, embedder=embedder))
    assert SnapshotVectors.load(settings) is not None
    (settings.chroma_path / "chroma.sqlite3").unlink()
    assert SnapshotVectors.load(settings) is None


def test_a_new_copy_reads_only_the_vectors_the_last_one_lacks_and_equals_a_whole_copy(
    make_settings, embedder, tmp_path, monkeypatch
):
    from chromadb.api.models.Collection import Collection

    from retrieval import remove
    from retrieval.storage.snapshot import SnapshotVectors

    settings = make_settings()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Alpha\n\nThe lighthouse keeper painted the lamp room blue.\n", encoding="utf-8")
    ingest(settings, [docs, ROOT / "seeds"], index=Index.open(settings, create=True, embedder=embedder))
    read: list[int] = []  # vectors read back from Chroma, per call
    real_get = Collection.get

    def counting_get(self, *args, **kwargs):
        got = real_get(self, *args, **kwargs)
        if "embeddings" in (kwargs.get("include") or []):
            read.append(len(got["ids"]))
        return got

    monkeypatch.setattr(Collection, "get", counting_get)
    (docs / "b.txt").write_text("Beta\n\nThe orchestra rehearsed the symphony twice.\n", encoding="utf-8")
    report = ingest(settings, [docs], index=Index.open(settings, create=True, embedder=embedder))
    assert report.embedded > 0 and read == [report.embedded]  # the new passages' vectors only
    read.clear()
    remove(settings, ["seeds/000_7f696d753bde9fea.txt"], index=Index.open(settings, create=True, embedder=embedder))
    assert read == []  # passages removed: nothing to read
    copy = SnapshotVectors.load(settings)
    assert copy is not None and copy.count() == 4
    incremental = {pid: np.array(copy.matrix[i]) for i, pid in enumerate(copy.ids)}

    for path in settings.chroma_path.glob("*.vectors.*"):
        path.unlink()
    writer = Index.open(settings, create=True, embedder=embedder)
    writer.vectors.count()
    writer.close()  # a whole copy: there was none to start from
    assert read == [4]
    copy = SnapshotVectors.load(settings)
    assert copy is not None
    whole = {pid: np.array(copy.matrix[i]) for i, pid in enumerate(copy.ids)}
    assert incremental.keys() == whole.keys()
    assert all(np.array_equal(incremental[pid], whole[pid]) for pid in whole)


def test_no_copy_beyond_its_size_limit(make_settings, embedder, monkeypatch):
    from retrieval.storage import snapshot

    monkeypatch.setattr(snapshot, "SNAPSHOT_MAX", 3)
    settings = make_settings()
    ingest(settings, [ROOT / "seeds"], index=Index.open(settings, create=True, embedder=embedder))
    assert snapshot.SnapshotVectors.load(settings) is None
    assert Index.open(settings, embedder=embedder)._vectors is not None


def test_answers_on_the_copy_are_the_answers_on_chroma(make_settings, embedder):
    from retrieval import Engine

    settings = make_settings()
    ingest(settings, [ROOT / "seeds"], index=Index.open(settings, create=True, embedder=embedder))
    on_copy = Index.open(settings, embedder=embedder)
    on_chroma = Index.open(settings, embedder=embedder)
    on_chroma.vectors.count()  # opens Chroma: dense search leaves the copy
    assert on_copy._vectors is None and on_chroma.dense is on_chroma.vectors
    mine, theirs = Engine(settings, on_copy), Engine(settings, on_chroma)
    for question in bench_corpus.questions(settings):
        a, b = mine.answer(question).to_json(), theirs.answer(question).to_json()
        assert _same(a, b), question


def _same(a: object, b: object, where: str = "") -> bool:
    """Equal `ask --json` objects, timings aside; numbers within 2e-4 (Chroma's and numpy's float32 dot
    products sum in another order, so a score rounded to 4 decimals may land on either side of a digit)."""
    if where.endswith("timings_ms"):
        return True
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 2e-4
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], f"{where}.{k}") for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y, where) for x, y in zip(a, b, strict=True))
    return a == b
