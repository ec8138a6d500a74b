"""The Sources message: every cited passage of a posted answer in full, in messages of 2,000 characters.

Pure, like embeds.py (whose escaping and packing into messages it uses): builds strings from a stored answer
(feedback.py), sends nothing. The cited words are bold inside their passage; text from documents
and users is shown with its markdown escaped and its mentions defused. buttons.py sends it.
"""

from __future__ import annotations

from .embeds import escape_text, file_name, pack, shorten
from .feedback import SourceRow, StoredAnswer


def _passage_markdown(row: SourceRow) -> str:
    """The passage in full, escaped, with the cited words in bold when the offsets point at them."""
    a, b = row.start - row.passage_start, row.end - row.passage_start
    if row.n and 0 <= a < b <= len(row.passage) and row.passage[a:b] == row.quote and (a, b) != (0, len(row.passage)):
        text = f"{escape_text(row.passage[:a])}**{escape_text(row.quote)}**{escape_text(row.passage[b:])}"
    else:
        text = escape_text(row.passage)
    return "\n".join(f"> {line}" for line in text.splitlines() or [""])


def _source_heading(row: SourceRow) -> str:
    label = f"**[{row.n}]**" if row.n else "**Closest passage** (not a citation)"
    about = ", ".join(part for part in (row.title, row.date) if part)
    title = f" {escape_text(about)} ·" if about else ""
    where = f"`{file_name(row.source)}`" + (
        f" p. {row.page}" if row.page else f" ¶{row.paragraph}" if row.paragraph else ""
    )
    return f"{label}{title} {where} · chars {row.start}-{row.end} · score {row.score:.2f}"


def sources_messages(record: StoredAnswer) -> list[str]:
    """Every cited passage in full (or the closest passage of an unanswered question), as messages
    of at most 2,000 characters; a passage is never split unless it alone is too long."""
    intro = f"Sources for “{escape_text(shorten(record.question, 300))}”"
    if not record.sources:
        return [f"{intro}: none. The documents had nothing close to this question."]
    if not record.answerable:
        intro += ": the documents do not answer it; this is the nearest they come."
    blocks = [intro] + [f"{_source_heading(r)}\n{_passage_markdown(r)}" for r in record.sources]
    return pack(blocks)
