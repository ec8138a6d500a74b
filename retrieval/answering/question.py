"""Question analysis for the answerability judge: pure, fast (tens of microseconds), no model.

`analyse(question, idf)` returns a `QuestionAnalysis`:
- `answer_type`: what kind of thing is asked for, from the leading wh-phrase: person, organisation,
  place, date, number (with a `number_kind`: quantity, money, percent, duration, age, measure),
  reason, yesno or other;
- `constraints`: what an answering sentence must mention: named entities (capitalised spans that
  are not the question's first word, joined over "of"/"the"/"for"/"de"), numbers, years, dates
  (month names, weekdays, centuries) and quoted phrases, each with normalised `keys` (see
  `normalise_token`) that features match against a sentence;
- `focus`: the content words (catalog `terms`), their Porter stems and IDF weights;
- `negated`: the question holds a negation ("not", "never", "n't", "without");
- `relation`: the first content word after the wh-phrase that looks like a verb or relation noun
  (a heuristic; no POS tagger).
Leaves out: real NER (person/organisation/place are told apart only by the wh-phrase), coreference,
clause structure, non-English questions and spelled-out dates other than month/weekday names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from retrieval.answering.normalise import (
    MONTH_NAMES,
    MONTHS,
    NUMBER_WORDS,
    WEEKDAYS,
    _keys,
    _number_value,
    tokens,
)
from retrieval.text import STOPWORDS, stems, terms

ANSWER_TYPES = ("person", "organisation", "place", "date", "number", "reason", "yesno", "other")

_CONNECT = {"of", "the", "for", "de", "du", "von", "van", "la", "le", "al", "bin"}
_NEGATIONS = re.compile(r"\b(?:not|never|no|none|nobody|nothing|neither|nor|without|cannot)\b|n['’]t\b", re.I)
_AUX = {
    "is", "are", "was", "were", "do", "does", "did", "has", "have", "had", "will", "would", "can", "could",
    "should", "may", "might", "must", "am", "shall",
}  # fmt: skip
_WH = re.compile(r"\b(how|when|where|who|whom|whose|what|which|why|name|list)\b", re.I)

_PERSON_NOUNS = {
    "person", "man", "woman", "leader", "king", "queen", "president", "minister", "chancellor", "emperor",
    "pope", "duke", "count", "bishop", "general", "official", "spokesman", "spokeswoman", "author", "writer",
    "scientist", "mathematician", "founder", "ruler", "prince", "princess", "son", "daughter", "father",
    "mother", "wife", "husband", "brother", "sister", "lord", "knight", "commander", "saint", "abbot",
    "monk", "archbishop", "politician", "diplomat", "secretary", "individual", "people", "researcher",
}  # fmt: skip
_ORG_NOUNS = {
    "organisation", "organization", "agency", "company", "group", "party", "army", "government",
    "institution", "university", "council", "committee", "movement", "force", "forces", "team", "newspaper",
    "network", "channel", "alliance", "coalition", "faction", "church", "order", "dynasty", "tribe",
}  # fmt: skip
_PLACE_NOUNS = {
    "country", "city", "town", "region", "place", "province", "state", "location", "area", "continent",
    "island", "village", "capital", "nation", "territory", "county", "kingdom", "river", "sea", "land",
    "lands", "countries", "cities", "regions", "places", "islands", "site", "border", "district",
}  # fmt: skip
_DATE_NOUNS = {"year", "date", "day", "month", "century", "time", "decade", "era", "period", "age", "season",
               "years", "centuries", "week", "weekday"}  # fmt: skip
_MEASURE = re.compile(r"\bhow (?:far|big|large|tall|high|wide|deep|heavy|fast|small|long|old)\b", re.I)


@dataclass(frozen=True)
class Constraint:
    """A thing the question names that an answering text must mention.

    `kind`: entity, number, year, date or quoted; `keys`: normalised forms, any of which matching
    counts (each key is a tuple of normalised tokens, matched as a contiguous run)."""

    text: str
    kind: str
    start: int
    end: int
    keys: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Term:
    word: str
    stem: str
    idf: float


@dataclass(frozen=True)
class QuestionAnalysis:
    text: str
    wh: str  # the leading wh-word ("" when none)
    answer_type: str  # one of ANSWER_TYPES
    number_kind: str  # for answer_type "number": quantity, money, percent, duration, age, measure; else ""
    constraints: tuple[Constraint, ...]
    focus: tuple[Term, ...]
    negated: bool
    relation: str  # stem of the main verb/relation word guess, "" when none
    several: bool = False
    wh_span: tuple[int, int] = field(default=(0, 0))  # offsets of the wh-phrase in `text`

    @property
    def total_idf(self) -> float:
        return sum(t.idf for t in self.focus) or 1.0


_LIST_ASK = re.compile(r"\b(?:list|name (?:all|the)|both|each of)\b")
_SINGULAR_S = {"news", "series", "species", "means", "politics", "economics", "physics", "headquarters", "this", "its"}
_AUX_WORDS = {
    "is", "are", "was", "were", "do", "does", "did", "has", "have", "had", "will", "would", "can", "could",
    "should", "may", "might", "must",
}  # fmt: skip


def asks_for_several(question: str) -> bool:
    """Whether the question asks for a list: "list ...", "both ...", or a plural noun after
    which/what ("which countries", "what kind of penalties"), read up to the first auxiliary verb."""
    low = question.lower()
    if _LIST_ASK.search(low):
        return True
    m = re.search(r"\b(?:which|what)\b((?:\s+[\w'’]+){1,4})", low)
    if not m:
        return False
    for word in m.group(1).split():
        if word.endswith(("'s", "’s")):
            continue  # a possessive ("Lavrov's remarks"), not a plural
        word = word.strip("'’")
        if word in _AUX_WORDS:
            break
        if word in _SINGULAR_S or word.endswith(("ss", "us", "is")):
            continue
        if word.endswith("s") and len(word) > 3:
            return True
    return False


# -- answer type -------------------------------------------------------------------------------------
def _answer_type(question: str) -> tuple[str, str, str, tuple[int, int]]:
    """(wh-word, answer type, number kind, wh-phrase span)."""
    low = question.lower()
    first = re.match(r"\s*([a-z']+)", low)
    first_word = first.group(1) if first else ""
    m = _WH.search(low)
    if m is None or (first_word in _AUX and m.start() > 0):
        if first_word in _AUX:
            return "", "yesno", "", (0, len(first_word))
        return "", "other", "", (0, 0)
    wh = m.group(1)
    rest = low[m.start() :]
    span = (m.start(), m.end())
    words = re.findall(r"[a-z%]+", rest)
    after = words[1:5]
    if (
        wh == "why"
        or re.match(r"(?:what|which) (?:was|is|were|are) the (?:reason|cause|purpose)", rest)
        or rest.startswith("for what reason")
    ):
        return wh, "reason", "", span
    if wh == "how":
        nxt = words[1] if len(words) > 1 else ""
        if nxt in ("many", "much"):
            kind = (
                "money" if re.match(r"how much (?:money|did .* cost|does .* cost|was .* worth)", rest) else "quantity"
            )
            return wh, "number", kind, (m.start(), m.end() + len(nxt) + 1)
        if nxt == "long":
            if re.match(r"how long ago", rest):
                return wh, "date", "", span
            return wh, "number", "duration", span
        if nxt == "old":
            return wh, "number", "age", span
        if _MEASURE.match(rest):
            return wh, "number", "measure", span
        if nxt == "often":
            return wh, "number", "quantity", span
        return wh, "other", "", span
    if wh == "when":
        return wh, "date", "", span
    if wh == "where":
        return wh, "place", "", span
    if wh in ("who", "whom", "whose"):
        return wh, "person", "", span
    if wh in ("what", "which", "name", "list"):
        if re.match(r"(?:what|which) (?:percent|percentage|proportion|share|fraction)", rest):
            return wh, "number", "percent", span
        if re.match(r"(?:what|which) (?:number|amount|quantity)", rest):
            return wh, "number", "quantity", span
        head = []
        for w in after:
            if w in _AUX:
                break
            if w not in ("exact", "kind", "type", "sort", "of", "the", "a", "an", "u", "s"):
                head.append(w)
        for w in head[:3]:
            if w in _DATE_NOUNS:
                return wh, "date", "", span
            if w in _PLACE_NOUNS:
                return wh, "place", "", span
            if w in _PERSON_NOUNS:
                return wh, "person", "", span
            if w in _ORG_NOUNS:
                return wh, "organisation", "", span
        if re.search(r"\b(?:what|which) (?:was|is) (?:his|her|its|their|the) name\b", rest):
            return wh, "person", "", span
        return wh, "other", "", span
    return wh, "other", "", span


# -- constraints -------------------------------------------------------------------------------------
def _constraints(question: str, wh_span: tuple[int, int]) -> list[Constraint]:
    out: list[Constraint] = []
    taken: list[tuple[int, int]] = []

    def add(s: int, e: int, kind: str) -> None:
        if any(s < b and a < e for a, b in taken):
            return
        text = question[s:e]
        keys = _keys(text)
        if keys:
            out.append(Constraint(text, kind, s, e, keys))
            taken.append((s, e))

    for m in re.finditer(r"[\"“‘]([^\"”’]{2,80})[\"”’]", question):
        add(m.start(1), m.end(1), "quoted")
    toks = tokens(question)
    first_start = toks[0][0] if toks else 0
    i = 0
    while i < len(toks):
        s, e, tok = toks[i]
        low = tok.lower().replace("’", "'")
        bare = re.sub(r"'s$", "", low).strip(".")
        if re.fullmatch(r"(1\d{3}|20\d\d)(?:'?s)?", bare) or re.fullmatch(r"\d{3}", bare) and "ad" in question.lower():
            add(s, e, "year")
        elif (
            re.fullmatch(r"\d+(?:st|nd|rd|th)", bare)
            and i + 1 < len(toks)
            and toks[i + 1][2].lower().startswith("centur")
        ):
            add(s, toks[i + 1][1], "date")
            i += 2
            continue
        elif bare in MONTHS or bare in MONTH_NAMES or bare in WEEKDAYS:
            if bare == "may" and not tok[0].isupper():
                pass
            else:
                add(s, e, "date")
        elif _number_value(bare) is not None and (re.match(r"[\d$£€]", bare) or bare in NUMBER_WORDS or "-" in bare):
            lead = question[wh_span[1] : s].split() if wh_span[1] <= s else ["x"] * 9
            if bare not in ("one",) and not (
                len(lead) <= 1 and wh_span[1] > 0
            ):  # "one of the ..." is rarely a constraint
                add(s, e, "number")
        elif tok[:1].isupper() and s != first_start and not (wh_span[0] <= s < wh_span[1]):
            j = i
            end = e
            while j + 1 < len(toks):
                nxt = toks[j + 1][2]
                if nxt[:1].isupper():
                    j += 1
                    end = toks[j][1]
                elif nxt.lower() in _CONNECT and j + 2 < len(toks) and toks[j + 2][2][:1].isupper():
                    j += 2
                    end = toks[j][1]
                else:
                    break
            add(s, end, "entity")
            i = j + 1
            continue
        i += 1
    out.sort(key=lambda c: c.start)
    return out


def _relation(question: str, wh_span: tuple[int, int], constraint_spans: list[tuple[int, int]]) -> str:
    """The first content word after the wh-phrase that is not part of a constraint: usually the
    main verb or the relation noun ("capture", "founded", "capital")."""
    for s, _, tok in tokens(question):
        if s < wh_span[1] or any(a <= s < b for a, b in constraint_spans):
            continue
        low = tok.lower()
        if (
            low in STOPWORDS
            or low in _AUX
            or _NEGATIONS.fullmatch(low)
            or len(low) < 3
            or _number_value(low) is not None
        ):
            continue
        if low in _DATE_NOUNS or low in _PLACE_NOUNS or low in _PERSON_NOUNS or low in _ORG_NOUNS:
            continue
        return stems([low])[0]
    return ""


def analyse(question: str, idf: Callable[[str], float] | None = None) -> QuestionAnalysis:
    """Analyse one question. `idf(word) -> float` weighs focus terms (1.0 each when None)."""
    wh, answer_type, number_kind, wh_span = _answer_type(question)
    constraints = _constraints(question, wh_span)
    words = list(dict.fromkeys(terms(question)))
    focus = tuple(Term(w, s, float(idf(w)) if idf else 1.0) for w, s in zip(words, stems(words), strict=True))
    return QuestionAnalysis(
        text=question,
        wh=wh,
        answer_type=answer_type,
        number_kind=number_kind,
        constraints=tuple(constraints),
        focus=focus,
        negated=bool(_NEGATIONS.search(question)),
        relation=_relation(question, wh_span, [(c.start, c.end) for c in constraints]),
        several=asks_for_several(question),
        wh_span=wh_span,
    )
