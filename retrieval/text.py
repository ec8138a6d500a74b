"""Text helpers every stage shares: content words, stems, sentences, `[n]` markers and the refusal sentence.

- `terms`: a text's content words (lower-cased, stopwords and one-letter words dropped), the unit
  of BM25 queries, IDF weights and lexical support; `stems`: their Porter stems, cached.
- `weighted_share`: the IDF-weighted share of a claim's (or question's) stems found in a text.
- `sentence_spans`: a rule-based splitter: a sentence ends at `.`, `!`, `?` or `…` (plus any closing
  quotes or brackets, also `”.`) followed by whitespace and an upper-case letter, digit or opening
  quote. Common abbreviations ("U.S.", "Mr.", "Jan.") and single initials do not end a sentence.
- `MARKER`, `marker_numbers`, `strip_markers`: citation markers `[3]`, `[1, 2]`, `[2-4]`.
- `refusal_text` and `is_refusal`: the one sentence the bot says when the documents don't answer.
Does not handle sentences without terminal punctuation inside one line other than by the line
break itself, nor words of languages other than English (the stemmer is English).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

_END = re.compile(r"""(?:[.!?…]+[”"’')\]]*|[”"’][.!?])(?=\s+[\"“‘'(\[A-Z0-9])""")
# -- sentences --------------------------------------------------------------------------------
_ABBREV = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "st",
    "gen",
    "col",
    "lt",
    "sgt",
    "capt",
    "gov",
    "sen",
    "rep",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "no",
    "vs",
    "etc",
    "inc",
    "ltd",
    "co",
    "corp",
    "jr",
    "sr",
    "u.s",
    "u.k",
    "u.n",
    "e.g",
    "i.e",
}


def _is_abbreviation(text: str, dot: int) -> bool:
    if text[dot] != ".":
        return False
    word = re.search(r"([A-Za-z.]+)$", text[:dot])
    if not word:
        return False
    token = word.group(1).lower()
    return token in _ABBREV or len(token) == 1


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences in text[start:end], whitespace trimmed, in order."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text[start:end]):
        base = start + line.start()
        chunk = line.group(0)
        cursor = 0
        for m in _END.finditer(chunk):
            if _is_abbreviation(chunk, m.start()):
                continue
            spans.append((base + cursor, base + m.end()))
            cursor = m.end()
        spans.append((base + cursor, base + len(chunk)))
    trimmed = []
    for s, e in spans:
        piece = text[s:e]
        s2 = s + (len(piece) - len(piece.lstrip()))
        e2 = e - (len(piece) - len(piece.rstrip()))
        if e2 > s2:
            trimmed.append((s2, e2))
    return trimmed


# -- words and stems --------------------------------------------------------------------------
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers him his how i if in into is it its itself just me more most my
    no nor not of off on once only or other our out over own same she should so some such than that
    the their them then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours article say says said
    tell according""".split()
)
_local = threading.local()


def terms(text: str) -> list[str]:
    """Content words of a text, lower-cased, in order, without stopwords."""
    return [w for w in re.findall(r"\w+", text.lower()) if w not in STOPWORDS and len(w) > 1]


def _stemmer() -> Any:
    """One Porter stemmer per thread: a snowballstemmer instance keeps state while it works."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import snowballstemmer

        stemmer = _local.stemmer = snowballstemmer.stemmer("porter")
    return stemmer


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return str(_stemmer().stemWord(word))


def stems(words: Sequence[str]) -> list[str]:
    """Porter stems, cached per word (sentences are re-scored for every question)."""
    return [_stem(w) for w in words]


def bm25_idf(doc_freq: int, n_docs: int) -> float:
    """BM25's IDF of a word found in `doc_freq` of `n_docs` passages (always positive)."""
    return math.log(1.0 + (n_docs - doc_freq + 0.5) / (doc_freq + 0.5))


def weighted_share(weights: dict[str, float], text: str) -> float:
    """The weighted share of the stems in `weights` that occur in `text`, in [0, 1]."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    present = set(stems(terms(text)))
    return sum(w for stem, w in weights.items() if stem in present) / total


# -- citation markers -------------------------------------------------------------------------
# `[3]`, `[1, 2]`, `[1][2]` (two markers), `[2-4]`
MARKER = re.compile(r"\[\s*\d+(?:\s*[,;–-]\s*\d+)*\s*\]")
MARKER_WITH_SPACE = re.compile(r"[ \t]*" + MARKER.pattern)


def marker_numbers(marker: str) -> list[int]:
    """The numbers of one marker: `[1, 3]` -> [1, 3]; `[2-4]` -> [2, 3, 4]."""
    numbers: list[int] = []
    for part in re.split(r"\s*[,;]\s*", marker.strip("[] \t")):
        bounds = re.split(r"\s*[–-]\s*", part)
        if len(bounds) == 2 and int(bounds[0]) <= int(bounds[1]) <= int(bounds[0]) + 20:
            numbers.extend(range(int(bounds[0]), int(bounds[1]) + 1))
        else:
            numbers.extend(int(b) for b in bounds)
    return list(dict.fromkeys(numbers))


def strip_markers(text: str) -> str:
    """Text without its markers (and the space before each), whitespace collapsed."""
    return " ".join(MARKER_WITH_SPACE.sub("", text).split())


# -- the refusal ------------------------------------------------------------------------------
REFUSAL = "The article doesn't say."  # the model is asked to reply with exactly this (prompts/answer.txt)
REFUSAL_MANY = "The documents don't say."
_REFUSALS = {
    "the article doesn't say",
    "the article does not say",
    "the documents don't say",
    "the documents do not say",
}


def refusal_text(documents: int = 1) -> str:
    """What the bot says when the documents do not answer the question: of one article, or of several."""
    return REFUSAL if documents <= 1 else REFUSAL_MANY


def is_refusal(reply: str) -> bool:
    """True when the reply's first sentence is the refusal sentence."""
    text = strip_markers(reply).replace("’", "'").replace("‘", "'")
    if not text:
        return False
    s, e = sentence_spans(text)[0]
    return text[s:e].strip().rstrip(".!").lower() in _REFUSALS
