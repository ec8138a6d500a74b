"""Find and read source documents (.txt, .md, .html) into `Document`s.

Offsets everywhere refer to `Document.text`: the file as read by `Path.read_text(encoding="utf-8")`
for .txt and .md, and the text extracted by `html_text()` for .html (BeautifulSoup, standard parser).
Does not fetch URLs, read PDFs or follow symlinked folders.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from retrieval.errors import InputError
from retrieval.schema import Document

log = logging.getLogger(__name__)

DOCUMENT_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm"}
# Files in a seeds folder that are not documents: the Q&A sets and their notes.
NOT_DOCUMENTS = {"README.md"}
NOT_DOCUMENT_SUFFIXES = {".jsonl", ".json"}


def display_path(path: Path) -> str:
    """The path as ingested: relative to the working directory when under it, POSIX separators."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


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
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    return html_text(raw) if path.suffix.lower() in {".html", ".htm"} else raw


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


def load_document(path: Path) -> Document:
    """One file as a Document (source as displayed, title, text); InputError when it cannot be read."""
    text = read_text(path)
    return Document(source=display_path(path), title=_title(path, text), text=text)
