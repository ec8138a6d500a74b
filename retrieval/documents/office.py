"""PDF (pypdf) and Word .docx (python-docx) files to the text offsets refer to.

- `pdf_text(data)`: each page's text layer (pypdf's plain mode, which keeps columns apart), its
  wrapped lines joined back into paragraphs: a line ends its paragraph when pypdf's layout mode shows
  a vertical gap after it, or when it ends a sentence well short of the page's longest line; paragraphs
  blank-line separated and pages too, so no passage spans two pages; `Extracted.pages` holds where
  each page starts. The title and creation date come from the PDF's metadata. A PDF without a text
  layer (a scan) raises `NoTextLayer`; one pypdf cannot read raises `NotText`.
- `docx_text(data)`: the body's paragraphs and table rows, one block each, blank-line separated;
  paragraphs in a Heading style (or Title) are left out of the text and returned as sections, as for
  Markdown; `Extracted.numbers` holds each block's paragraph number in the file (1-based, counting
  the non-empty paragraphs, headings included). The title comes from the core properties (else the
  first heading); no date is taken (Word's creation date is often the template's, not publication).

Libraries are imported when a file of their kind is read. Does not read scanned pages (no OCR),
text in PDF annotations or form fields, or Word headers, footers, footnotes and comments.
"""

from __future__ import annotations

import io
import re
from collections.abc import Collection
from typing import Any

from retrieval.documents.extract import Extracted, NotText, iso_date, join_blocks

SENTENCE_END = re.compile(r"[.!?:;\"'”’)\]]$")
SHORT_LINE = 0.85  # a line this much shorter than the page's longest one may end a paragraph


class NoTextLayer(NotText):
    """A PDF whose pages hold no text (a scan or images only)."""


def _collapse(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip()


def _paragraph_ends(layout: str) -> set[str]:
    """The lines that a vertical gap follows in pypdf's layout text (a blank line there): paragraph ends."""
    lines = layout.splitlines()
    return {_collapse(a) for a, b in zip(lines, lines[1:], strict=False) if a.strip() and not b.strip()}


def _paragraphs(page: str, ends: Collection[str] = ()) -> list[str]:
    """A page's lines joined into paragraphs (see module docstring); a line in `ends` ends one."""
    lines = [_collapse(line) for line in page.splitlines()]
    widest = max((len(line) for line in lines), default=0)
    paragraphs: list[str] = []
    current = ""
    for line in lines:
        if not line:
            if current:
                paragraphs.append(current)
            current = ""
            continue
        if not current:
            current = line
        elif current.endswith("-") and line[:1].islower():
            current += line  # a word broken at the line's end: its hyphen kept
        else:
            current += " " + line
        if line in ends or (SENTENCE_END.search(line) and len(line) < SHORT_LINE * widest):
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return paragraphs


def pdf_text(data: bytes) -> Extracted:
    """A PDF's text layer by page, its metadata title and date (see module docstring)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise NotText("an encrypted PDF (it needs a password)")
        pages = [(page.extract_text() or "", _layout(page)) for page in reader.pages]
        meta = reader.metadata
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise NotText(f"pypdf cannot read it: {exc}") from None
    blocks: list[tuple[str, bool]] = []
    first: list[int] = []  # each page's first block
    for page, layout in pages:
        first.append(len(blocks))
        blocks += [(paragraph, False) for paragraph in _paragraphs(page, _paragraph_ends(layout))]
    joined = join_blocks(blocks, [], "")
    if not joined.text.strip():
        raise NoTextLayer(f"{len(pages)} page(s), none with text (a scan?); ragbot does not read images")
    starts = tuple(joined.starts[i] if i < len(blocks) else len(joined.text) for i in first)
    title = str(meta.title or "").strip() if meta else ""
    return Extracted(joined.text, title[:200], date=_pdf_date(meta), pages=starts)


def _layout(page: Any) -> str:
    """The page in pypdf's layout mode (vertical gaps kept as blank lines), or "" when that mode fails."""
    try:
        return str(page.extract_text(extraction_mode="layout") or "")
    except Exception:  # noqa: BLE001 - layout mode is a hint only; the plain text is what is kept
        return ""


def _pdf_date(meta: Any) -> str:
    try:
        return iso_date(meta.creation_date) if meta else ""
    except (ValueError, TypeError):  # a malformed /CreationDate
        return ""


def docx_text(data: bytes) -> Extracted:
    """A Word file's paragraphs and table rows, headings as sections, paragraph numbers (see module docstring)."""
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise NotText(f"not a Word .docx file python-docx can read: {exc}") from None
    blocks: list[tuple[str, int]] = []  # (text, paragraph number)
    sections: list[tuple[int, str]] = []  # (block index, heading)
    number = 0
    for item in document.iter_inner_content():
        if hasattr(item, "rows"):  # a table: one block per row
            for row in item.rows:
                cells = " | ".join(dict.fromkeys(c.text.strip() for c in row.cells if c.text.strip()))
                if cells:
                    number += 1
                    blocks.append((cells, number))
            continue
        text = re.sub(r"[ \t]+", " ", item.text).strip()
        if not text:
            continue
        number += 1
        style = (item.style.name if item.style is not None else "") or ""
        if style.startswith("Heading") or style == "Title":
            sections.append((len(blocks), text))
        else:
            blocks.append((text, number))
    joined = join_blocks([(block, False) for block, _ in blocks], sections, "")
    if not joined.text:
        raise NotText("a Word file with no text")
    props = document.core_properties
    title = (props.title or "").strip() or (sections[0][1] if sections else "")
    numbers = tuple(zip(joined.starts, (n for _, n in blocks), strict=True))
    return Extracted(joined.text, title[:200], joined.sections, numbers=numbers)
