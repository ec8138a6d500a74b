"""Spelling correction of question words against the documents' own vocabulary.

A content word of the question that no passage contains is replaced by the closest indexed term
that starts with the same letter, when they are similar enough (difflib ratio). Terms are the FTS5
index's Porter stems, so corrections feed the lexical side only (BM25 and sentence overlap); the
dense side embeds the question as typed (MiniLM's word pieces already absorb many typos).
Does not split or join words, and leaves words of three letters or fewer alone.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from retrieval.text import stems, terms

if TYPE_CHECKING:
    from retrieval.storage.catalog import Catalog

MIN_RATIO = 0.8
MIN_LENGTH = 4
MAX_ATTEMPTS = 3  # unknown words looked up per question (each scans the terms sharing its first letter)

Lookup = Callable[[str], bool]  # is this stem indexed?
Neighbours = Callable[[str, int, int], list[tuple[str, int]]]  # (first letter, min len, max len) -> [(term, df)]


def correct(words: Iterable[str], stem: Callable[[str], str], known: Lookup, neighbours: Neighbours) -> dict[str, str]:
    """{word: indexed term} for the words that are not in the index but close to a term that is."""
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
        matchers = []
        for target in dict.fromkeys((stemmed, word)):
            m = difflib.SequenceMatcher(None)
            m.set_seq2(target)  # difflib caches facts about seq2: compare every candidate against it
            matchers.append(m)
        for term, df in neighbours(word[0], len(stemmed) - 2, len(word) + 2):
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
    fixes = correct(words, lambda w: stems([w])[0], catalog.has_term, catalog.terms_near)
    if not fixes:
        return question
    return re.sub(r"\w+", lambda m: fixes.get(m.group(0).lower(), m.group(0)), question)
