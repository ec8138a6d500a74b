"""From a file's bytes to the text offsets refer to: decoding, and Markdown and HTML extraction.

- `decode(data)`: UTF-8 first (the file as it is, a BOM kept as U+FEFF, as `read_text` did); a
  UTF-16/32 file with a BOM; otherwise charset-normalizer's guess, preferring cp1252 when that
  decodes the bytes as well as the guess does (short Latin-1 news copy is otherwise read as
  Baltic or Czech code pages). Bytes that are not text (NUL bytes, no plausible encoding) raise
  `NotText`.
- `markdown_text(source)`: Markdown rendered to plain text with markdown-it-py: one block per
  paragraph, list item, quote or code block, blank-line separated (the items of a tight list one per
  line); emphasis, link targets, bullets and `#` marks are dropped; headings are left out of the text
  and returned as sections (offset, heading) so passages can carry them as titles; raw HTML blocks are
  dropped. YAML front matter (`---` ... `---` at the top) is left out of the text; its `title` and
  `date` (or `published`) are the document's. Each block keeps the line of the file it starts on
  (`Extracted.lines`, front matter counted), so a person can find a quote in the file.
- `html_text(markup)`: the main text of a page with trafilatura (menus, cookie banners, footers,
  scripts dropped), one paragraph, list item or table row per line; headings are left out of the text
  and returned as sections, as for Markdown; the publication date from trafilatura's metadata when
  the page states it (meta tags, JSON-LD; never guessed from the text, so a footer's "© 2026" is
  not a date). BeautifulSoup's visible text (headings included) when trafilatura finds nothing.
- `join_blocks`: blocks of text into one text, with where each block starts (also used for PDF and
  Word files, retrieval/documents/office.py).

Libraries are imported when a file of their kind is read, never at import time. Does not read PDF or
Word files (office.py does); does not keep HTML source lines (the page's markup is not what people
read).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

# Bumped when what an extraction produces changes: the document hash includes it, so re-ingesting
# an unchanged file whose extraction changed updates its passages.
EXTRACTION_VERSION = 4

_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class NotText(ValueError):
    """The bytes are not text: `binary` when they hold NUL bytes, else no encoding fits; the message says why."""

    def __init__(self, message: str, *, binary: bool = False) -> None:
        super().__init__(message)
        self.binary = binary


@dataclass(frozen=True)
class Extracted:
    """Extracted text, the title found in it (or ""), and the sections: (offset in text, heading)."""

    text: str
    title: str = ""
    sections: tuple[tuple[int, str], ...] = field(default=())
    date: str = ""  # publication date, ISO "YYYY-MM-DD" when it could be read, else as found, or ""
    pages: tuple[int, ...] = ()  # PDF: where each page's text starts
    lines: tuple[tuple[int, int], ...] = ()  # Markdown: (offset of a block, its 1-based line in the file)
    numbers: tuple[tuple[int, int], ...] = ()  # .docx: (offset of a block, its paragraph number in the file)


def decode(data: bytes) -> str:
    """The bytes as text (see module docstring); NotText when they are not text."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    else:
        if "\x00" in text:
            raise NotText("it holds NUL bytes", binary=True)
        return text
    if data.startswith(_BOMS):
        encoding = "utf-32" if data.startswith(_BOMS[:2]) else "utf-16"
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise NotText(f"not valid {encoding.upper()}: {exc.reason} at byte {exc.start}") from None
    else:
        if b"\x00" in data:
            raise NotText("it holds NUL bytes", binary=True)
        text = _guess(data)
    if "\x00" in text:
        raise NotText("it holds NUL bytes", binary=True)
    return text


def _guess(data: bytes) -> str:
    from charset_normalizer import from_bytes

    results = from_bytes(data)
    best = results.best()
    if best is None:
        raise NotText("not UTF-8, and no other text encoding fits")
    for match in results:
        if match.chaos <= best.chaos and "cp1252" in match.could_be_from_charset:
            try:
                return data.decode("cp1252")
            except UnicodeDecodeError:
                break
    return str(best)


def markdown_text(source: str) -> Extracted:
    """Markdown as plain text, its first heading as title and its headings as sections (see module docstring)."""
    from markdown_it import MarkdownIt

    meta, body, skipped_lines = front_matter(source)
    tokens = MarkdownIt("commonmark").enable("table").parse(body)
    blocks: list[tuple[str, bool]] = []  # (text, continues the previous block on the next line)
    lines: list[int] = []  # the 1-based source line of each block
    sections: list[tuple[int, str]] = []
    headings: list[str] = []
    joined = False  # the last block was a tight-list item or a table row: the next such one follows on its line
    tight = heading = False
    row: list[str] | None = None
    row_line = 0
    for token in tokens:
        kind = token.type
        if kind == "paragraph_open":
            tight = token.hidden  # markdown-it hides the paragraphs of a tight list's items
        elif kind == "heading_open":
            heading, joined = True, False
        elif kind == "heading_close":
            heading = False
        elif kind == "tr_open":
            row = []
            row_line = _line(token, skipped_lines)
        elif kind == "tr_close" and row is not None:
            cells = " | ".join(c for c in row if c)
            if cells:
                blocks.append((cells, joined))
                lines.append(row_line)
                joined = True
            row = None
        elif kind in ("table_open", "table_close", "bullet_list_open", "ordered_list_open") and token.level == 0:
            joined = False
        elif kind == "inline":
            text = _inline_text(token.children or [])
            if heading:
                if text:
                    headings.append(text)
                    sections.append((len(blocks), text))
            elif row is not None:
                row.append(text)
            elif text:
                blocks.append((text, joined and tight))
                lines.append(_line(token, skipped_lines))
                joined = tight
        elif kind in ("fence", "code_block") and token.content.strip():
            blocks.append((token.content.strip("\n"), False))
            lines.append(_line(token, skipped_lines) + (kind == "fence"))  # a fence's text starts below its ```
            joined = False
    title = str(meta.get("title") or "").strip() or (headings[0] if headings else "")
    joined_text = join_blocks(blocks, sections, title)
    return replace(
        joined_text,
        date=iso_date(meta.get("date") or meta.get("published") or ""),
        lines=tuple(zip(joined_text.starts, lines, strict=True)),
    )


def _line(token: Any, skipped: int) -> int:
    """The 1-based line of the file where a block token starts (markdown-it's map is 0-based, of the body)."""
    return (token.map[0] if token.map else 0) + 1 + skipped


FRONT_MATTER = re.compile(r"\A(?:\ufeff)?---[ \t]*\r?\n(.*?\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def front_matter(source: str) -> tuple[dict[str, Any], str, int]:
    """A Markdown file's YAML front matter (a mapping, or {} when it is not one), the body after it,
    and how many lines the front matter took."""
    match = FRONT_MATTER.match(source)
    if not match:
        return {}, source, 0
    import yaml

    try:
        meta = yaml.safe_load(match.group(1) or "")
    except yaml.YAMLError:
        meta = None
    return (meta if isinstance(meta, dict) else {}), source[match.end() :], match.group(0).count("\n")


def iso_date(value: Any) -> str:
    """A date as "YYYY-MM-DD" when it is one (a date, a datetime, an ISO string), else the text as found."""
    if isinstance(value, date):
        return value.isoformat()[:10]
    text = str(value or "").strip()
    match = re.match(r"(\d{4}-\d{2}-\d{2})(?:$|[T ])", text)
    return match.group(1) if match else text[:40]


@dataclass(frozen=True)
class Joined(Extracted):
    """Extracted text with where each block starts."""

    starts: tuple[int, ...] = ()


def join_blocks(blocks: list[tuple[str, bool]], sections: list[tuple[int, str]], title: str) -> Joined:
    """The blocks as one text (a block that continues the previous one on the next line, else after a
    blank line), the sections' block numbers turned into offsets."""
    text = ""
    starts: list[int] = []
    for i, (block, continues) in enumerate(blocks):
        if i:
            text += "\n" if continues else "\n\n"
        starts.append(len(text))
        text += block
    located = tuple((starts[i] if i < len(starts) else len(text), h) for i, h in sections)
    return Joined(text, title, located, starts=tuple(starts))


def _inline_text(children: list[Any]) -> str:
    parts: list[str] = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "image":
            parts.append(child.content)  # the alt text
    return re.sub(r"[ \t]+", " ", "".join(parts)).strip()


def html_text(markup: str) -> Extracted:
    """The page's main text, one block per line, its <title>, and its headings as sections (see module docstring)."""
    import trafilatura
    from lxml import etree

    xml = trafilatura.extract(
        markup,
        output_format="xml",
        include_comments=False,
        include_tables=True,
        with_metadata=True,
        # a date the page states (meta tags, structured data), never one guessed from its text ("© 2026")
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    doc = etree.fromstring(xml.encode("utf-8")) if xml else None
    main = doc.find("main") if doc is not None else None
    published = iso_date(doc.get("date", "")) if doc is not None else ""
    blocks: list[tuple[str, bool]] = []
    sections: list[tuple[int, str]] = []
    for element in main if main is not None else ():
        if element.tag == "head":
            sections.append((len(blocks), _plain(element)))
        elif element.tag == "list":
            blocks.extend((_plain(item), True) for item in element.iterchildren("item"))
        elif element.tag == "table":
            rows = (" | ".join(_plain(cell) for cell in row.iterchildren("cell")) for row in element.iter("row"))
            blocks.extend((row, True) for row in rows)
        else:
            blocks.append((_plain(element), True))
    blocks = [(text, True) for text, _ in blocks if text]
    if not blocks:
        return Extracted(visible_text(markup), _html_title(markup), date=published)
    joined = join_blocks(blocks, [(at, h) for at, h in sections if h], _html_title(markup))
    return Extracted(joined.text, joined.title, joined.sections, date=published)


def _plain(element: Any) -> str:
    return re.sub(r"\s+", " ", "".join(str(t) for t in element.itertext())).strip()


def visible_text(markup: str) -> str:
    """Every visible text of a page, one block per line (scripts and styles removed): the fallback."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line)


def _html_title(markup: str) -> str:
    from bs4 import BeautifulSoup

    node = BeautifulSoup(markup, "html.parser").title
    return node.get_text(strip=True) if node else ""
