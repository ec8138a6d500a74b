"""Sentence boundaries with character offsets, for quoting exact sentences.

A rule-based splitter: a sentence ends at `.`, `!`, `?` or `…` (plus any closing quotes or
brackets, also `”.`) followed by whitespace and an upper-case letter, digit or opening quote. Common
abbreviations ("U.S.", "Mr.", "Jan.") and single initials do not end a sentence. Does not handle
sentences without terminal punctuation inside one line other than by the line break itself.
"""

from __future__ import annotations

import re

_END = re.compile(r"""(?:[.!?…]+[”"’')\]]*|[”"’][.!?])(?=\s+[\"“‘'(\[A-Z0-9])""")
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
