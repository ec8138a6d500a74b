"""Plain data passed between the core and its front-ends.

Frozen dataclasses only; this module imports nothing of ours, so every layer can depend on it.
Offsets (`start`, `end`) always index the source text as loaded (decoded; for `.md` and `.html`, the
extracted text: `retrieval.read_text`), so `text[start:end] == quote` holds for every span.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1
CITATION_KEYS = ("n", "source", "quote", "start", "end", "score")
OPTIONAL_KEYS = ("line", "title", "date")  # in `ask --json` when known (added later in version 1)


@dataclass(frozen=True)
class Document:
    """One loaded source file: `source` as ingested, `text` the text offsets refer to; `sections` the
    headings left out of `text` as (offset where their section starts, heading); `extraction` names the
    extractor and its version ("" for plain text), so a changed extraction changes the document's hash."""

    source: str
    title: str
    text: str
    sections: tuple[tuple[int, str], ...] = ()
    extraction: str = ""
    date: str = ""  # publication date as found (HTML meta, PDF metadata, front matter), ISO "YYYY-MM-DD" or ""
    pages: tuple[int, ...] = ()  # PDF: the offset where each page's text starts (page 1 first)
    lines: tuple[tuple[int, int], ...] = ()  # Markdown: (offset of a block, its 1-based line in the file)
    numbers: tuple[tuple[int, int], ...] = ()  # .docx: (offset of a block, its paragraph number in the file)
    file_hash: str = ""  # SHA-1 of the file's (or fetched page's) bytes: has it changed since ingest?


@dataclass(frozen=True)
class Passage:
    """A chunk of a document, as stored; `id` is stable (source + offsets + text hash). `paragraph` is
    the paragraph's number in the text (in the file for .docx); `page` the PDF page (1-based, else
    None); `line` the Markdown source line where the passage's block starts (else None); `date` the
    document's publication date ("" when unknown)."""

    id: str
    source: str
    title: str
    paragraph: int
    start: int
    end: int
    text: str
    page: int | None = None
    line: int | None = None
    date: str = ""


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with its fused rank score (`score` in [0, 1], higher is better)."""

    passage: Passage
    score: float
    dense: float = 0.0
    lexical: float = 0.0


@dataclass(frozen=True)
class Citation:
    """An exact quote: `quote == text_of(source)[start:end]`; `n` is the marker shown in answers.
    `page` (PDF, 1-based), `line` (Markdown source line), `title` (the passage's title: the document's,
    with its heading) and `date` (publication date, ISO) come from the cited passage."""

    n: int
    source: str
    quote: str
    start: int
    end: int
    score: float
    passage_id: str = ""
    paragraph: int = 0
    page: int | None = None
    line: int | None = None
    title: str = ""
    date: str = ""

    @classmethod
    def of(cls, passage: Passage, n: int, start: int, end: int, score: float) -> Citation:
        """The citation of `passage.text`'s characters from `start` to `end` (offsets into the document)."""
        return cls(
            n=n,
            source=passage.source,
            quote=passage.text[start - passage.start : end - passage.start],
            start=start,
            end=end,
            score=score,
            passage_id=passage.id,
            paragraph=passage.paragraph,
            page=passage.page,
            line=passage.line,
            title=passage.title,
            date=passage.date,
        )


@dataclass(frozen=True)
class Span:
    """The nearest passage when a question is not answerable (never a citation)."""

    source: str
    quote: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class ShortAnswer:
    """The phrase that answers, inside the first cited quote: `text == text_of(source)[start:end]`."""

    text: str
    source: str
    start: int
    end: int


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation."""

    question: str
    answer: str = ""


@dataclass(frozen=True)
class DocumentSummary:
    """An ingested document as listed: where it came from, its title and its live passages."""

    source: str
    title: str
    passages: int
    date: str = ""


@dataclass(frozen=True)
class Overview:
    """What an engine answers from: its documents, their passages in all, and its two models."""

    documents: tuple[DocumentSummary, ...]
    passages: int
    embedding_model: str
    llm_model: str  # "" = offline, extractive answers


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    answerable: bool
    mode: str = "extractive"
    model: str | None = None
    note: str | None = None
    citations: tuple[Citation, ...] = ()
    closest: Span | None = None
    retrieved: tuple[Hit, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    usage: dict[str, int] | None = None
    dropped_citations: int = 0
    standalone_question: str | None = None
    confidence: float = 0.0  # the judge's P(the best evidence answers the question), in [0, 1]
    short_answer: ShortAnswer | None = None

    def to_json(self) -> dict[str, Any]:
        """The `ragbot ask --json` object (see the answer JSON schema)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "question": self.question,
            "answer": self.answer,
            "answerable": self.answerable,
            "mode": self.mode,
            "model": self.model,
            "note": self.note,
            "citations": [
                {k: v for k, v in asdict(c).items() if k in CITATION_KEYS or (k in OPTIONAL_KEYS and v)}
                | {"page": c.page}
                for c in self.citations
            ],
            "closest": asdict(self.closest) if self.closest else None,
            "retrieved": [
                {"source": h.passage.source, "start": h.passage.start, "end": h.passage.end, "score": h.score}
                for h in self.retrieved
            ],
            "timings_ms": {k: round(self.timings_ms.get(k, 0.0), 3) for k in ("retrieve", "generate", "total")},
            "usage": self.usage,
            "dropped_citations": self.dropped_citations,
            "short_answer": asdict(self.short_answer) if self.short_answer else None,
            "confidence": round(self.confidence, 4),
        }


@dataclass(frozen=True)
class Check:
    """A claim checked against the documents: `verdict` is "supported", "contradicted" or "not_mentioned";
    `explanation` a sentence with [n] markers pointing into `citations` (exact quotes); `reason` says what
    contradicts ("number", "date", "name", "negation"); `closest` the nearest sentence when not mentioned."""

    claim: str
    verdict: str
    explanation: str
    citations: tuple[Citation, ...] = ()
    confidence: float = 0.0
    note: str | None = None
    mode: str = "extractive"
    model: str | None = None
    reason: str = ""
    closest: Span | None = None

    def to_json(self) -> dict[str, Any]:
        """The `ragbot check --json` object."""
        return {
            "claim": self.claim,
            "verdict": self.verdict,
            "explanation": self.explanation,
            "citations": [
                {k: v for k, v in asdict(c).items() if k in ("n", "source", "quote", "start", "end", "score")}
                for c in self.citations
            ],
            "confidence": round(self.confidence, 4),
            "note": self.note,
            "mode": self.mode,
            "model": self.model,
            "reason": self.reason or None,
            "closest": asdict(self.closest) if self.closest else None,
        }


@dataclass(frozen=True)
class Attribution:
    """Who said what: `text == text_of(source)[start:end]` is the quoted or reported words, `speaker` the
    name they are attributed to, `evidence` the words that attribute them ("Kerry said", "according to
    TASS") with their offsets, `kind` "direct" (in quotation marks) or "reported"."""

    speaker: str
    text: str
    source: str
    start: int
    end: int
    evidence: str
    evidence_start: int
    evidence_end: int
    kind: str = "direct"

    def to_json(self) -> dict[str, Any]:
        """One line of `ragbot quotes --json`."""
        return {
            "speaker": self.speaker,
            "text": self.text,
            "source": self.source,
            "start": self.start,
            "end": self.end,
            "kind": self.kind,
            "attribution": {"quote": self.evidence, "start": self.evidence_start, "end": self.evidence_end},
        }
