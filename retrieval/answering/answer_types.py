"""Expected answer types: what kind of thing a question asks for, and whether a sentence has one.

A classic open-domain QA signal: "how many" wants a count, "when" a time, "who"/"where" a name,
"what percentage" a percentage. A candidate sentence satisfies the type only with a matching token
that is not already in the question (restating the question is not answering it). Types are
detected from the question's first English wh-word; other questions get no type and no check.
Does not recognise entities beyond capitalisation, numbers and a small time vocabulary.
"""

from __future__ import annotations

import re

_NUMBER_WORDS = {
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty",
    "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "hundreds", "thousand",
    "thousands", "million", "millions", "billion", "dozen", "dozens", "several", "single", "both",
}  # fmt: skip
_TIME_WORDS = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february",
    "march", "april", "may", "june", "july", "august", "september", "october", "november", "december",
    "today", "yesterday", "tomorrow", "tonight", "week", "weeks", "month", "months", "year", "years",
    "day", "days", "hour", "hours", "morning", "evening", "night", "ago", "since", "until", "weekend",
    "dawn", "noon", "midnight", "recently", "soon", "later", "earlier", "decade", "century",
}  # fmt: skip
_LOWER_LEADS = {"the", "a", "an", "it", "this", "that", "these", "those", "he", "she", "they", "we", "i", "in", "on"}

_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("count", re.compile(r"\bhow (?:many|much)\b|\bnumber of\b", re.I)),
    ("percent", re.compile(r"\bwhat (?:percent|percentage|proportion)\b|\bhow much of\b", re.I)),
    ("time", re.compile(r"\bwhen\b|\b(?:what|which) (?:exact )?(?:date|day|year|month|time)\b|\bhow long ago\b", re.I)),
    ("name", re.compile(r"\bwhere\b|\bname of\b|\bwhat is (?:his|her|its|their) name\b", re.I)),
]
_WH = re.compile(r"\b(?:how|when|where|who|whom|whose|what|which|why|name)\b", re.I)


def expected_type(question: str) -> str | None:
    """The answer type a question asks for, or None when it asks for no particular type.

    Only the question's first wh-word decides ("How did Lavrov say fighters who refused..." asks
    "how", not "who"); "who" questions get no type, since groups are often common nouns.
    """
    lead = _WH.search(question)
    if lead is None:
        return None
    rest = question[lead.start() :]
    for name, pattern in _RULES:
        m = pattern.search(rest)
        if m and m.start() < 25:  # part of the leading wh-phrase, not a later relative clause
            return name
    return None


def _tokens(text: str) -> list[str]:
    return re.findall(r"[\w%][\w%.'’-]*", text)


def has_type(kind: str | None, sentence: str, question: str) -> bool:
    """Whether `sentence` holds a token of type `kind` that the question does not already contain."""
    if kind is None:
        return True
    asked = {t.lower().strip(".") for t in _tokens(question)}
    tokens = [t.strip(".") for t in _tokens(sentence)]
    fresh = [t for t in tokens if t.lower() not in asked]
    if kind == "count":
        return any(_is_count(t) for t in fresh)
    if kind == "percent":
        return any("%" in t or t.lower() in {"percent", "per", "half", "third", "quarter"} for t in fresh)
    if kind == "time":
        return any(t.lower() in _TIME_WORDS or re.fullmatch(r"(1[89]|20)\d\d|\d{1,2}(st|nd|rd|th)?", t) for t in fresh)
    if kind == "name":
        return any(t[:1].isupper() and t.lower() not in _LOWER_LEADS for t in fresh)
    return True


def _is_count(token: str) -> bool:
    low = token.lower()
    if "%" in low or re.fullmatch(r"(19|20)\d\d", low):  # a percentage or a year is not a count
        return False
    if re.fullmatch(r"\d[\d,.]*", low):
        return True
    return any(part in _NUMBER_WORDS for part in re.split(r"[-’']", low))
