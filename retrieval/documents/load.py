"""Find and read source documents (.txt, .md, .html, .pdf, .docx) into `Document`s.

Offsets everywhere refer to `Document.text`, which `read_text(path)` gives back for a citation: the
decoded file for .txt (the file itself when it is UTF-8; other encodings detected), the plain text
rendered from .md, the main text extracted from .html (retrieval/documents/extract.py does the
decoding and extraction), and the text of a .pdf or .docx (retrieval/documents/office.py). Ingest
stores that text in the catalog too, which `ragbot show` reads (retrieval/documents/stored_text.py).
A document's source is its path relative to the root folder (retrieval/root.py); `file_hash` is
its bytes' hash, so a changed file can be told apart. A file that cannot be used becomes a
`Skipped` with its reason (`load_or_skip`), so one bad file never stops a folder. Does not fetch
URLs (fetch.py does) or follow symlinked folders.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from retrieval.documents.extract import EXTRACTION_VERSION, Extracted, NotText, decode, html_text, markdown_text
from retrieval.errors import InputError
from retrieval.root import source_id
from retrieval.schema import Document

log = logging.getLogger(__name__)

DOCUMENT_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"}
# Files in a seeds folder that are not documents: the Q&A sets and their notes.
NOT_DOCUMENTS = {"README.md"}
NOT_DOCUMENT_SUFFIXES = {".jsonl", ".json"}


class SkipReason(StrEnum):
    """Why a file was not ingested; only UNSUPPORTED is expected (the others mean a file was lost)."""

    UNSUPPORTED = "not a .txt, .md, .html, .pdf or .docx file"
    NOT_TEXT = "not text in an encoding ragbot can detect"
    BINARY = "a binary file, not text"
    NO_TEXT_LAYER = "a PDF with no text layer"
    NOT_A_DOCUMENT = "not a PDF or Word file ragbot can read"
    UNREADABLE = "cannot be read"
    NOT_FETCHED = "could not be fetched"


@dataclass(frozen=True)
class Skipped:
    """A file left out of an ingest: its path as found, the reason and the detail (the decoder's or OS's words)."""

    path: Path | str  # a file, or a URL
    reason: SkipReason
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" + (f" ({self.detail})" if self.detail else "")


def display_path(path: Path, root: Path | None = None) -> str:
    """The path as ingested: relative to the root folder (default: found from the working directory)
    when under it, else absolute; POSIX separators."""
    return source_id(path, root)


def find_files(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """Expand files and folders into (documents, skipped). A missing path raises InputError."""
    found: list[Path] = []
    skipped: list[Path] = []
    for path in paths:
        if not path.exists():
            raise InputError(f"no such file or folder: {path}")
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in candidates:
            if any(part.startswith(".") for part in file.relative_to(path).parts) if path.is_dir() else False:
                continue
            if file.suffix.lower() in DOCUMENT_SUFFIXES and not (path.is_dir() and file.name in NOT_DOCUMENTS):
                found.append(file)
            elif file.suffix.lower() in NOT_DOCUMENT_SUFFIXES and path.is_dir():
                continue  # Q&A sets live beside the documents; they are not documents
            else:
                skipped.append(file)
    return found, skipped


MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
OFFICE_SUFFIXES = {".pdf", ".docx"}
EXTRACTED_SUFFIXES = MARKDOWN_SUFFIXES | HTML_SUFFIXES | OFFICE_SUFFIXES


def _extract(path: Path, data: bytes | None = None) -> Extracted:
    """The file (or its bytes `data`) decoded and, for .md and .html, extracted (.pdf and .docx read by
    office.py); NotText or OSError when it cannot be."""
    suffix = path.suffix.lower()
    data = path.read_bytes() if data is None else data
    if suffix in OFFICE_SUFFIXES:
        from retrieval.documents.office import docx_text, pdf_text

        return pdf_text(data) if suffix == ".pdf" else docx_text(data)
    text = decode(data)
    if suffix in MARKDOWN_SUFFIXES:
        return markdown_text(text)
    if suffix in HTML_SUFFIXES:
        return html_text(text)
    return Extracted(text)


def read_text(path: Path) -> str:
    """The text offsets refer to (see module docstring): what ingest stored for this file. InputError
    when the file cannot be read or decoded."""
    try:
        return _extract(path).text
    except (NotText, OSError) as exc:
        raise InputError(str(_skipped(path, exc))) from None


def _skipped(path: Path, exc: Exception) -> Skipped:
    if isinstance(exc, NotText):
        if type(exc).__name__ == "NoTextLayer":
            return Skipped(path, SkipReason.NO_TEXT_LAYER, str(exc))
        if path.suffix.lower() in OFFICE_SUFFIXES:
            return Skipped(path, SkipReason.NOT_A_DOCUMENT, str(exc))
        return Skipped(path, SkipReason.BINARY if exc.binary else SkipReason.NOT_TEXT, str(exc))
    if isinstance(exc, OSError):
        return Skipped(path, SkipReason.UNREADABLE, exc.strerror or str(exc))
    return Skipped(path, SkipReason.BINARY, str(exc))


def _title(fallback: str, extracted: Extracted) -> str:
    if extracted.title:
        return extracted.title[:200]
    for line in extracted.text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:200]
    return fallback


def load_document(path: Path, root: Path | None = None) -> Document:
    """One file as a Document (source relative to `root`, title, text); InputError when it cannot be read."""
    loaded = load_or_skip(path, root)
    if isinstance(loaded, Skipped):
        raise InputError(str(loaded))
    return loaded


def load_or_skip(path: Path, root: Path | None = None) -> Document | Skipped:
    """One file as a Document, or a Skipped saying why it could not be read (no encoding fits, binary, unreadable)."""
    try:
        data = path.read_bytes()
        extracted = _extract(path, data)
    except (NotText, OSError) as exc:
        return _skipped(path, exc)
    kind = path.suffix.lower()
    extraction = f"{kind}/{EXTRACTION_VERSION}" if kind in EXTRACTED_SUFFIXES else ""
    document = as_document(display_path(path, root), extracted, extraction, path.stem)
    return replace(document, file_hash=file_hash(data))


def file_hash(data: bytes) -> str:
    """What says whether a file changed since ingest: the SHA-1 of its bytes."""
    return hashlib.sha1(data).hexdigest()


def as_document(source: str, extracted: Extracted, extraction: str, fallback_title: str) -> Document:
    """The Document of extracted text recorded as `source` (a path or a URL)."""
    return Document(
        source=source,
        title=_title(fallback_title, extracted),
        text=extracted.text,
        sections=extracted.sections,
        extraction=extraction,
        date=extracted.date,
        pages=extracted.pages,
        lines=extracted.lines,
        numbers=extracted.numbers,
    )
