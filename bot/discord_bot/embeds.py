"""Discord renderings of answers: embeds within Discord's limits and messages split at 2,000 characters.

An answer's embed: the question as its title; the description opens with the short answer in bold
on its own line (when the answer has one), then the answer text with its `[n]` markers; a field
per cited quote (or the closest passage when refused) and any note; the footer says the confidence
as a word ("confidence: high", the core's `confidence_word` over the engine's thresholds, passed in),
then mode, model and time. The Sources message is sources.py's.

Without Embed Links the same content goes out as plain text (`plain_answer`, `draft_text`); `/help`
is plain text always (`help_text`, from rows a new command adds one of). Pure: builds
`discord.Embed` objects and strings, sends nothing. Limits honoured: 2,000 characters a
message, 256 a title or field name, 4,096 a description, 1,024 a field value, 25 fields, 2,048 a
footer, 6,000 an embed in total, 100 a thread name. Text is cut on sentence boundaries (a `[n]`
marker stays with its sentence), else on whitespace, else hard; text from documents, models and
users is shown with its markdown escaped and its mentions defused. Leaves out sending, permissions
and anything stateful (app.py, buttons.py and the cogs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Protocol

import discord

if TYPE_CHECKING:
    from retrieval import Answer

MESSAGE_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_LIMIT = 1024
FIELD_COUNT_LIMIT = 25
FOOTER_LIMIT = 2048
EMBED_LIMIT = 6000
THREAD_NAME_LIMIT = 100

SHORT_ANSWER_CHARS = 200  # the bold first line; a short answer is a phrase, this only bounds a stray one
QUOTE_CHARS = 300  # a quote shown under an answer; the Sources button shows passages in full
MAX_SOURCE_FIELDS = 10
ELLIPSIS = "…"
ANSWERED_COLOUR = discord.Colour(0x2E7D32)
UNANSWERED_COLOUR = discord.Colour(0xF9A825)

_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*(?:[ \t]*\[\d+\])*(?=\s)|\n")
_WHITESPACE = re.compile(r"\s")
_MENTION = re.compile(r"<@[!&]?\d+>|@everyone\b|@here\b")
_MENTION_START = re.compile(r"@(?=everyone|here)|<@(?=[!&]?\d)")


def no_mentions() -> discord.AllowedMentions:
    """What every message is sent with: nobody, no role and no @everyone can be pinged."""
    return discord.AllowedMentions.none()


# -- text -------------------------------------------------------------------------------------
def _cut(text: str, limit: int, *, sentences: bool = True) -> int:
    """Where to cut `text` so the head is at most `limit` characters: a sentence end, a space, or `limit`."""
    window = text[: limit + 1]  # whitespace right after the limit still makes a boundary
    if sentences:
        ends = [m.end() for m in _SENTENCE_END.finditer(window) if 0 < m.end() <= limit]
        if ends:
            return ends[-1]
    spaces = [m.start() for m in _WHITESPACE.finditer(window) if 0 < m.start() <= limit]
    if spaces:
        return spaces[-1]
    return limit


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split `text` into non-empty parts of at most `limit` characters, on sentence boundaries when possible."""
    if limit < 1:
        raise ValueError("limit must be positive")
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut(rest, limit)
        head, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if head:
            parts.append(head)
    if rest:
        parts.append(rest)
    return parts


def pack(blocks: Iterable[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join blocks with blank lines into as few messages as fit; a block too long alone is split."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        pieces = [block] if len(block) <= limit else split_message(block, limit)
        for piece in pieces:
            if current and len(current) + 2 + len(piece) <= limit:
                current = f"{current}\n\n{piece}"
            else:
                if current:
                    messages.append(current)
                current = piece
    if current:
        messages.append(current)
    return messages


def shorten(text: str, limit: int, *, sentences: bool = False) -> str:
    """`text` if it fits, else its head (cut at a sentence end or word) plus an ellipsis, within `limit`."""
    text = text.strip()
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return text[:limit]
    room = limit - len(ELLIPSIS)
    cut = _cut(text, room, sentences=sentences)
    if cut < room // 2:  # a boundary that far back loses too much: cut the word instead
        cut = room
    return text[:cut].rstrip() + ELLIPSIS


def defuse_mentions(text: str) -> str:
    """`text` that cannot ping even if sent without AllowedMentions: a zero-width space follows the `@` of
    @everyone, @here and user or role mentions (shown the same, parsed as plain text)."""
    return _MENTION_START.sub(lambda m: m.group(0) + "\u200b", text)


def strip_mentions(text: str) -> str:
    """Remove user, role, @everyone and @here mentions from a question, and the punctuation left dangling."""
    text = _MENTION.sub(" ", text)
    text = " ".join(text.split())
    return text.lstrip(",:;- ").strip()


def thread_name(question: str) -> str:
    """A thread title from a question (Discord allows 100 characters)."""
    return shorten(defuse_mentions(" ".join(question.split())), THREAD_NAME_LIMIT) or "Question"


def file_name(source: str) -> str:
    return defuse_mentions(PurePosixPath(source).name or source)


def escape_text(text: str) -> str:
    """Text from a document, a model or a user, shown as data: markdown escaped, mentions defused."""
    return defuse_mentions(discord.utils.escape_markdown(text))


# -- the answer embed -------------------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    """An answer as Discord content: the embed, then any text that did not fit in it, in order."""

    embed: discord.Embed
    overflow: tuple[str, ...] = ()


def _footer(answer: Answer, thresholds: tuple[float, float]) -> str:
    from retrieval import confidence_word  # the judge's module: loaded by the engine that made the answer

    word = confidence_word(answer.confidence, thresholds)
    parts = [f"confidence: {word}", answer.mode, shorten(defuse_mentions(answer.model or "no LLM"), 100)]
    total = answer.timings_ms.get("total")
    if total is not None:
        parts.append(f"{total:.0f} ms")
    if answer.dropped_citations:
        parts.append(f"{answer.dropped_citations} unverifiable citation(s) dropped")
    return shorten(" · ".join(parts), FOOTER_LIMIT)


def _titles(answer: Answer) -> dict[str, tuple[str, int]]:
    return {h.passage.id: (h.passage.title, h.passage.paragraph) for h in answer.retrieved}


def _closest_paragraph(answer: Answer) -> int | None:
    span = answer.closest
    for h in answer.retrieved:
        if span and h.passage.source == span.source and h.passage.start == span.start:
            return h.passage.paragraph
    return None


def _lead(answer: Answer) -> str:
    """The description's first line: the short answer in bold; "" without one (refusals, LLM answers)."""
    words = " ".join(answer.short_answer.text.split()) if answer.short_answer and answer.answerable else ""
    return f"**{escape_text(shorten(words, SHORT_ANSWER_CHARS))}**\n" if words else ""


def _build(answer: Answer, description: str, quote_chars: int, footer: str) -> discord.Embed:
    embed = discord.Embed(
        title=shorten(defuse_mentions(answer.question), TITLE_LIMIT) or None,
        description=description,
        colour=ANSWERED_COLOUR if answer.answerable else UNANSWERED_COLOUR,
    )
    titles = _titles(answer)
    shown = answer.citations[:MAX_SOURCE_FIELDS]
    for c in shown:
        title, _ = titles.get(c.passage_id, ("", 0))
        title = ", ".join(part for part in (title, c.date) if part)  # with the publication date, when known
        where = file_name(c.source) + (f" p. {c.page}" if c.page else f" ¶{c.paragraph}" if c.paragraph else "")
        name = f"[{c.n}] {shorten(escape_text(title), 80)} · {where}" if title else f"[{c.n}] {where}"
        value = f"“{shorten(escape_text(c.quote), min(quote_chars, FIELD_LIMIT - 2))}”"
        embed.add_field(name=shorten(name, FIELD_NAME_LIMIT), value=value, inline=False)
    hidden = len(answer.citations) - len(shown)
    if hidden > 0:
        embed.add_field(name="More sources", value=f"{hidden} more: press Sources to see them all.", inline=False)
    if not answer.answerable and answer.closest:
        span = answer.closest
        paragraph = _closest_paragraph(answer)
        where = f"{file_name(span.source)} ¶{paragraph}" if paragraph else file_name(span.source)
        name = f"Closest passage (not an answer) · {where} · score {span.score:.2f}"
        value = f"“{shorten(escape_text(span.quote), min(quote_chars, FIELD_LIMIT - 2))}”"
        embed.add_field(name=shorten(name, FIELD_NAME_LIMIT), value=value, inline=False)
    if answer.note and answer.note.strip():  # Discord rejects a field with an empty value
        embed.add_field(name="Note", value=shorten(escape_text(answer.note), FIELD_LIMIT), inline=False)
    embed.set_footer(text=footer)
    return embed


def answer_reply(answer: Answer, thresholds: tuple[float, float]) -> Reply:
    """The embed for an answer: the short answer in bold, then the text with [n] markers; numbered
    quotes, the closest passage when unanswerable, and a footer with the confidence as a word over
    `thresholds` (refusal, confident: `Engine.thresholds`), mode, model and latency. Text that does not
    fit follows as messages; the bold first line always stays in the embed."""
    lead, footer = _lead(answer), _footer(answer, thresholds)
    text = escape_text(answer.answer.strip()) or ELLIPSIS
    head, overflow = _head(text, DESCRIPTION_LIMIT - len(lead))
    for quote_chars in (QUOTE_CHARS, 200, 120, 60):
        embed = _build(answer, lead + head, quote_chars, footer)
        if len(embed) <= EMBED_LIMIT:
            return Reply(embed, tuple(overflow))
    # still too long (a very long answer beside many sources): the description gets what is left
    room = len(head)
    while len(embed) > EMBED_LIMIT and room > 0:
        room -= len(embed) - EMBED_LIMIT
        head, overflow = _head(text, max(room, 40))
        embed = _build(answer, lead + head, 60, footer)
    return Reply(embed, tuple(overflow))


def answer_of_description(description: str) -> str:
    """The answer text an answer embed's description shows, without its bold short-answer first line
    (the answer's own asterisks are escaped, so a description opening with "**" opens with that line)."""
    first, newline, rest = description.partition("\n")
    return rest if newline and first.startswith("**") and first.endswith("**") and len(first) > 4 else description


def draft_embed(question: str, text: str) -> discord.Embed:
    """An answer while the LLM is still writing it: unverified text, no sources yet."""
    return discord.Embed(
        title=shorten(defuse_mentions(question), TITLE_LIMIT) or None,
        description=shorten(escape_text(text), DESCRIPTION_LIMIT - 2) + " ▌",
        colour=discord.Colour.light_grey(),
    ).set_footer(text="writing… citations are checked when the answer is complete")


# -- plain text, for channels without Embed Links ----------------------------------------------
def plain_answer(answer: Answer, thresholds: tuple[float, float]) -> list[str]:
    """The answer embed's content as plain messages of at most 2,000 characters: the question in bold,
    the short answer and answer text, each quote or closest passage, then the footer as small text."""
    embed = answer_reply(answer, thresholds).embed
    text = escape_text(answer.answer.strip()) or ELLIPSIS
    blocks = [f"**{escape_text(shorten(answer.question, TITLE_LIMIT))}**\n{_lead(answer)}{text}"]
    blocks += [f"**{field.name}**\n{field.value}" for field in embed.fields]
    blocks.append(f"-# {embed.footer.text}")
    return pack(blocks)


def draft_text(question: str, text: str) -> str:
    """A draft (see draft_embed) as one plain message."""
    head = f"**{escape_text(shorten(question, TITLE_LIMIT))}**\n"
    tail = " ▌\n-# writing… citations are checked when the answer is complete"
    return head + shorten(escape_text(text), MESSAGE_LIMIT - len(head) - len(tail)) + tail


def _head(text: str, limit: int) -> tuple[str, list[str]]:
    if len(text) <= limit:
        return text, []
    note = f" {ELLIPSIS} (continued below)"
    cut = _cut(text, limit - len(note))
    return text[:cut].rstrip() + note, split_message(text[cut:])


# -- /about -----------------------------------------------------------------------------------
class DocumentLike(Protocol):
    """What /about lists of a document (retrieval's DocumentSummary)."""

    @property
    def source(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def passages(self) -> int: ...


def about_embed(
    documents: Sequence[DocumentLike], passages: int, embedding_model: str, llm_model: str
) -> discord.Embed:
    """What the bot answers from: the documents, the passage count and the two models."""
    embed = discord.Embed(title="About this bot", colour=ANSWERED_COLOUR)
    embed.description = (
        "Ask with `/ask`, by mentioning me, or in a DM. Every answer quotes the documents word for word; "
        "press Sources under an answer to read the passages in full."
    )
    lines: list[str] = []
    used = 0
    for i, d in enumerate(documents):
        name = escape_text(shorten(d.title or file_name(d.source), 120))
        line = f"• {name} — `{file_name(d.source)}` ({d.passages} passages)"
        more = f"…and {len(documents) - i} more"
        if used + len(line) + 1 > FIELD_LIMIT - len(more) - 1:
            lines.append(more)
            break
        lines.append(line)
        used += len(line) + 1
    embed.add_field(
        name=f"Documents ({len(documents)})", value="\n".join(lines) or "none: run `ragbot ingest`", inline=False
    )
    embed.add_field(name="Passages", value=str(passages), inline=True)
    embed.add_field(name="Embedding model", value=shorten(embedding_model, FIELD_LIMIT), inline=True)
    embed.add_field(name="LLM", value=shorten(llm_model, FIELD_LIMIT), inline=True)
    return embed


# -- /help ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HelpRow:
    """One line of /help: how to call it, what it does, and an example."""

    command: str
    description: str
    example: str = ""


def help_text(rows: Sequence[HelpRow], *, intro: str, outro: str = "") -> str:
    """/help as one plain message (it needs no Embed Links): the intro, a line per row, the outro."""
    lines = [intro, ""]
    for row in rows:
        example = f"\n  e.g. {row.example}" if row.example else ""
        lines.append(f"**{row.command}**: {row.description}{example}")
    if outro:
        lines += ["", outro]
    return shorten("\n".join(lines), MESSAGE_LIMIT)
