"""Spelling correction of question words against the documents' own vocabulary.

A content word of the question that no passage contains is replaced by the closest indexed term
that starts with the same letter, when they are similar enough (difflib ratio). Terms are the FTS5
index's Porter stems, so corrections feed the lexical side only (BM25 and sentence overlap); the
dense side embeds the question as typed (MiniLM's word pieces already absorb many typos).
Does not split or join words, and leaves words of three letters or fewer alone.

The candidates come from `Vocabulary`: the catalog's terms by first letter, fetched once per process
(again after any write to the catalog) with each term's letter counts, so the bound difflib's
`quick_ratio` computes term by term is computed for a whole letter at once with numpy, and only
the terms that can reach MIN_RATIO are compared in full. The same terms, in the same order, get the
same comparison as without it: the corrections are the same, at a fraction of the cost on a large
vocabulary.
"""

from __future__ import annotations

import difflib
import re
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from retrieval.text import stems, terms

if TYPE_CHECKING:
    from retrieval.storage.catalog import Catalog

MIN_RATIO = 0.8
MIN_LENGTH = 4
MAX_ATTEMPTS = 3  # unknown words looked up per question (each scans the terms sharing its first letter)

Lookup = Callable[[str], bool]  # is this stem indexed?
Neighbours = Callable[[str, int, int], list[tuple[str, int]]]  # (first letter, min len, max len) -> [(term, df)]
# (first letter, min len, max len, targets) -> the neighbours whose quick_ratio to some target can reach MIN_RATIO
Near = Callable[[str, int, int, Sequence[str]], list[tuple[str, int]]]


def correct(
    words: Iterable[str], stem: Callable[[str], str], known: Lookup, neighbours: Neighbours, near: Near | None = None
) -> dict[str, str]:
    """{word: indexed term} for the words that are not in the index but close to a term that is. `near`, when
    given, stands for `neighbours` with the terms that cannot reach MIN_RATIO already left out."""
    fixes: dict[str, str] = {}
    attempts = 0
    for word in dict.fromkeys(words):
        if len(word) < MIN_LENGTH or not word.isalpha():
            continue
        stemmed = stem(word)
        if known(stemmed) or known(word):
            continue
        attempts += 1
        if attempts > MAX_ATTEMPTS:
            break
        best: tuple[float, int, str] | None = None
        targets = list(dict.fromkeys((stemmed, word)))
        matchers = []
        for target in targets:
            m = difflib.SequenceMatcher(None)
            m.set_seq2(target)  # difflib caches facts about seq2: compare every candidate against it
            matchers.append(m)
        low, high = len(stemmed) - 2, len(word) + 2
        candidates = near(word[0], low, high, targets) if near else neighbours(word[0], low, high)
        for term, df in candidates:
            ratio = 0.0
            for m in matchers:
                m.set_seq1(term)
                if m.real_quick_ratio() >= MIN_RATIO and m.quick_ratio() >= MIN_RATIO:
                    ratio = max(ratio, m.ratio())
            if ratio >= MIN_RATIO and (best is None or (ratio, df) > best[:2]):
                best = (ratio, df, term)
        if best is not None:
            fixes[word] = best[2]
    return fixes


def respell(question: str, catalog: Catalog) -> str:
    """The question with misspelled content words replaced by the indexed terms closest to them."""
    words = terms(question)
    fixes = correct(words, lambda w: stems([w])[0], catalog.has_term, catalog.terms_near, vocabulary(catalog).near)
    if not fixes:
        return question
    return re.sub(r"\w+", lambda m: fixes.get(m.group(0).lower(), m.group(0)), question)


@dataclass(frozen=True)
class _Letter:
    """The indexed terms starting with one letter, in the catalog's order, with lengths and letter counts."""

    terms: list[str]
    dfs: list[int]
    lengths: np.ndarray
    counts: dict[str, np.ndarray]  # character -> how many times each term holds it

    @classmethod
    def of(cls, rows: list[tuple[str, int]]) -> _Letter:
        columns: dict[str, np.ndarray] = {}
        for i, (term, _) in enumerate(rows):
            for ch, n in Counter(term).items():
                if ch not in columns:
                    columns[ch] = np.zeros(len(rows), dtype=np.int16)
                columns[ch][i] = n
        lengths = np.array([len(t) for t, _ in rows], dtype=np.int64)
        return cls([t for t, _ in rows], [int(n) for _, n in rows], lengths, columns)


class Vocabulary:
    """The catalog's terms by first letter, read once and again only after the catalog was written."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._stamp: tuple[int, int] | None = None
        self._letters: dict[str, _Letter] = {}
        self._lock = threading.Lock()

    def _current(self) -> tuple[int, int]:
        """Changes whenever any connection wrote the catalog (SQLite's data_version counts the others)."""
        version = self.catalog._rows("PRAGMA data_version")[0][0]
        return int(version), int(self.catalog._db.total_changes)

    def near(self, first: str, min_len: int, max_len: int, targets: Sequence[str]) -> list[tuple[str, int]]:
        stamp = self._current()
        with self._lock:
            if stamp != self._stamp:
                self._stamp, self._letters = stamp, {}
            letter = self._letters.get(first)
            if letter is None:
                letter = self._letters[first] = _Letter.of(self.catalog.terms_near(first, 1, 1 << 30))
        if not letter.terms:
            return []
        lengths = letter.lengths
        keep = (lengths >= max(min_len, 1)) & (lengths <= max_len)
        reach = np.zeros(len(letter.terms), dtype=bool)
        for target in targets:
            matches = np.zeros(len(letter.terms), dtype=np.int64)
            for ch, n in Counter(target).items():
                column = letter.counts.get(ch)
                if column is not None:
                    matches += np.minimum(column, n)
            reach |= 2.0 * matches / (lengths + len(target)) >= MIN_RATIO  # difflib's quick_ratio, for all
        return [(letter.terms[i], letter.dfs[i]) for i in np.flatnonzero(keep & reach)]


_VOCABULARIES: weakref.WeakKeyDictionary[Catalog, Vocabulary] = weakref.WeakKeyDictionary()
_VOCABULARIES_LOCK = threading.Lock()


def vocabulary(catalog: Catalog) -> Vocabulary:
    """The Vocabulary of `catalog`, made on first use and kept as long as the catalog."""
    with _VOCABULARIES_LOCK:
        found = _VOCABULARIES.get(catalog)
        if found is None:
            found = _VOCABULARIES[catalog] = Vocabulary(catalog)
        return found
