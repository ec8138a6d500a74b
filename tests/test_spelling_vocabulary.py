"""Respelling through the cached, vectorised vocabulary (spelling.Vocabulary) corrects exactly as the
term-by-term scan does, and sees a term an ingest adds."""

from __future__ import annotations

import random

from bot.evaluation import bench_corpus
from retrieval import Index, ingest, write_synthetic
from retrieval.answering.spelling import correct, respell, vocabulary
from retrieval.text import stems
from tests.helpers import ARTICLE


def _typos(words: list[str], rng: random.Random, n: int) -> list[str]:
    """Misspellings of `words`: a letter dropped, doubled, swapped with the next or replaced."""
    out = []
    for _ in range(n):
        w = rng.choice(words)
        i = rng.randrange(1, len(w))
        kind = rng.randrange(4)
        if kind == 0:
            w = w[:i] + w[i + 1 :]
        elif kind == 1:
            w = w[:i] + w[i] + w[i:]
        elif kind == 2 and i < len(w) - 1:
            w = w[:i] + w[i + 1] + w[i] + w[i + 2 :]
        else:
            w = w[:i] + rng.choice("aeioustrnl") + w[i + 1 :]
        out.append(w)
    return out


def _both_ways(catalog, words: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    def stem(w: str) -> str:
        return stems([w])[0]

    fixes, fast = {}, {}
    for w in words:  # one word at a time: correct() looks up at most a few unknown words per call
        fixes.update(correct([w], stem, catalog.has_term, catalog.terms_near))
        fast.update(correct([w], stem, catalog.has_term, catalog.terms_near, vocabulary(catalog).near))
    return fixes, fast


def test_the_vocabulary_corrects_as_the_scan_does(make_settings, embedder):
    settings = make_settings()
    passages = list(bench_corpus.synthetic_passages(3000, [ARTICLE]))
    write_synthetic(settings, passages, embedder)
    index = Index.open(settings, embedder=embedder)
    words = sorted({w for p in passages[:400] for w in p.text.lower().replace(".", "").split() if len(w) > 4})
    typos = _typos(words, random.Random(3), 400)
    fixes, fast = _both_ways(index.catalog, typos)
    assert fixes == fast
    assert len(fixes) > 100  # most typos found a term: the comparison is not vacuous
    index.close()


def test_the_vocabulary_sees_what_an_ingest_adds(make_settings, embedder, tmp_path):
    settings = make_settings()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Harbour\n\nThe ferry leaves the harbour at dawn.\n", encoding="utf-8")
    index = Index.open(settings, create=True, embedder=embedder)
    ingest(settings, [docs], index=index)
    reader = Index.open(settings, embedder=embedder)
    assert respell("when does the zebracron sail", reader.catalog) == "when does the zebracron sail"
    (docs / "b.txt").write_text("Zebracorn\n\nThe zebracorn sails at noon.\n", encoding="utf-8")
    ingest(settings, [docs], index=index)  # another connection writes the catalog
    assert respell("when does the zebracron sail", reader.catalog) == "when does the zebracorn sail"
    index.close()
    reader.close()
