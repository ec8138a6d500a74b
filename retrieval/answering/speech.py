"""Who said what: direct and reported speech in a text, attributed by news-writing patterns.

`attributions(text, source)` returns `Attribution`s (schema.py), each with the words that attribute it:
- a quotation (“…” or "…") is attributed, in this order, to: the speaker right after it (“…”, Kerry
  said / “…”, said Kerry); a speaker saying it earlier in its sentence (Assad said a loss “…”); a
  source carrying it in its sentence (“…”, the agency Interfax reported / according to TASS); else
  the nearest speaker before it in its paragraph or the paragraph just before (news articles put a
  follow-on quotation in a paragraph of its own);
- reported speech: "X said (that) …", "X reported that …", "according to X, …" and a trailing
  "…, X said." give the statement with speaker X; a statement that is one quotation is left to the
  quotation's entry;
- the speaker is the words before the verb back to the clause boundary (comma, quotation mark,
  "that", sentence start), kept when they hold a capitalised name or read "the <noun phrase>"
  ("the German chancellor"); "he", "she" and "they" take the nearest speaker before them, and
  "and said" the subject of its sentence (the words from its start, after an opening phrase closed
  by a comma, to the first past-tense verb).
Rules, not parsing: a speaker may be a title with its name ("Russian Foreign Minister Sergei
Lavrov"), and attribution can be wrong, which is why every entry shows its evidence. Leaves out
speech verbs in other tenses ("will say"), nested attribution beyond the first speaker, languages
other than English.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.schema import Attribution, Passage
from retrieval.text import sentence_spans, terms

SAY = r"said|says|told|added|stated|declared|insisted|warned|announced"
CARRY = r"reported|reports"
_QUOTE = re.compile(r"“([^”]+)”|\"([^\"]+)\"")
_VERB = re.compile(rf"\b(?:(?P<say>{SAY})|(?P<carry>{CARRY}))\b")
_ACCORDING = re.compile(r"\baccording to (?P<sp>(?:the\s+)?[A-Z][\w’'.-]*(?:\s+(?:[A-Z][\w’'.-]*|of|for|the))*)")
_PRONOUNS = {"he", "she", "they"}
_BOUNDARY = re.compile(r"[,;:“”\"]|\bthat\b|\band\b|\bbut\b|\bwho\b|^", re.I)
_PAST = re.compile(r"\b(?:[a-z]+ed|said|says|told|was|were|is|are|has|have|had|will|would)\b")
MAX_SPEAKER_WORDS = 8


@dataclass(frozen=True)
class _Said:
    """One attribution found in a sentence: the speaker, the evidence span, the verb's end."""

    speaker: str
    start: int  # evidence, absolute offsets
    end: int
    verb_start: int
    verb_end: int
    carry: bool  # a carrier ("reported", "according to"): the source, not necessarily the speaker


def _speaker_before(text: str, s0: int, verb_start: int) -> tuple[str, int]:
    """The speaker phrase just before a verb at `verb_start` in the sentence starting at `s0`, and its start."""
    before = text[s0:verb_start]
    cut = 0
    for m in _BOUNDARY.finditer(before):
        if m.end() < len(before.rstrip()):
            cut = m.end()
    phrase = before[cut:].strip()
    words = phrase.split()
    if not words or len(words) > MAX_SPEAKER_WORDS:
        return "", -1
    start = s0 + cut + (len(before[cut:]) - len(before[cut:].lstrip()))
    if phrase.lower() in _PRONOUNS:
        return phrase.lower(), start
    if any(w[:1].isupper() for w in words) or (words[0].lower() == "the" and len(words) <= 4):
        return phrase, start
    return "", -1


def _subject(text: str, s0: int, e0: int) -> tuple[str, int]:
    """The sentence's subject: from its start (after an opening phrase closed by a comma) to the first
    past-tense verb."""
    sentence = text[s0:e0]
    start = 0
    opening = re.match(r"(?:In|On|At|After|Before|During|Earlier|Later|Meanwhile)\b[^,]{0,60},\s*", sentence)
    if opening:
        start = opening.end()
    verb = _PAST.search(sentence, start)
    if verb is None:
        return "", -1
    phrase = sentence[start : verb.start()].strip()
    if not phrase or len(phrase.split()) > 12 or not any(w[:1].isupper() for w in phrase.split()):
        return "", -1
    return phrase, s0 + start


def _saids(text: str, s0: int, e0: int) -> list[_Said]:
    """The attributions in the sentence text[s0:e0], in order."""
    out = []
    sentence = text[s0:e0]
    for m in _VERB.finditer(sentence):
        vs, ve = s0 + m.start(), s0 + m.end()
        speaker, start = _speaker_before(text, s0, vs)
        if not speaker:
            after = re.match(r"\s+(?P<sp>[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*)*)", text[ve:e0])  # “…”, said Kerry
            prior = text[s0:vs].rstrip()
            if after and prior.endswith((",", "”", '"')):
                out.append(_Said(after.group("sp"), vs, ve + after.end(), vs, ve, m.group("carry") is not None))
                continue
            if re.search(r"\band\s*$", text[s0:vs]):
                speaker, start = _subject(text, s0, e0)
        if speaker:
            out.append(_Said(speaker, start, ve, vs, ve, m.group("carry") is not None))
    for m in _ACCORDING.finditer(sentence):
        sp = m.group("sp")
        out.append(_Said(sp, s0 + m.start(), s0 + m.end(), s0 + m.start(), s0 + m.end(), True))
    return sorted(out, key=lambda a: a.start)


def _statement(text: str, s0: int, e0: int, said: _Said) -> tuple[int, int]:
    """The reported statement of an attribution: after "X said (that)" to the sentence's end (less a
    trailing attribution clause), or before a trailing ", X said"."""
    sentence_end = e0
    while sentence_end > s0 and text[sentence_end - 1] in ".!?":
        sentence_end -= 1
    after_and = re.search(r"\band\s*$", text[said.start : said.verb_start])  # "… and said …": what follows
    if said.start > s0 and not after_and and text[s0 : said.start].rstrip().endswith(","):  # "…, X said."
        end = s0 + len(text[s0 : said.start].rstrip().rstrip(","))
        return s0, end
    rest = text[said.verb_end : sentence_end]
    that = re.match(r"(?:\s+\w+){0,3}?\s+that\b", rest)
    start = said.verb_end + (that.end() if that else 0)
    trailing = re.search(rf",\s+(?:the\s+)?[^,]{{1,80}}?\b(?:{SAY}|{CARRY})\b[^,]*$", text[start:sentence_end])
    end = start + trailing.start() if trailing else sentence_end
    while start < end and text[start].isspace():
        start += 1
    return start, end


def _resolve(speaker: str, earlier: list[str]) -> str:
    if speaker.lower() in _PRONOUNS:
        return next((s for s in reversed(earlier) if s.lower() not in _PRONOUNS), "")
    return speaker


def attributions(text: str, source: str) -> list[Attribution]:
    """Every attributed quotation and reported statement of `text`, in order of the text."""
    out: list[Attribution] = []
    previous: list[tuple[str, int, int]] = []  # speakers of the paragraph before: (speaker, evidence start, end)
    for para in re.finditer(r"[^\n]+", text):
        p0 = para.start()
        current: list[tuple[str, int, int]] = []
        for s, e in sentence_spans(text, p0, para.end()):
            saids = _saids(text, s, e)
            named = [(sp, a, b) for sp, a, b in previous + current]
            for a in saids:
                speaker = _resolve(a.speaker, [n[0] for n in named])
                if speaker:
                    named.append((speaker, a.start, a.end))
            quotes = [(m.start(), m.end()) for m in _QUOTE.finditer(text, s, e)]
            for qs, qe in quotes:
                said = _for_quote(text, qs, qe, saids)
                if said is not None:
                    speaker = _resolve(said.speaker, [n[0] for n in previous + current])
                    evidence = (said.start, said.end)
                elif previous or current:
                    speaker, *evidence_span = (previous + current)[-1]
                    evidence = (evidence_span[0], evidence_span[1])
                else:
                    continue
                if speaker:
                    out.append(Attribution(speaker, text[qs + 1 : qe - 1], source, qs + 1, qe - 1,
                                           text[evidence[0] : evidence[1]], *evidence, kind="direct"))  # fmt: skip
            for a in saids:
                speaker = _resolve(a.speaker, [n[0] for n in previous + current])
                if not speaker:
                    continue
                current.append((speaker, a.start, a.end))
                st, en = _statement(text, s, e, a)
                body = text[st:en].strip()
                if not body or any(qs <= st and en <= qe for qs, qe in quotes):
                    continue  # nothing said, or one quotation: listed as such
                out.append(Attribution(speaker, text[st:en], source, st, en, text[a.start : a.end], a.start, a.end,
                                       kind="reported"))  # fmt: skip
        previous = current
    out.sort(key=lambda x: (x.start, x.kind))
    return out


def _for_quote(text: str, qs: int, qe: int, saids: list[_Said]) -> _Said | None:
    """The attribution of the quotation text[qs:qe] among its sentence's (see the module docstring)."""
    for a in saids:  # right after it: “…”, Kerry said
        if not a.carry and qe <= a.start and re.fullmatch(r"[\s,.]*", text[qe : a.start]):
            return a
    before = [a for a in saids if not a.carry and a.verb_end <= qs]
    if before:
        return before[-1]
    carriers = [a for a in saids if a.carry]
    if carriers:
        return carriers[0]
    later = [a for a in saids if a.start >= qe]
    return later[0] if later else None


def text_of(passages: Sequence[Passage]) -> str:
    """A document's text rebuilt from its passages (offsets kept; a gap between passages reads as line breaks)."""
    end = max((p.end for p in passages), default=0)
    chars = ["\n"] * end
    for p in passages:
        chars[p.start : p.end] = p.text
    return "".join(chars)


def matches(a: Attribution, speaker: str | None = None, about: str | None = None) -> bool:
    """Whether an attribution is by `speaker` (whole words of the name, any case) and about `about` (every
    content word of it, by stem, in the statement or its evidence)."""
    from retrieval.text import stems

    if speaker and not re.search(rf"(?<!\w){re.escape(' '.join(speaker.split()))}(?!\w)", a.speaker, re.I):
        return False
    if about:
        wanted = set(stems(terms(about)))
        have = set(stems(terms(f"{a.text} {a.evidence}")))
        if not wanted <= have:
            return False
    return True


_ASKS_SPEECH = re.compile(
    r"^\s*what\s+(?:did|does|has|have)\s+(?P<speaker>.+?)\s+(?:say|said|tell|told|announce|announced|warn|warned|"
    r"report|reported)\b(?P<rest>[^?]*)\??\s*$",
    re.I,
)


def speech_question(question: str) -> tuple[str, str] | None:
    """(speaker, topic) of a question asking what someone said ("What did Kerry say about Assad?" ->
    ("Kerry", "Assad"); "What did Kerry say at the meeting in Brussels?" -> ("Kerry", "meeting Brussels")),
    else None. A pronoun ("What did he say?") is no speaker: it needs the conversation."""
    m = _ASKS_SPEECH.match(question)
    if m is None:
        return None
    speaker = re.sub(r"^the\s+", "", m.group("speaker").strip(), flags=re.I)
    if speaker.lower() in _PRONOUNS | {"it", "you", "i", "we"} or not re.search(r"\w", speaker):
        return None
    rest = re.sub(r"^\s*about\b", "", m.group("rest").strip(), flags=re.I)
    return speaker, " ".join(terms(rest))
