"""The short answer: the phrase inside the chosen sentence that answers the question.

`candidates(analysis, sentence)` lists typed spans (numbers, dates, capitalised names) that do not
restate the question; `short_answer(analysis, sentence)` picks one:
- typed questions (person, organisation, place, date, number): the typed span of the expected kind
  closest to the sentence's words that the question also uses;
- other what/which/who/how questions: the run of words outside the question's words, between
  punctuation, nearest to the matched words (preferring the run after them), trimmed of
  stopwords at both ends and limited to MAX_SPAN_WORDS;
- None for why/yes-no questions, and when nothing fits.
Offsets are character offsets into `sentence`, so `sentence[start:end]` is the phrase.
Leaves out: syntax (no parser: a span may cut a noun phrase), lists of untyped items,
answers the question itself contains.
"""

from __future__ import annotations

import re

from retrieval.answering.normalise import (
    MONTH_NAMES,
    MONTHS,
    NUMBER_WORDS,
    ORDINAL_WORDS,
    WEEKDAYS,
    normalise_token,
    tokens,
)
from retrieval.answering.question import QuestionAnalysis
from retrieval.text import STOPWORDS, stems

MAX_SPAN_WORDS = 6
_DEMONYM = re.compile(r"[A-Z][a-z]+(?:an|ian|ese|ish|i)")
_LOWER_NEXT = re.compile(r"\s+[a-z]")
_LOCATIVE = re.compile(r"\b(?:in|from|at|to|near|into|outside|inside|across)\s+(?:the\s+)?$", re.I)
_UNITS = {
    "percent", "per", "cent", "%", "years", "year", "days", "day", "weeks", "week", "months", "month", "hours",
    "hour", "minutes", "centuries", "century", "decades", "miles", "kilometres", "kilometers", "km", "metres",
    "meters", "people", "men", "soldiers", "dollars", "pounds", "euros", "times", "bits",
}  # fmt: skip
_SCALE = {"hundred", "thousand", "million", "billion", "trillion", "dozen", "hundreds", "thousands", "millions"}
_TIME_WORDS = {"today", "yesterday", "tomorrow", "tonight", "morning", "evening", "night", "weekend", "noon"}
_CONNECT = {"of", "the", "for", "de", "du", "von", "van", "and", "la", "le", "al", "bin", "d'", "y"}
_COMMON_CAPS = STOPWORDS | {"however", "although", "also", "after", "before", "during", "since", "while", "in"}


def _is_number(tok: str) -> bool:
    low = tok.lower().strip("$£€")
    if re.fullmatch(r"\d[\d,]*(?:\.\d+)?(?:%|s|st|nd|rd|th)?", low):
        return True
    head = low.split("-")[0]
    return head in NUMBER_WORDS or head in ORDINAL_WORDS or low in _SCALE


def _is_year(tok: str) -> bool:
    return re.fullmatch(r"(?:1[0-9]\d\d|20\d\d|[1-9]\d\d)(?:s|'s)?", tok) is not None


def _is_date_word(tok: str) -> bool:
    low = tok.lower().strip(".")
    return low in MONTH_NAMES or low in MONTHS and tok[:1].isupper() or low in WEEKDAYS or low in _TIME_WORDS


def candidates(analysis: QuestionAnalysis, sentence: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) spans in `sentence` of kinds number, date and name whose words are not all
    the question's own ("fresh" spans)."""
    toks = tokens(sentence)
    asked = {normalise_token(t) for _, _, t in tokens(analysis.text)} | {t.stem for t in analysis.focus}
    out: list[tuple[int, int, str]] = []
    n = len(toks)
    i = 0
    while i < n:
        s, e, tok = toks[i]
        low = tok.lower()
        kind = None
        j = i
        if (
            _is_year(tok)
            or _is_date_word(tok)
            or (re.fullmatch(r"\d+(?:st|nd|rd|th)", low) and i + 1 < n and toks[i + 1][2].lower().startswith("centur"))
            or (low in ORDINAL_WORDS and i + 1 < n and toks[i + 1][2].lower().startswith("centur"))
        ):
            kind = "date"
            # extend over "10 December 2016", "10th and 11th centuries", "December 2016"
            while j + 1 < n and (
                _is_year(toks[j + 1][2])
                or _is_date_word(toks[j + 1][2])
                or re.fullmatch(r"\d{1,2}(?:st|nd|rd|th)?", toks[j + 1][2])
                or toks[j + 1][2].lower().startswith("centur")
                or toks[j + 1][2].lower() in ORDINAL_WORDS
                or (
                    toks[j + 1][2].lower() in ("and", "to")
                    and j + 2 < n
                    and (_is_year(toks[j + 2][2]) or re.fullmatch(r"\d+(?:st|nd|rd|th)", toks[j + 2][2]))
                )
            ):
                j += 1
        elif _is_number(tok) and low not in ("one",) or "%" in tok:
            kind = "number"
            while j + 1 < n and (_is_number(toks[j + 1][2]) or toks[j + 1][2].lower() in _UNITS):
                j += 1
        elif tok[:1].isupper() and (i > 0 or low not in _COMMON_CAPS) and low not in _COMMON_CAPS:
            kind = "name"
            while j + 1 < n:
                nxt = toks[j + 1][2]
                if nxt[:1].isupper() and sentence[toks[j][1] : toks[j + 1][0]].strip() in ("", "-"):
                    j += 1
                elif nxt.lower() in _CONNECT and j + 2 < n and toks[j + 2][2][:1].isupper():
                    j += 2
                else:
                    break
        if kind:
            words = [normalise_token(t) for _, _, t in toks[i : j + 1]]
            word_stems = stems([t.lower() for _, _, t in toks[i : j + 1]])
            if any(w not in asked and st not in asked for w, st in zip(words, word_stems, strict=True)):
                out.append((s, toks[j][1], kind))
            i = j + 1
            continue
        i += 1
    return out


def expected_kinds(analysis: QuestionAnalysis) -> tuple[str, ...]:
    t = analysis.answer_type
    if t == "number":
        return ("number",)
    if t == "date":
        return ("date",)
    if t in ("person", "organisation", "place"):
        return ("name",)
    return ()


def matched_positions(analysis: QuestionAnalysis, sentence: str) -> list[int]:
    """Character positions (token starts) of the sentence's words that the question also uses."""
    asked_norm = {normalise_token(t) for _, _, t in tokens(analysis.text) if t.lower() not in STOPWORDS}
    asked_stems = {t.stem for t in analysis.focus}
    out = []
    for s, _, tok in tokens(sentence):
        low = tok.lower()
        if low in STOPWORDS:
            continue
        if normalise_token(tok) in asked_norm or stems([low])[0] in asked_stems:
            out.append(s)
    return out


def _distance(span: tuple[int, int], positions: list[int]) -> float:
    if not positions:
        return 0.0
    return min(0 if span[0] <= p < span[1] else min(abs(p - span[0]), abs(p - span[1])) for p in positions)


def short_answer(analysis: QuestionAnalysis, sentence: str) -> tuple[int, int] | None:
    """(start, end) of the answering phrase inside `sentence`, or None when no span fits."""
    if analysis.answer_type in ("reason", "yesno"):
        return None
    positions = matched_positions(analysis, sentence)
    kinds = expected_kinds(analysis)
    if kinds:
        typed = [(s, e) for s, e, k in candidates(analysis, sentence) if k in kinds]
        asked = {normalise_token(t) for _, _, t in tokens(analysis.text)}
        fresh = [
            sp for sp in typed if not any(normalise_token(t) in asked for _, _, t in tokens(sentence[sp[0] : sp[1]]))
        ]
        typed = fresh or typed  # a name that restates the question is not its answer
        if typed:

            def cost(sp: tuple[int, int]) -> tuple[float, int]:
                # a place is named after a locative preposition ("from Hamburg"), not as a modifier ("Russian")
                located = analysis.answer_type == "place" and _LOCATIVE.search(sentence[: sp[0]]) is not None
                # an adjective of nationality before a noun ("Russian state news agency") names no one
                modifier = _DEMONYM.fullmatch(sentence[sp[0] : sp[1]]) and _LOWER_NEXT.match(sentence, sp[1])
                return (_distance(sp, positions) - (100 if located else 0) + (50 if modifier else 0), sp[0])

            best = min(typed, key=cost)
            if analysis.several:  # "which countries": join "A, B and C" around the chosen item
                i = typed.index(best)
                a, b = i, i
                while a > 0 and re.fullmatch(r",\s*|,?\s+and\s+|\s*&\s*", sentence[typed[a - 1][1] : typed[a][0]]):
                    a -= 1
                while b + 1 < len(typed) and re.fullmatch(
                    r",\s*|,?\s+and\s+|\s*&\s*", sentence[typed[b][1] : typed[b + 1][0]]
                ):
                    b += 1
                best = (typed[a][0], typed[b][1])
            return best
        if analysis.answer_type == "number" or analysis.answer_type == "date":
            return None
    return _free_span(analysis, sentence, positions)


def _free_span(analysis: QuestionAnalysis, sentence: str, positions: list[int]) -> tuple[int, int] | None:
    """The nearest run of non-question words between punctuation, trimmed of stopwords."""
    toks = tokens(sentence)
    if not toks:
        return None
    asked_norm = {normalise_token(t) for _, _, t in tokens(analysis.text)}
    asked_stems = {t.stem for t in analysis.focus}
    fresh = [not (normalise_token(t) in asked_norm or stems([t.lower()])[0] in asked_stems) for _, _, t in toks]
    runs: list[tuple[int, int]] = []  # token index ranges [a, b)
    a = None
    for i, (s, _, _t) in enumerate(toks):
        breaks = i > 0 and re.search(r"[,;:()\"“”]|\s[-–—]\s", sentence[toks[i - 1][1] : s]) is not None
        if a is not None and (not fresh[i] or breaks):
            runs.append((a, i))
            a = None
        if fresh[i] and a is None:
            a = i
    if a is not None:
        runs.append((a, len(toks)))
    spans = []
    for a, b in runs:
        while a < b and toks[a][2].lower() in STOPWORDS:
            a += 1
        while b > a and toks[b - 1][2].lower() in STOPWORDS:
            b -= 1
        if a >= b:
            continue
        b = min(b, a + MAX_SPAN_WORDS)
        while b > a and toks[b - 1][2].lower() in STOPWORDS:
            b -= 1
        spans.append((toks[a][0], toks[b - 1][1]))
    if not spans:
        return None
    last = max(positions) if positions else 0

    def cost(sp: tuple[int, int]) -> tuple[float, int]:
        d = _distance(sp, positions)
        after = 0 if sp[0] >= last else 1  # prefer what follows the matched words
        return (d + 15 * after, sp[0])

    return min(spans, key=cost)
