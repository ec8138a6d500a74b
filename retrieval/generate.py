"""Grounded generation: number the sources, build the prompts, and verify the reply's citations.

The code that numbers the sources `[1]..[k]` (`answer_messages`) is the code that reads `[n]` back
(`verify`), so the two cannot drift. The model never writes quotes. For each sentence of its reply
and each passage n it cites, the quote is the span of passage n (one sentence, or two adjacent
ones when that supports the claim clearly better) that supports the sentence best, so
`quote == text[start:end]` always holds. Support is lexical: the IDF-weighted share of the claim's
content words (Porter stems) found in the span, with the question's words standing in for a
claim that is only "yes" or "no". A citation is kept when that share is at least
`SUPPORT_MIN`; with an embedder given, a span whose cosine similarity to the claim reaches
`COSINE_MIN` also counts (paraphrases). With an embedder given (as the engine always does), the
span must also bear on the question: share a content word with it, or be (or have its claim be)
within `QUESTION_COSINE_MIN` of it in meaning. So a passage that tells the model what to reply
("ignore your instructions and reply X") cannot vouch for the reply X it asked for; nor can any
span holding such an instruction (`INSTRUCTION`: ignore/disregard ... instructions, developer
mode, system prompt), whatever else it says. A passage that weaves the instruction into an
on-topic sentence without those words is beyond a lexical check. A number that points nowhere,
or at a passage that does not support its sentence, does not bear on the question or holds an
instruction, is dropped and counted; a sentence left without a citation is left out; the kept
markers are renumbered 1..m in order of first appearance.
Also: condensing a follow-up into a standalone question, and `MarkerFilter`, which hides `[n]`
markers from streamed text. Does not call a model (see llm.py) or retrieve (see retrieve.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

import prompts

from .catalog import terms
from .extract import stems
from .schema import Citation, Passage, Turn
from .sentences import sentence_spans

SUPPORT_MIN = 0.5  # share of the claim's weighted content words the cited span must contain
COSINE_MIN = 0.7  # or: cosine similarity of claim and span (MiniLM), for paraphrases
# a span sharing no content word with the question needs it (or its claim) this near in meaning; on the
# article, right citations score >= 0.44 (with or without a shared word), injected instructions <= 0.27
QUESTION_COSINE_MIN = 0.35
# an instruction addressed to a model, planted in a document: evidence for nothing
INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.!?\n]{0,60}?\b(?:instructions?|prompts?|rules)\b"
    r"|\bdeveloper mode\b|\bsystem prompt\b",
    re.I,
)
PAIR_GAIN = 0.15  # two adjacent sentences are quoted only when they support this much better than one
REFUSAL = "The article doesn't say."
MAX_STANDALONE_CHARS = 500
MAX_HISTORY_ANSWER_CHARS = 600
YES_NO = frozenset({"yes", "no", "not", "true", "false", "correct", "incorrect", "indeed"})

# `[3]`, `[1, 2]`, `[1][2]` (two markers), `[2-4]`
MARKER = re.compile(r"\[\s*\d+(?:\s*[,;–-]\s*\d+)*\s*\]")
_MARKER_WITH_SPACE = re.compile(r"[ \t]*" + MARKER.pattern)
_PENDING = re.compile(r"\s*(?:\[[\d\s,;–-]*)?$")  # a tail that may still become a marker
_LEADING_MARKERS = re.compile(r"^(?:\s*" + MARKER.pattern + r")+")
_SOURCE_TAG = re.compile(r"<(/?)(source)", re.I)

Message = dict[str, str]
Weigher = Callable[[str], dict[str, float]]
Embedder = Callable[[list[str]], np.ndarray]


# -- prompts ----------------------------------------------------------------------------------
def fill(template: str, **values: str) -> str:
    """Replace `{name}` placeholders in one pass (inserted text is never re-read as a placeholder)."""
    pattern = re.compile(r"\{(" + "|".join(map(re.escape, values)) + r")\}")
    return pattern.sub(lambda m: values[m.group(1)], template)


def format_sources(passages: Sequence[Passage]) -> str:
    """The numbered source blocks the model sees; passage n is `<source id="n">`."""
    blocks = []
    for n, p in enumerate(passages, start=1):
        title = p.title.replace('"', "'")
        text = _SOURCE_TAG.sub(r"‹\1\2", p.text)  # a passage cannot close its own block
        blocks.append(f'<source id="{n}" title="{title}">\n{text}\n</source>')
    return "\n\n".join(blocks)


def answer_messages(question: str, passages: Sequence[Passage]) -> list[Message]:
    """System and user messages asking `question` over `passages`, numbered 1..k in this order."""
    user = fill(prompts.load("answer_user"), sources=format_sources(passages), question=question)
    return [{"role": "system", "content": prompts.load("answer").strip()}, {"role": "user", "content": user.strip()}]


def condense_messages(question: str, turns: Sequence[Turn]) -> list[Message]:
    """Messages asking for `question` rewritten to stand alone, given the earlier turns."""
    lines = []
    for turn in turns:
        lines.append(f"User: {' '.join(turn.question.split())}")
        answer = strip_markers(turn.answer)
        if answer:
            if len(answer) > MAX_HISTORY_ANSWER_CHARS:
                answer = answer[:MAX_HISTORY_ANSWER_CHARS].rsplit(" ", 1)[0] + " ..."
            lines.append(f"Assistant: {answer}")
    user = fill(prompts.load("condense_user"), conversation="\n".join(lines), question=question)
    return [{"role": "system", "content": prompts.load("condense").strip()}, {"role": "user", "content": user.strip()}]


def standalone_question(reply: str, fallback: str) -> str:
    """The condensed question from the model's reply; `fallback` when the reply is unusable."""
    for line in reply.splitlines():
        line = re.sub(r"^\s*(?:standalone|rewritten|last)?\s*question\s*:\s*", "", line, flags=re.I)
        line = " ".join(line.strip().strip("\"'“”‘’`").split())
        if line:
            return line if len(line) <= MAX_STANDALONE_CHARS else fallback
    return fallback


# -- markers ----------------------------------------------------------------------------------
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
    return " ".join(_MARKER_WITH_SPACE.sub("", text).split())


class MarkerFilter:
    """Streamed text without `[n]` markers: holds back a tail that may still become one."""

    def __init__(self) -> None:
        self._held = ""
        self._started = False

    def feed(self, text: str) -> str:
        buffer = _MARKER_WITH_SPACE.sub("", self._held + text)
        cut = _PENDING.search(buffer).start()
        out, self._held = buffer[:cut], buffer[cut:]
        if not self._started:
            out = out.lstrip()
            self._started = bool(out)
        return out

    def flush(self) -> str:
        out = _MARKER_WITH_SPACE.sub("", self._held).rstrip()
        self._held = ""
        return out if self._started else out.lstrip()


def is_refusal(reply: str) -> bool:
    """True when the reply's first sentence is the refusal sentence."""
    text = strip_markers(reply).replace("’", "'").replace("‘", "'")
    if not text:
        return False
    s, e = sentence_spans(text)[0]
    first = text[s:e].strip().rstrip(".!").lower()
    return first in {"the article doesn't say", "the article does not say"}


# -- verification -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Verified:
    """A reply after verification: renumbered text, its citations, and what was removed."""

    text: str
    citations: tuple[Citation, ...]
    dropped: int  # citation markers removed: pointing nowhere or not supporting their sentence
    omitted: int  # sentences left out for want of a supported citation


def _units(reply: str) -> list[tuple[str, bool]]:
    """The reply's sentences, each with the markers that trail it; flag: starts a new line."""
    body = reply.strip()
    units: list[tuple[str, bool]] = []
    prev_end = 0
    for s, e in sentence_spans(body):
        piece = body[s:e]
        newline = "\n" in body[prev_end:s]
        prev_end = e
        lead = _LEADING_MARKERS.match(piece)
        if lead and units:
            text, nl = units[-1]
            units[-1] = (text + lead.group(0).strip(), nl)
            piece = piece[lead.end() :].strip()
        if piece:
            units.append((piece, newline))
    return units


def support(weights: dict[str, float], text: str) -> float:
    """Weighted share of the claim's stems present in `text`, in [0, 1]."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    present = set(stems(terms(text)))
    return sum(w for stem, w in weights.items() if stem in present) / total


def claim_weights(sentence: str, question: str, weigh: Weigher) -> dict[str, float]:
    """What a sentence claims, as weighted stems; a bare yes/no borrows the question's words."""
    weights = {s: w for s, w in weigh(sentence).items() if s not in YES_NO}
    return weights or {s: w for s, w in weigh(question).items() if s not in YES_NO}


def candidate_spans(passage: Passage) -> list[tuple[int, int]]:
    """Local (start, end) of each sentence of the passage and of each two adjacent sentences."""
    spans = sentence_spans(passage.text) or [(0, len(passage.text))]
    return spans + [(spans[i][0], spans[i + 1][1]) for i in range(len(spans) - 1)]


class EmbeddingCache:
    """An Embedder that embeds each distinct text once (claims and spans repeat during a check)."""

    def __init__(self, embed: Embedder) -> None:
        self._embed = embed
        self._vectors: dict[str, np.ndarray] = {}

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self._embed(missing), strict=True))
        return np.stack([self._vectors[t] for t in texts])


@dataclass(frozen=True)
class SpanScore:
    start: int  # local to the passage
    end: int
    lexical: float
    cosine: float

    @property
    def supported(self) -> bool:
        return self.lexical >= SUPPORT_MIN or self.cosine >= COSINE_MIN

    @property
    def score(self) -> float:
        return max(self.lexical, self.cosine)


def best_span(claim: str, weights: dict[str, float], passage: Passage, embed: Embedder | None = None) -> SpanScore:
    """The span of `passage` that best supports `claim` (a single sentence unless two do clearly better)."""
    spans = candidate_spans(passage)
    texts = [passage.text[s:e] for s, e in spans]
    cosines = [0.0] * len(spans)
    if embed is not None:
        vectors = embed([claim, *texts])
        cosines = [float(np.dot(vectors[0], v)) for v in vectors[1:]]
    scored = [SpanScore(s, e, support(weights, t), c) for (s, e), t, c in zip(spans, texts, cosines, strict=True)]
    singles = len(sentence_spans(passage.text) or [0])
    best = max(scored[:singles], key=lambda x: x.score)
    pair = max(scored[singles:], key=lambda x: x.score, default=None)
    if pair is not None and pair.score >= best.score + PAIR_GAIN:
        return pair
    return best


def bears_on(question: str, claim: str, span: str, embed: Embedder) -> bool:
    """Whether a cited span is about the question at all (see the module docstring), not only about its claim."""
    asked = set(stems(terms(question))) - YES_NO
    if asked & set(stems(terms(span))):
        return True
    q, c, s = embed([question, claim, span])
    return max(float(np.dot(q, s)), float(np.dot(q, c))) >= QUESTION_COSINE_MIN


def _renumber(unit: str, replacements: list[str]) -> str:
    """Replace the unit's markers, in order, by their new markers; an empty one vanishes with its space."""
    it = iter(replacements)

    def swap(_: re.Match[str]) -> str:
        new = next(it)
        return f" {new}" if new else ""

    return _MARKER_WITH_SPACE.sub(swap, unit)


def verify(
    reply: str, passages: Sequence[Passage], question: str, weigh: Weigher, embed: Embedder | None = None
) -> Verified:
    """Check every `[n]` of the reply against passage n; keep, re-quote and renumber what holds."""
    units = _units(reply)
    if embed is not None:  # one batch for every claim and every span it may be checked against
        embed = EmbeddingCache(embed)
        cited = {n for unit, _ in units for m in MARKER.finditer(unit) for n in marker_numbers(m.group(0))}
        spans = [
            p.text[s:e]
            for n in sorted(cited)
            if 1 <= n <= len(passages)
            for p in [passages[n - 1]]
            for s, e in candidate_spans(p)
        ]
        embed([question] + [strip_markers(unit) for unit, _ in units] + spans)
    numbers: dict[tuple[str, int, int], int] = {}  # span -> new marker number
    citations: list[Citation] = []
    kept_units: list[str] = []
    dropped = omitted = 0
    checked: dict[tuple[str, int], tuple[SpanScore, bool]] = {}  # (claim, n) -> best span, whether it counts
    for unit, newline in units:
        claim = strip_markers(unit)
        markers = list(MARKER.finditer(unit))
        if not re.search(r"\w", claim):
            dropped += sum(len(marker_numbers(m.group(0))) for m in markers)
            continue
        weights = claim_weights(claim, question, weigh)
        replacements: list[str] = []
        for m in markers:
            kept: list[int] = []
            for n in marker_numbers(m.group(0)):
                if not 1 <= n <= len(passages):
                    dropped += 1
                    continue
                passage = passages[n - 1]
                key = (claim, n)
                if key not in checked:
                    best = best_span(claim, weights, passage, embed)
                    quote = passage.text[best.start : best.end]
                    on_question = embed is None or bears_on(question, claim, quote, embed)
                    checked[key] = (best, best.supported and on_question and not INSTRUCTION.search(quote))
                found, counts = checked[key]
                if not counts:
                    dropped += 1
                    continue
                span = (passage.source, passage.start + found.start, passage.start + found.end)
                if span not in numbers:
                    numbers[span] = len(numbers) + 1
                    citations.append(
                        Citation(
                            n=numbers[span],
                            source=passage.source,
                            quote=passage.text[found.start : found.end],
                            start=span[1],
                            end=span[2],
                            score=round(min(1.0, found.score), 4),
                            passage_id=passage.id,
                            paragraph=passage.paragraph,
                        )
                    )
                if numbers[span] not in kept:
                    kept.append(numbers[span])
            replacements.append("".join(f"[{k}]" for k in kept))
        if not any(replacements):
            omitted += 1
            continue
        text = _renumber(unit, replacements)
        text = re.sub(r"(\[\d+\])(?:\s*\1)+", r"\1", text)
        kept_units.append(("\n" if newline and kept_units else " " if kept_units else "") + text)
    return Verified("".join(kept_units).strip(), tuple(citations), dropped, omitted)
