"""Whether a question in a conversation needs the earlier turn: the follow-up decision.

A conversation's previous turn helps a question that cannot be understood without it ("Which agency
carried his remarks?", "On what day?") and drowns one that stands on its own (a new question about
something else, whose evidence loses to the previous answer's sentence). `read_question` looks at the
question's own words only:
- FOLLOW_UP when it leans on the earlier turn: it opens with a continuation ("and ...", "but ...",
  "what about ...", "how about ..."), holds a word that points back ("it", "that", "there", "then",
  "same", "else", ...), holds a personal pronoun ("he", "their", ...) with no name before it in the
  question, or is very short (at most one content word) and names nothing;
- OWN_SUBJECT when it names something (a capitalised word after the first) and points back at nothing;
- UNSURE otherwise (no name, no pointer: "Who blocked the resolution?").
`resolve` then searches once: with the earlier turn for a follow-up, alone otherwise. An UNSURE
question whose own words find poor evidence (below POOR_EVIDENCE) is searched with the earlier turn
too, and that search is kept when its best evidence is higher by CONTEXT_GAIN or more.
Names are told by case only, so in an all-lower-case question a pronoun cannot be seen to be
resolved: there a pronoun makes the question UNSURE rather than a follow-up. Leaves out real
coreference resolution, non-English questions and which earlier turn is meant (always the last).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, TypeVar

from retrieval.text import STOPWORDS, terms

log = logging.getLogger(__name__)

POOR_EVIDENCE = 0.35  # an UNSURE question whose own best evidence scores below this also tries the earlier turn
CONTEXT_GAIN = 0.05  # ... and keeps it only when its best evidence is at least this much higher

OPENERS = frozenset({"and", "but", "also", "so", "then", "or", "plus"})
OPENING_PHRASES = (("what", "about"), ("how", "about"), ("what", "else"), ("who", "else"), ("anything", "else"))
PERSONAL = frozenset({"he", "she", "him", "her", "his", "hers", "they", "them", "their", "theirs", "its"})
POINTERS = frozenset("it that this these those there then same such else other another latter too".split())
BE = frozenset({"is", "are", "was", "were", "be", "been", "being", "isn't", "aren't", "wasn't", "weren't"})
RELATIVES = frozenset({"who", "which", "that", "whom", "whose"})
TIME_WORDS = frozenset({"week", "weekend", "month", "year", "morning", "afternoon", "evening", "time", "season"})
WORD = re.compile(r"[^\W\d_][\w'’.-]*|\d[\w.,-]*")


class Cue(Enum):
    """What a question's words say: it needs the earlier turn, it has a subject of its own, or neither."""

    FOLLOW_UP = "follow-up"
    OWN_SUBJECT = "own subject"
    UNSURE = "unsure"


@dataclass(frozen=True)
class Reading:
    """What the question's own words say about needing the earlier turn, and why."""

    cue: Cue
    reason: str


def _points_back(raw: list[str], words: list[str], i: int) -> bool:
    """Whether words[i] (a POINTERS word; `words` are `raw` lower-cased) refers to something said before."""
    word = words[i]
    before = words[i - 1] if i > 0 else ""
    after = words[i + 1] if i + 1 < len(words) else ""
    if word == "that" and after and (after in STOPWORDS or not after.isalpha() or raw[i + 1][0].isupper()):
        return False  # "said that the ...", "reported that Russia ...", "the resolution that was ...": not a pointer
    if word == "this" and after in TIME_WORDS:
        return False  # "this week": the time of the story, not an earlier turn
    if word == "there" and (before in BE or after in BE):
        return False  # "is there ...", "there were ...": existential
    if word in {"these", "those"} and after in RELATIVES:
        return False  # "those who refused": generic
    if (word, before) == ("other", "each") or (word, after) == ("such", "as"):
        return False
    if word == "too" and after:
        return False  # "too many": only a closing "too" ("did he say that too?") adds to an earlier turn
    return not (word == "then" and before == "and")  # "and then" is sequence, caught as an opener when first


def read_question(question: str) -> Reading:
    """FOLLOW_UP, OWN_SUBJECT or UNSURE for a question, from its words alone (see the module docstring)."""
    raw = WORD.findall(question)
    words = [re.sub(r"['’]s$", "", w.lower().rstrip(".")) for w in raw]
    if not words:
        return Reading(Cue.FOLLOW_UP, "no words of its own")
    if words[0] in OPENERS or tuple(words[:2]) in OPENING_PHRASES:
        return Reading(Cue.FOLLOW_UP, f"opens with {' '.join(raw[:2]) if words[0] not in OPENERS else raw[0]!r}")
    cased = any(ch.isupper() for ch in question)
    named_at = [i for i, w in enumerate(raw) if i > 0 and w[0].isupper() and words[i] not in STOPWORDS | {"i"}]
    for i, word in enumerate(words):
        if word in POINTERS and _points_back(raw, words, i):
            return Reading(Cue.FOLLOW_UP, f"{raw[i]!r} points back")
        if word in PERSONAL and not any(n < i for n in named_at):
            if cased:
                return Reading(Cue.FOLLOW_UP, f"{raw[i]!r} with no name before it")
            return Reading(Cue.UNSURE, f"{raw[i]!r} in a question without case")
    if named_at:
        return Reading(Cue.OWN_SUBJECT, f"names {raw[named_at[0]]!r}")
    if len(terms(question)) <= 1:
        return Reading(Cue.FOLLOW_UP, "too short to stand alone")
    return Reading(Cue.UNSURE, "no name and no pointer")


class Found(Protocol):
    """What a search returns, as far as the decision goes: its best evidence score."""

    @property
    def best(self) -> float: ...


F = TypeVar("F", bound=Found)


def resolve(question: str, context: str, search: Callable[[str], F]) -> tuple[F, bool]:
    """(what was found, whether the earlier turn was used); `search(context)` searches with that context
    ("" = the question alone). Searches once, or twice for an UNSURE question that finds poor evidence."""
    if not context:
        return search(""), False
    reading = read_question(question)
    if reading.cue is Cue.FOLLOW_UP:
        log.debug("follow-up (%s): searching with the earlier turn", reading.reason)
        return search(context), True
    alone = search("")
    if reading.cue is Cue.OWN_SUBJECT or alone.best >= POOR_EVIDENCE:
        log.debug("stands alone (%s; best evidence %.3f)", reading.reason, alone.best)
        return alone, False
    joined = search(context)
    if joined.best >= alone.best + CONTEXT_GAIN:
        log.debug("follow-up: alone %.3f, with the earlier turn %.3f", alone.best, joined.best)
        return joined, True
    log.debug("stands alone: alone %.3f, with the earlier turn %.3f", alone.best, joined.best)
    return alone, False
