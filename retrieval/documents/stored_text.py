"""Opening a citation: the text a document's offsets refer to, as stored at ingest, and a quote in context.

`document_text(index, source)` is that text exactly (`text[start:end] == quote` for every citation
of the document), read from the catalog, so it works for URLs and for files changed or gone since.
`open_citation(index, source, start, end)` gives the quote with the paragraph around it, where it
is (page, line, paragraph) and whether the file changed since ingest (its bytes' hash against the
one stored; a URL is not fetched again). Front-ends print these; nothing here prints.
Does not keep older versions of a document: the text is the one of the last ingest.
"""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.documents.fetch import is_url
from retrieval.documents.ingest import resolve_source
from retrieval.documents.load import file_hash
from retrieval.documents.split import paragraphs
from retrieval.errors import InputError
from retrieval.root import source_path
from retrieval.schema import Passage
from retrieval.storage.catalog import DocumentInfo, StoredText
from retrieval.storage.index import Index


@dataclass(frozen=True)
class OpenedCitation:
    """A quote in its paragraph: `text[start:end]` is the quote, `text[context_start:context_end]` the
    paragraph(s) around it; `passage` the stored passage holding its start (None if none does);
    `changed` says how the file differs from what was ingested ("" when it does not)."""

    source: str
    text: str
    start: int
    end: int
    context_start: int
    context_end: int
    document: DocumentInfo
    passage: Passage | None
    changed: str

    @property
    def quote(self) -> str:
        return self.text[self.start : self.end]


def stored_text(index: Index, source: str) -> tuple[str, StoredText]:
    """The recorded source `source` names (see `resolve_source`) and its stored text; InputError when
    the store holds no such document or no text for it."""
    index.refresh()
    found = resolve_source(index, source)
    stored = index.catalog.text(found)
    if stored is None:
        raise InputError(
            f"the store keeps no text for {found}: it was ingested by an older ragbot or on another machine "
            f"(server mode); run `ragbot ingest {found}` to store it"
        )
    return found, stored


def document_text(index: Index, source: str) -> str:
    """The text `source`'s offsets refer to, exactly as ingest stored it."""
    return stored_text(index, source)[1].text


def changed_since(source: str, stored: StoredText, info: DocumentInfo) -> str:
    """How the document differs from what was ingested, in words, or "" when it does not."""
    if is_url(source):
        return f"fetched {info.ingested_at}; the page may have changed since (it is not fetched again)"
    path = source_path(source)
    try:
        data = path.read_bytes()
    except OSError:
        return f"the file {path} is gone or unreadable since it was ingested ({info.ingested_at})"
    if stored.file_hash and file_hash(data) != stored.file_hash:
        return (
            f"the file changed since it was ingested ({info.ingested_at}); shown as it was then: "
            f"run `ragbot ingest {source}` to update"
        )
    return ""


def open_citation(index: Index, source: str, start: int, end: int) -> OpenedCitation:
    """The quote `start`..`end` of `source` in its paragraph (see module docstring); InputError for
    offsets outside the stored text."""
    found, stored = stored_text(index, source)
    text = stored.text
    if not 0 <= start < end <= len(text):
        raise InputError(f"--start {start} --end {end} is not a span of {found}, whose text has {len(text)} characters")
    spans = paragraphs(text)
    first = next((s for s, e in spans if s <= start < e), start)
    last = next((e for s, e in spans if s < end <= e), end)
    info = index.catalog.document(found)
    if info is None:  # removed since `stored_text` found it
        raise InputError(f"{source} is not in the store (`ragbot sources` lists what is)")
    live = index.catalog.passages(list(index.catalog.live_ids(found))).values()
    holding = next((p for p in live if p.start <= start < p.end), None)
    context = (min(first, start), max(last, end))
    return OpenedCitation(found, text, start, end, *context, info, holding, changed_since(found, stored, info))
