"""The extractive answer: which scored sentences to quote, how to show them, and the refusal.

The best sentence is the quote; questions that ask for several things get the runners-up that
score nearly as well. A sentence longer than MAX_QUOTE_CHARS is abridged for display (its first
clause, the clauses holding question words and the clause after each; lists and quotations are
never cut, and every cut is marked " … "), while its citation keeps the whole sentence as the
exact quote. A refusal says the documents don't say and shows the closest
passage apart from the citations.
Does not paraphrase: every answer sentence is an exact quote. Does not decide whether to answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from retrieval.answering.evidence import ScoredSentence
from retrieval.answering.query import Retrieval
from retrieval.answering.question import asks_for_several
from retrieval.answering.short_answer import short_answer
from retrieval.schema import Answer, Citation, ShortAnswer, Span
from retrieval.text import refusal_text, weighted_share

SECOND_SENTENCE_RATIO = 0.92  # a single-answer question takes a runner-up only when it is this close
LIST_SENTENCE_RATIO = 0.75  # a question asking for several things takes runners-up down to this
MAX_QUOTE_CHARS = 250
MAX_ANSWER_CHARS = 300
MIN_CLAUSE_WORDS = 3  # a shorter piece stays with the clause before it
MIN_CUT_CHARS = 80  # a clause is shortened to no fewer characters (else a whole clause is dropped)
_CLAUSE_END = re.compile(r"[,;:—–](?=\s)")
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|\([^)]*\)")
_LIST_ITEM = re.compile(r"\s+(?:\w[\w'’.-]*\s+){0,2}?\w[\w'’.-]*(?:,|\s+(?:and|or)\b)")


def clauses_of(text: str) -> list[tuple[int, int]]:
    """(start, end) of the clauses of a sentence: cut after `,;:` and dashes followed by a space, but
    never inside a list ("Britain, Germany, Italy, France, Canada and the US": a comma followed by a
    short item and another comma or "and"/"or" is a list comma) nor inside a quotation."""
    quoted = [(m.start(), m.end()) for m in _QUOTED.finditer(text)]
    cuts = {0, len(text)}
    for m in _CLAUSE_END.finditer(text):
        at = m.end()
        if any(a < at < b for a, b in quoted):
            continue
        if text[m.start()] == "," and _LIST_ITEM.match(text, at):
            continue
        cuts.add(at)
    bounds = sorted(cuts)
    out: list[tuple[int, int]] = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        if not text[a:b].strip():
            continue
        if out and len(text[a:b].split()) <= MIN_CLAUSE_WORDS:
            out[-1] = (out[-1][0], b)  # a short tail stays with its clause
        else:
            out.append((a, b))
    return out


def abridge(text: str, weights: dict[str, float], limit: int = MAX_QUOTE_CHARS) -> str:
    """A long sentence shortened for display: its first clause, the clauses that hold question words
    and the clause after each of those (where answers usually sit), in order. Every piece is verbatim
    and every cut is marked with " … ", at the end too; the citation keeps the whole sentence."""
    if len(text) <= limit:
        return text
    clauses = clauses_of(text)
    own = [weighted_share(weights, text[a:b]) for a, b in clauses]
    # a clause right after one holding question words is worth half of that clause: it often holds the answer
    value = {c: own[i] + (0.5 * own[i - 1] if i else 0.0) for i, c in enumerate(clauses)}
    keep = [c for i, c in enumerate(clauses) if i == 0 or value[c] > 0]

    def render(parts: list[tuple[int, int]]) -> str:
        out, prev_end = "", None
        for a, b in parts:
            if prev_end is not None:
                out = out + " " if not text[prev_end:a].strip() else out.rstrip(",;:—– ") + " … "
            out += text[a:b].strip()
            prev_end = b
        if prev_end is not None and text[prev_end:].strip():
            out = out.rstrip(",;:—– ") + " …"
        return out

    worth = {c[0]: value[c] for c in keep}  # by start: a clause keeps its worth when its tail is cut
    own_of = dict(zip(clauses, own, strict=True))
    while len(render(keep)) > limit:  # first drop clauses kept only for following a question clause
        neighbours = [c for c in keep[1:] if own_of[c] == 0]
        if not neighbours:
            break
        keep.remove(min(neighbours, key=lambda c: (worth[c[0]], c[0])))
    while len(render(keep)) > limit:
        i = max(range(len(keep)), key=lambda j: keep[j][1] - keep[j][0])  # cut the longest clause's tail
        a, b = keep[i]
        room = b - a - (len(render(keep)) - limit) - 2  # two characters for " …"
        cut = text.rfind(" ", a, a + room) if room >= MIN_CUT_CHARS else -1
        if cut > a:
            keep[i] = (a, cut)
            continue
        droppable = keep[1:]  # else drop the least worth clause (never the first)
        if not droppable:
            break
        keep.remove(min(droppable, key=lambda c: (worth[c[0]], c[0])))
    shown = render(keep)
    if len(shown) > limit:  # one word run alone is too long: cut it hard
        shown = shown[: limit - 2].rstrip(",;:—– ") + " …"
    return shown


def compose(chosen: Sequence[ScoredSentence], weights: dict[str, float]) -> tuple[str, tuple[Citation, ...]]:
    """Answer text with [n] markers, and its citations (exact quotes), best evidence first."""
    ordered = list(chosen)
    citations = tuple(
        Citation.of(s.passage, i, s.start, s.end, round(s.score, 4)) for i, s in enumerate(ordered, start=1)
    )
    text = " ".join(f"{abridge(s.text, weights)} [{c.n}]" for s, c in zip(ordered, citations, strict=True))
    return text, citations


def pick(scored: Sequence[ScoredSentence], question: str = "") -> list[ScoredSentence]:
    """The best sentence, plus runners-up when the question asks for several things (or one is as good)."""
    if not scored:
        return []
    several = asks_for_several(question)
    ratio = LIST_SENTENCE_RATIO if several else SECOND_SENTENCE_RATIO
    limit = 3 if several else 2
    chosen = [scored[0]]
    for cand in scored[1:6]:
        if len(chosen) >= limit or cand.score < ratio * scored[0].score:
            break
        if any(c.passage.source == cand.passage.source and c.start == cand.start for c in chosen):
            continue
        if several or sum(len(c.text) for c in chosen) + len(cand.text) <= MAX_ANSWER_CHARS:
            chosen.append(cand)
    return chosen


def short_answer_of(found: Retrieval, chosen: ScoredSentence) -> ShortAnswer | None:
    """The phrase of `chosen` (the first cited sentence) that answers, with offsets into its source."""
    if found.analysis is None:
        return None
    span = short_answer(found.analysis, chosen.text)
    if span is None or span[1] <= span[0] or span[1] - span[0] >= len(chosen.text.strip()):
        return None  # nothing fits, or only the whole sentence
    text = chosen.text[span[0] : span[1]]
    return ShortAnswer(text, chosen.passage.source, chosen.start + span[0], chosen.start + span[1])


def refusal_answer(asked: str, found: Retrieval, note: str | None = None, confidence: float = 0.0) -> Answer:
    """The refusal, with the closest passage (never a citation) when anything was found."""
    closest = None
    if found.sentences:
        top = found.sentences[0].passage
        closest = Span(top.source, top.text, top.start, top.end, round(found.best, 4))
    return Answer(
        question=asked,
        answer=refusal_text(found.documents),
        answerable=False,
        note=note,
        closest=closest,
        retrieved=tuple(found.hits),
        confidence=confidence,
    )


def extractive_answer(asked: str, found: Retrieval, note: str | None = None, confidence: float = 0.0) -> Answer:
    """The best-supported sentence(s) as exact quotes, and the phrase of the first that answers."""
    chosen = pick(found.sentences, found.question)
    text, citations = compose(chosen, found.weights)
    return Answer(
        question=asked,
        answer=text,
        answerable=True,
        note=note,
        citations=citations,
        retrieved=tuple(found.hits),
        confidence=confidence,
        short_answer=short_answer_of(found, chosen[0]) if chosen else None,
    )
