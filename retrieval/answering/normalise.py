"""Tokens as constraints compare them: "U.S." = "United States", "1,000" = "1000", "Dec." = "December".

`tokens(text)` keeps "U.S.", "1,000", "seven-day" and "80%" whole; `normalise_token` lower-cases,
drops possessives and plural "s", expands month abbreviations and writes numbers as digits;
`normalised_tokens` also expands a few general aliases in place. Leaves out languages other than
English and number words beyond the common ones.
"""

from __future__ import annotations

import re

MONTHS = {
    "jan": "january", "feb": "february", "mar": "march", "apr": "april", "may": "may", "jun": "june",
    "jul": "july", "aug": "august", "sep": "september", "sept": "september", "oct": "october",
    "nov": "november", "dec": "december",
}  # fmt: skip
MONTH_NAMES = set(MONTHS.values())
WEEKDAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
    "thousand": 1000, "million": 1000000, "billion": 1000000000, "dozen": 12,
}  # fmt: skip
ORDINAL_WORDS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
    "twentieth": 20, "twenty-first": 21,
}  # fmt: skip
# a few general abbreviations and their long forms (matched both ways), not tied to any article
ALIASES = {
    "u.s.": "united states", "us": "united states", "u.s": "united states", "usa": "united states",
    "u.s.a.": "united states", "america": "united states", "u.k.": "united kingdom", "uk": "united kingdom",
    "britain": "united kingdom", "u.n.": "united nations", "un": "united nations", "eu": "european union",
    "nato": "north atlantic treaty organisation", "organization": "organisation",
    "russian federation": "russia", "mr.": "mr", "st.": "saint", "st": "saint",
}  # fmt: skip

_TOKEN = re.compile(r"[$£€]?\d{1,3}(?:,\d{3})+(?:\.\d+)?%?|[A-Za-z0-9$£€][\w'’.\-]*[\w%]|[A-Za-z0-9%]")


def _number_value(token: str) -> str | None:
    """'1,000' -> '1000', '3.5' -> '3.5', 'seven' -> '7', 'seven-day' -> '7', '10th' -> '10'."""
    low = token.lower().replace("’", "'")
    low = re.sub(r"'s$", "", low)
    m = re.fullmatch(r"\$?£?€?(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:st|nd|rd|th|s|%)?", low)
    if m:
        value = m.group(1).replace(",", "")
        return value.rstrip("0").rstrip(".") if "." in value else value.lstrip("0") or "0"
    head = low.split("-")[0]
    if head in NUMBER_WORDS:
        return str(NUMBER_WORDS[head])
    if low in ORDINAL_WORDS:
        return str(ORDINAL_WORDS[low])
    return None


def normalise_token(token: str) -> str:
    """One token as constraints compare it: lower-case, possessive and plural 's' dropped, month
    abbreviations expanded, numbers as digits ("1,000" -> "1000", "seven" -> "7")."""
    low = token.lower().replace("’", "'").strip(".'")
    low = re.sub(r"'s?$", "", low)
    value = _number_value(low)
    if value is not None:
        return value
    if low in MONTHS:
        return MONTHS[low]
    if len(low) > 3 and low.endswith("ies"):
        return low[:-3] + "y"
    if len(low) > 3 and low.endswith("s") and not low.endswith(("ss", "us", "is")):
        return low[:-1]
    return low


def tokens(text: str) -> list[tuple[int, int, str]]:
    """(start, end, token) of word-like tokens, keeping "U.S.", "1,000", "seven-day", "80%"."""
    out = []
    for m in _TOKEN.finditer(text):
        s, e = m.start(), m.end()
        tok = m.group(0)
        # a sentence-final period is not part of the word (but "U.S." keeps its dots)
        if tok.endswith(".") and not re.fullmatch(r"(?:[A-Za-z]\.)+", tok):
            tok, e = tok[:-1], e - 1
        out.append((s, e, tok))
    return out


def normalised_tokens(text: str) -> list[str]:
    """The normalised tokens of a text, with known aliases expanded in place ("U.S." -> united state)."""
    out: list[str] = []
    for _, _, tok in tokens(text):
        low = tok.lower().replace("’", "'")
        alias = ALIASES.get(low) or ALIASES.get(re.sub(r"'s$", "", low))
        if alias:
            out.extend(normalise_token(w) for w in alias.split())
        else:
            out.append(normalise_token(tok))
    return out


def _keys(text: str) -> tuple[tuple[str, ...], ...]:
    base = tuple(normalise_token(t) for _, _, t in tokens(text))
    keys = {base, tuple(normalised_tokens(text))}
    low = text.lower().replace("’", "'")
    alias = ALIASES.get(low) or ALIASES.get(re.sub(r"'s$", "", low))
    if alias:
        keys.add(tuple(normalise_token(w) for w in alias.split()))
    for short, long in ALIASES.items():  # the long form asked, the short form written
        if long == " ".join(base):
            keys.add(tuple(normalise_token(w) for w in short.split()))
    # a leading "the" is optional
    keys |= {k[1:] for k in list(keys) if len(k) > 1 and k[0] == "the"}
    return tuple(sorted(k for k in keys if k))
