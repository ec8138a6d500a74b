"""Find and read source documents (.txt, .md, .html) into `Document`s.

Offsets everywhere refer to `Document.text`: the file as read by `Path.read_text(encoding="utf-8")`
for .txt and .md, and the text extracted by `html_text()` for .html (BeautifulSoup, standard parser).
A document's source is its path relative to the root folder (retrieval/root.py). A file that cannot
be used becomes a `Skipped` with its reason (`load_or_skip`), so one bad file never stops a folder.
Does not fetch URLs, read PDFs, decode other encodings than UTF-8 or follow symlinked folders.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from retrieval.errors import InputError
from retrieval.root import source_id
from retrieval.schema import Document

log = logging.getLogger(__name__)

DOCUMENT_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm"}
# Files in a seeds folder that are not documents: the Q&A sets and their notes.
NOT_DOCUMENTS = {"README.md"}
NOT_DOCUMENT_SUFFIXES = {".jsonl", ".json"}


class SkipReason(StrEnum):
    """Why a file was not ingested; only UNSUPPORTED is expected (the others mean a file was lost)."""

    UNSUPPORTED = "not a .txt, .md or .html file"
    NOT_UTF8 = "not UTF-8 text"
    BINARY = "a binary file, not text"
    UNREADABLE = "cannot be read"


@dataclass(frozen=True)
class Skipped:
    """A file left out of an ingest: its path as found, the reason and the detail (the decoder's or OS's words)."""

    path: Path
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


def _read(path: Path) -> str:
    """The file's text as read (UTF-8); UnicodeDecodeError, OSError, or ValueError for NUL bytes."""
    raw = path.read_text(encoding="utf-8")
    if "\x00" in raw:
        raise ValueError("it holds NUL bytes")
    return raw


def html_text(markup: str) -> str:
    """Visible text of an HTML page, one block per line (scripts and styles removed)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line)


def read_text(path: Path) -> str:
    """The text offsets refer to (see module docstring)."""
    try:
        raw = _read(path)
    except (UnicodeDecodeError, OSError, ValueError) as exc:
        raise InputError(str(_skipped(path, exc))) from None
    return html_text(raw) if path.suffix.lower() in {".html", ".htm"} else raw


def _skipped(path: Path, exc: Exception) -> Skipped:
    if isinstance(exc, UnicodeDecodeError):
        return Skipped(path, SkipReason.NOT_UTF8, f"{exc.reason} at byte {exc.start}")
    if isinstance(exc, OSError):
        return Skipped(path, SkipReason.UNREADABLE, exc.strerror or str(exc))
    return Skipped(path, SkipReason.BINARY, str(exc))


def _title(path: Path, text: str) -> str:
    if path.suffix.lower() in {".html", ".htm"}:
        from bs4 import BeautifulSoup

        node = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser").title
        if node and node.get_text(strip=True):
            return node.get_text(strip=True)
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:200]
    return path.stem


def load_document(path: Path, root: Path | None = None) -> Document:
    """One file as a Document (source relative to `root`, title, text); InputError when it cannot be read."""
    loaded = load_or_skip(path, root)
    if isinstance(loaded, Skipped):
        raise InputError(str(loaded))
    return loaded


def load_or_skip(path: Path, root: Path | None = None) -> Document | Skipped:
    """One file as a Document, or a Skipped saying why it could not be read (not UTF-8, binary, unreadable)."""
    try:
        text = _read(path)
    except (UnicodeDecodeError, OSError, ValueError) as exc:
        return _skipped(path, exc)
    if path.suffix.lower() in {".html", ".htm"}:
        text = html_text(text)
    return Document(source=display_path(path, root), title=_title(path, text), text=text)

