"""Split documents into passages a citation can point at: a sentence or two, with offsets.

Paragraphs are blank-line-separated blocks, or lines when a document has no blank line (plain news
copy puts one paragraph per line). A paragraph longer than `CHUNK_CHARS` is split by LangChain's
`RecursiveCharacterTextSplitter` at sentence, then clause, then word boundaries; each passage keeps
its paragraph number and exact offsets into the document text. No overlap: passages tile the text.
A passage under a heading (`Document.sections`, from .md, .html and .docx) is titled "document title: heading"
(the document title alone when it already holds the heading). Each passage also carries its PDF
page (`Document.pages`), its Markdown source line (`Document.lines`), its .docx paragraph number
(`Document.numbers`, in place of the count of paragraphs in the text) and the document's date.
"""

from __future__ import annotations

import hashlib
import re
import sys
from bisect import bisect_right
from functools import lru_cache
from typing import TYPE_CHECKING

from retrieval.schema import Document, Passage

if TYPE_CHECKING:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

CHUNK_CHARS = 360  # ~80 MiniLM tokens: well under its 256-token window, one or two sentences


@lru_cache(maxsize=1)
def _splitter() -> RecursiveCharacterTextSplitter:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        chunk_size=CHUNK_CHARS,
        chunk_overlap=0,
        separators=["\n", ". ", "? ", "! ", "; ", ", ", " ", ""],
        keep_separator="end",
        strip_whitespace=True,
    )


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-empty paragraph, whitespace trimmed."""
    blank_line = re.search(r"\n[ \t]*\n", text)
    pattern = r"(?:[^\n]|\n(?![ \t]*\n))+" if blank_line else r"[^\n]+"
    spans = []
    for m in re.finditer(pattern, text):
        s, e = m.start(), m.end()
        piece = text[s:e]
        s += len(piece) - len(piece.lstrip())
        e -= len(piece) - len(piece.rstrip())
        if e > s:
            spans.append((s, e))
    return spans


def passage_id(source: str, start: int, end: int, text: str) -> str:
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]
    return f"{source}#{start}-{end}#{digest}"


def section_title(doc: Document, offset: int) -> str:
    """The title of the passage starting at `offset`: the document's, with the heading above it if any."""
    heading = ""
    for start, text in doc.sections:
        if start > offset:
            break
        heading = text
    return f"{doc.title}: {heading}" if heading and heading not in doc.title else doc.title


def _at(marks: tuple[tuple[int, int], ...], offset: int) -> int | None:
    """The number of the last mark at or before `offset` ((offset, number) pairs in order), or None."""
    found = bisect_right(marks, (offset, sys.maxsize)) - 1
    return marks[found][1] if found >= 0 else None


def split(doc: Document) -> list[Passage]:
    passages: list[Passage] = []
    for number, (p_start, p_end) in enumerate(paragraphs(doc.text), start=1):
        title = section_title(doc, p_start)
        para = doc.text[p_start:p_end]
        pieces = [para] if len(para) <= CHUNK_CHARS else _splitter().split_text(para)
        page = (bisect_right(doc.pages, p_start) or None) if doc.pages else None
        line = _at(doc.lines, p_start)
        cursor = 0
        for piece in pieces:
            offset = para.find(piece, cursor)
            if offset < 0:  # the splitter never rewrites text; guard anyway
                continue
            cursor = offset + len(piece)
            start, end = p_start + offset, p_start + offset + len(piece)
            # extracted kinds: the title, page, line and date are hashed too, so a change to any replaces the passage
            hashed = f"{title}\n{page}\n{line}\n{doc.date}\n{piece}" if doc.extraction else piece
            passages.append(
                Passage(
                    id=passage_id(doc.source, start, end, hashed),
                    source=doc.source,
                    title=title,
                    paragraph=_at(doc.numbers, p_start) or number,
                    start=start,
                    end=end,
                    text=piece,
                    page=page,
                    line=line,
                    date=doc.date,
                )
            )
    return passages
