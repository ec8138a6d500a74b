"""Claim check offline: do the retrieved sentences support, contradict or not mention a claim?

The claim is retrieved like a question (query.py), and every sentence of the kept passages is
compared with it through the answerability machinery: the claim's constraints (names, numbers,
years, dates; question.py, normalised by normalise.py), its IDF-weighted content stems, negation.
Each sentence is read in regions: the whole sentence for a claim that reports speech ("said",
"according to"), else the text outside quotation marks and each quotation apart, so that a name
inside someone's quoted words does not vouch for a claim about events ("Kerry met Assad" is not
what "“… Assad has never shown any willingness”, Kerry said at a meeting" says).
- supported: every constraint of the claim is in the region, no conflict, the same polarity, and
  the region holds SUPPORT_COVERAGE of the claim's weighted stems (or PARAPHRASE_COVERAGE when the
  region is within PARAPHRASE_COSINE of the claim in meaning);
- contradicted: the region holds CONTRA_COVERAGE of the claim's stems apart from what conflicts,
  and one of: a number, year or date of the claim is missing from the sentence where the sentence
  has another of the same kind (a weekday for a weekday, a year for a year, a percentage for a
  percentage, a count of the same unit: "ten days" against "seven-day"); a name of the claim is
  missing from the sentence where the sentence has another name in the same place (the same word
  before or after it: "from Berlin" against "from Hamburg"); a word of the claim is missing where
  the sentence has its antonym (ANTONYMS: general English pairs); one of the two is negated;
- not_mentioned otherwise.
The verdict's quote is the whole sentence, an exact span, so a supported claim's names, numbers
and dates are always in its quote. Leaves out: syntax (who did what to whom beyond the quotation
regions), coreference, arithmetic ("a week" is not "seven days"), claims spanning several sentences.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from retrieval.answering.evidence import ScoredSentence
from retrieval.answering.features import _same, constraint_missing
from retrieval.answering.normalise import (
    MONTH_NAMES,
    MONTHS,
    WEEKDAYS,
    _keys,
    _number_value,
    normalise_token,
    normalised_tokens,
    tokens,
)
from retrieval.answering.question import Constraint, QuestionAnalysis, analyse
from retrieval.schema import Attribution, Check, Citation, Span
from retrieval.text import STOPWORDS, stems, terms

SUPPORTED, CONTRADICTED, NOT_MENTIONED = "supported", "contradicted", "not_mentioned"
VERDICTS = (SUPPORTED, CONTRADICTED, NOT_MENTIONED)
SUPPORT_COVERAGE = 0.85  # share of the claim's IDF-weighted stems a supporting region holds
PARAPHRASE_COVERAGE = 0.5  # ... or this much, when the region is near the claim in meaning
PARAPHRASE_COSINE = 0.75
CONTRA_COVERAGE = 0.7  # share of the claim's stems, apart from the conflicting ones, a contradicting region holds
CANDIDATES = 12  # sentences compared, best evidence first
NAME_GAP = 2  # words a name may have inserted in the text ("Lebanon’s Shiite Hezbollah" holds "Lebanon's Hezbollah")

SPEECH = frozenset(
    stems(["said", "say", "says", "told", "tell", "according", "reported", "report", "stated", "announced",
           "added", "warned", "called", "insisted", "claimed", "described", "quoted", "spoke", "speak", "speaking"])
)  # fmt: skip
_NEGATORS = re.compile(r"\b(?:not|no|never|none|nobody|nothing|neither|nor|without|cannot|unable)\b|n['’]t\b", re.I)
_QUOTE = re.compile(r"“[^”]*”|\"[^\"]*\"")
# general English antonym pairs (by Porter stem); not tied to any document
_PAIRS = [
    ("accept", "reject"), ("support", "oppose"), ("agree", "refuse"), ("agree", "disagree"), ("allow", "block"),
    ("allow", "forbid"), ("allow", "prevent"), ("win", "lose"), ("rise", "fall"), ("increase", "decrease"),
    ("confirm", "deny"), ("advance", "retreat"), ("open", "close"), ("approve", "reject"), ("start", "end"),
    ("begin", "end"), ("include", "exclude"), ("succeed", "fail"), ("praise", "criticise"), ("praise", "condemn"),
    ("welcome", "condemn"), ("join", "leave"), ("enter", "leave"), ("arrive", "depart"), ("gain", "lose"),
    ("lift", "impose"), ("strengthen", "weaken"), ("release", "arrest"), ("acquit", "convict"),
    ("victory", "defeat"), ("ally", "enemy"), ("legal", "illegal"), ("possible", "impossible"),
    ("largest", "smallest"), ("first", "last"), ("north", "south"), ("east", "west"), ("before", "after"),
    ("stay", "leave"), ("resume", "suspend"), ("restart", "halt"), ("continue", "stop"), ("favor", "oppose"),
    ("weekday", "weekend"), ("public", "private"), ("minority", "majority"), ("more", "less"), ("more", "fewer"),
    ("higher", "lower"), ("up", "down"), ("morning", "evening"), ("day", "night"), ("domestic", "foreign"),
    ("import", "export"), ("buy", "sell"), ("maximum", "minimum"), ("rich", "poor"), ("dead", "alive"),
    ("true", "false"), ("guilty", "innocent"), ("war", "peace"), ("cheaper", "dearer"), ("early", "late"),
]  # fmt: skip
ANTONYMS: dict[str, set[str]] = {}
for _a, _b in _PAIRS:
    _sa, _sb = stems([_a, _b])
    ANTONYMS.setdefault(_sa, set()).add(_sb)
    ANTONYMS.setdefault(_sb, set()).add(_sa)

Cosine = Callable[[str, Sequence[str]], list[float]]
Speakers = Callable[[ScoredSentence], Sequence[Attribution]]


@dataclass(frozen=True)
class Finding:
    """The verdict on one claim, the sentence that decides it (None when not mentioned), and why."""

    verdict: str
    sentence: ScoredSentence | None
    coverage: (
        float  # of the claim's weighted stems in the deciding region (for a contradiction: apart from the conflict)
    )
    reason: str = ""  # contradicted: "number", "date", "name", "negation"
    claim_part: str = ""  # the claim's words in conflict ("ten", "Berlin", "opposes", "not")
    document_part: str = ""  # the sentence's words they conflict with ("seven-day", "Hamburg", "supports", "")
    attribution: Attribution | None = None  # names the claim's speaker when the sentence does not (speech.py)


@dataclass(frozen=True)
class _Region:
    text: str  # the sentence with everything outside the region blanked (offsets kept)
    whole: bool


# -- the claim's constraints -------------------------------------------------------------------
def claim_constraints(analysis: QuestionAnalysis, claim: str, evidence: Sequence[str]) -> tuple[Constraint, ...]:
    """The question analysis' constraints, plus a name that opens the claim: question analysis skips the
    first word (a question's first word is capitalised anyway), but a claim often opens with its subject.
    The first word counts as a name when it is capitalised, not a stopword, and the evidence never
    writes it in lower case ("China", "Kerry" yes; "Government", "East" no)."""
    found: list[Constraint] = []
    for c in analysis.constraints:  # a name run does not go on over punctuation ("Human Rights, Assad's")
        if c.kind != "entity" or not re.search(r"[,;:]", c.text):
            found.append(c)
            continue
        for m in re.finditer(r"[^,;:]+", c.text):
            part = m.group(0).strip()
            if part and _keys(part):
                at = c.start + m.start() + (len(m.group(0)) - len(m.group(0).lstrip()))
                found.append(Constraint(part, "entity", at, at + len(part), _keys(part)))
    toks = tokens(claim)
    if toks:
        s, e, tok = toks[0]
        low = tok.lower()
        lower_in_text = any(re.search(rf"(?<![\w-]){re.escape(low)}(?![\w-])", t) for t in evidence)
        if tok[:1].isupper() and low not in STOPWORDS and _number_value(low) is None and not lower_in_text:
            if not any(c.start <= s < c.end for c in found):
                end = e
                for s2, e2, t2 in toks[1:]:  # "Russian Federation", "Human Rights" run on
                    if t2[:1].isupper() and claim[end:s2].strip() == "":
                        end = e2
                    else:
                        break
                found.insert(0, Constraint(claim[s:end], "entity", s, end, _keys(claim[s:end])))
    return tuple(found)


def _spread(toks: Sequence[str], key: tuple[str, ...]) -> bool:
    """`key`'s tokens in order in `toks`, at most NAME_GAP other tokens between two of them."""
    for i, tok in enumerate(toks):
        if not _same(tok, key[0]):
            continue
        at, ok = i, True
        for part in key[1:]:
            nxt = next((j for j in range(at + 1, min(len(toks), at + 2 + NAME_GAP)) if _same(toks[j], part)), None)
            if nxt is None:
                ok = False
                break
            at = nxt
        if ok:
            return True
    return False


def missing(analysis: QuestionAnalysis, text: str) -> list[bool]:
    """For each constraint, whether `text` lacks it; a name of several words also counts when the text
    holds its words in order with a few others between (features.constraint_missing, loosened)."""
    strict = constraint_missing(analysis, text)
    toks = normalised_tokens(text)
    return [
        gone and not (c.kind == "entity" and any(len(k) > 1 and _spread(toks, k) for k in c.keys))
        for c, gone in zip(analysis.constraints, strict, strict=True)
    ]


# -- regions of a sentence ---------------------------------------------------------------------
def _blank(text: str, keep: Sequence[tuple[int, int]]) -> str:
    chars = [" "] * len(text)
    for a, b in keep:
        chars[a:b] = text[a:b]
    return "".join(chars)


def regions(sentence: str, speech: bool) -> list[_Region]:
    """The parts of a sentence a claim may be read against (see the module docstring)."""
    quotes = [(m.start(), m.end()) for m in _QUOTE.finditer(sentence)]
    if not quotes:
        return [_Region(sentence, True)]
    out = [_Region(sentence, True)] if speech else []
    outside, cursor = [], 0
    for a, b in quotes:
        outside.append((cursor, a))
        cursor = b
    outside.append((cursor, len(sentence)))
    out.append(_Region(_blank(sentence, outside), False))
    out += [_Region(_blank(sentence, [(a + 1, b - 1)]), False) for a, b in quotes]
    return out


# -- conflicts ---------------------------------------------------------------------------------
def _value_kind(tok: str, following: str) -> tuple[str, str] | None:
    """(kind, unit) of a value token: year, weekday, month, percent, or a count with its unit word."""
    low = tok.lower().strip(".").replace("’", "'")
    if re.fullmatch(r"(?:1[0-9]\d\d|20\d\d)(?:'?s)?", low):
        return "year", ""
    if low in WEEKDAYS:
        return "weekday", ""
    if low in MONTH_NAMES or (low in MONTHS and tok[:1].isupper()):
        return "month", ""
    value = _number_value(low)
    if value is None:
        return None
    if low.endswith("%") or following.lower() in ("percent", "per", "%"):
        return "percent", ""
    unit = low.split("-", 1)[1] if "-" in low else following
    return "count", normalise_token(stems([unit.lower()])[0]) if unit else ""


def _values(text: str) -> list[tuple[int, int, str, tuple[str, str], str]]:
    """(start, end, token, (kind, unit), normalised value) of each value in a text."""
    toks = tokens(text)
    out = []
    for i, (s, e, tok) in enumerate(toks):
        nxt = toks[i + 1][2] if i + 1 < len(toks) else ""
        kind = _value_kind(tok, nxt)
        if kind is not None:
            out.append((s, e, tok, kind, normalise_token(tok)))
    return out


def _value_conflict(claim: str, c: Constraint, text: str) -> str | None:
    """The value in `text` of the same kind (and unit) as the claim's missing value `c`, if any."""
    mine = [v for v in _values(claim) if c.start <= v[0] < c.end]
    if not mine:
        return None
    kind, value = mine[0][3], mine[0][4]
    for _, _, tok, other_kind, other in _values(text):
        if other_kind == kind and other != value and (kind[0] != "count" or kind[1] == other_kind[1]):
            return tok
    return None


def _neighbours(text: str, s: int, e: int) -> tuple[str, str]:
    before = re.findall(r"\w[\w'’.-]*", text[:s])
    after = re.findall(r"\w[\w'’.-]*", text[e:])
    return (before[-1].lower() if before else "", after[0].lower() if after else "")


def _names(text: str) -> list[tuple[int, int]]:
    """Runs of capitalised tokens (not opening the text)."""
    toks = tokens(text)
    runs: list[tuple[int, int]] = []
    for i, (s, e, tok) in enumerate(toks):
        if not tok[:1].isupper() or i == 0 or tok.lower() in STOPWORDS:
            continue
        if runs and text[runs[-1][1] : s].strip() == "":
            runs[-1] = (runs[-1][0], e)
        else:
            runs.append((s, e))
    return runs


def _name_conflict(claim: str, c: Constraint, text: str) -> str | None:
    """A name of `text` in the place of the claim's missing name `c`: the same word before or after it,
    and not a name the claim itself holds."""
    left, right = _neighbours(claim, c.start, c.end)
    claim_tokens = {normalise_token(t) for _, _, t in tokens(claim)}
    for s, e in _names(text):
        own = [normalise_token(t) for _, _, t in tokens(text[s:e])]
        if any(t in claim_tokens for t in own):
            continue
        l2, r2 = _neighbours(text, s, e)
        if (left and l2 == left) or (right and r2 == right and right not in STOPWORDS):
            return text[s:e]
    return None


def _polarity(text: str) -> int:
    return len(_NEGATORS.findall(text)) % 2


# -- the verdict -------------------------------------------------------------------------------
def _coverage(weights: dict[str, float], present: set[str], leave_out: set[str] = frozenset()) -> float:  # type: ignore[assignment]
    total = sum(w for s, w in weights.items() if s not in leave_out)
    if total <= 0:
        return 0.0
    return sum(w for s, w in weights.items() if s in present and s not in leave_out) / total


def _region_finding(
    claim: str,
    analysis: QuestionAnalysis,
    weights: dict[str, float],
    sentence: ScoredSentence,
    region: _Region,
    cosine: float,
    speakers: Sequence[Attribution] = (),
) -> Finding | None:
    text = region.text
    present = set(stems(terms(text)))
    missing_region = missing(analysis, text)
    missing_sentence = missing(analysis, sentence.text)
    via: Attribution | None = None
    for i, c in enumerate(analysis.constraints):  # the speaker of a quotation, named in another sentence
        if missing_region[i] and c.kind == "entity":
            one = replace(analysis, constraints=(c,))
            via = next((a for a in speakers if not missing(one, a.speaker)[0]), via)
            if via is not None and not missing(one, via.speaker)[0]:
                missing_region[i] = missing_sentence[i] = False
    for c, gone in zip(analysis.constraints, missing_region, strict=True):
        if not gone:  # a name matched through an alias ("NATO") counts as its words
            present |= set(stems(terms(c.text)))
    if SPEECH & set(stems(re.findall(r"\w+", text.lower()))):  # one speech verb stands for another
        present |= SPEECH
    cov = _coverage(weights, present)
    conflicts: list[tuple[str, str, str, set[str]]] = []  # (reason, claim part, document part, stems left out)
    for c, gone_here, gone_anywhere in zip(analysis.constraints, missing_region, missing_sentence, strict=True):
        if not gone_here:
            continue
        if not gone_anywhere:
            return None  # the name is in the sentence, but not where the claim puts it: no verdict here
        own = set(stems(terms(c.text)))
        if c.kind in ("number", "year", "date"):
            other = _value_conflict(claim, c, text)
            if other:
                conflicts.append(("date" if c.kind in ("year", "date") else "number", c.text, other, own))
                continue
        elif c.kind == "entity":
            other = _name_conflict(claim, c, text)
            if other:
                conflicts.append(("name", c.text, other, own))
                continue
        return None  # a name, number or date of the claim the sentence does not hold, and nothing in its place
    claim_stems = dict(zip(stems(terms(claim)), terms(claim), strict=True))
    for stem, word in claim_stems.items():
        if stem in present:
            continue
        opposite = next((t for t in re.findall(r"\w+", text) if stems([t.lower()])[0] in ANTONYMS.get(stem, ())), None)
        if opposite:
            conflicts.append(("negation", word, opposite, {stem, stems([opposite.lower()])[0]}))
    if _polarity(claim) != _polarity(text):
        neg = _NEGATORS.search(claim) or _NEGATORS.search(text)
        conflicts.append(("negation", neg.group(0) if neg and _NEGATORS.search(claim) else "", "", set()))
    if not conflicts:
        if cov >= SUPPORT_COVERAGE or (cov >= PARAPHRASE_COVERAGE and cosine >= PARAPHRASE_COSINE):
            return Finding(SUPPORTED, sentence, cov, attribution=via)
        return None
    leave_out = set().union(*(c[3] for c in conflicts))
    rest = _coverage(weights, present, leave_out)
    if rest >= CONTRA_COVERAGE or (rest >= PARAPHRASE_COVERAGE and cosine >= PARAPHRASE_COSINE):
        reason, mine, theirs, _ = conflicts[0]
        return Finding(CONTRADICTED, sentence, rest, reason, mine, theirs)
    return None


def judge(
    claim: str,
    sentences: Sequence[ScoredSentence],
    weights: dict[str, float],
    cosine: Cosine | None = None,
    speakers: Speakers | None = None,
) -> Finding:
    """The verdict on `claim` (already validated) from its scored sentences (best evidence first);
    `weights`: the IDF weight of each content stem of the claim as written (not respelled);
    `speakers(sentence)`: the attributions of speech in it (speech.py), for a claim that reports speech
    whose speaker the sentence itself does not name."""
    seen: set[tuple[str, int]] = set()
    candidates = []
    for s in sentences:
        if (s.passage.source, s.start) not in seen:
            seen.add((s.passage.source, s.start))
            candidates.append(s)
        if len(candidates) >= CANDIDATES:
            break
    if not candidates:
        return Finding(NOT_MENTIONED, None, 0.0)
    analysis = analyse(claim)
    analysis = replace(analysis, constraints=claim_constraints(analysis, claim, [s.text for s in candidates]))
    speech = bool(SPEECH & set(stems(re.findall(r"\w+", claim.lower()))))
    sims = cosine(claim, [s.text for s in candidates]) if cosine else [0.0] * len(candidates)
    best: dict[str, Finding] = {}
    for s, sim in zip(candidates, sims, strict=True):
        said = speakers(s) if speakers is not None and speech else ()
        for region in regions(s.text, speech):
            f = _region_finding(claim, analysis, weights, s, region, sim, said)
            if f is not None and (f.verdict not in best or f.coverage > best[f.verdict].coverage):
                best[f.verdict] = f
    if SUPPORTED in best:
        return best[SUPPORTED]
    if CONTRADICTED in best:
        return best[CONTRADICTED]
    top = candidates[0]
    return Finding(NOT_MENTIONED, None, _coverage(weights, set(stems(terms(top.text)))))


def cosine_with(embed: Callable[[list[str]], np.ndarray]) -> Cosine:
    """Cosine similarity of a claim to each sentence, with the index's embedder (normalised vectors)."""

    def cosine(claim: str, texts: Sequence[str]) -> list[float]:
        vectors = embed([claim, *texts])
        return [float(np.dot(vectors[0], v)) for v in vectors[1:]]

    return cosine


def citation_of(s: ScoredSentence, n: int = 1) -> Citation:
    """The deciding sentence as a citation: an exact quote with its offsets."""
    return Citation(n, s.passage.source, s.text, s.start, s.end, round(s.score, 4), s.passage.id, s.passage.paragraph)


def explanation(finding: Finding) -> str:
    """One sentence saying why, with the [1] marker of the deciding quote."""
    if finding.verdict == SUPPORTED:
        if finding.attribution is not None:
            return f"The documents say so [1], in words they attribute to {finding.attribution.speaker} [2]."
        return "The documents say so [1]."
    if finding.verdict == CONTRADICTED:
        if finding.claim_part and finding.document_part:
            return f"The documents say “{finding.document_part}”, not “{finding.claim_part}” [1]."
        return "The documents say the opposite [1]."
    return "The documents don't mention this."


def check_of(asked: str, finding: Finding, sentences: Sequence[ScoredSentence]) -> Check:
    """The Check shown for a finding; `confidence` is the coverage of the deciding region (for not
    mentioned: one minus the best sentence's coverage)."""
    if finding.sentence is None:
        closest = None
        if sentences:
            top = sentences[0]
            closest = Span(top.passage.source, top.text, top.start, top.end, round(top.score, 4))
        return Check(asked, NOT_MENTIONED, explanation(finding), confidence=1.0 - finding.coverage, closest=closest)
    citations = [citation_of(finding.sentence)]
    if (a := finding.attribution) is not None:
        citations.append(Citation(2, a.source, a.evidence, a.evidence_start, a.evidence_end, 1.0))
    return Check(
        asked,
        finding.verdict,
        explanation(finding),
        tuple(citations),
        confidence=finding.coverage,
        reason=finding.reason,
    )


def key_facts_missing(claim: str, quotes: Sequence[str]) -> list[str]:
    """The names, numbers and dates of `claim` that none of `quotes` holds (after normalisation)."""
    analysis = analyse(claim)
    absent = []
    for c in claim_constraints(analysis, claim, quotes):
        one = replace(analysis, constraints=(c,))
        if all(missing(one, q)[0] for q in quotes):
            absent.append(c.text)
    return absent
