"""Rich renderables of answers for the terminal (`ask` and `chat`): built here, printed by the caller.

An answer shows, in order: its short answer in bold on a line of its own (when it has one), the
answer text with its `[n]` markers, its confidence as a word (`confidence: high`, the core's
`confidence_word` over the engine's thresholds, which the caller passes in), any note, the cited
quotes (with where each is: a PDF's page, a Markdown file's line, the offsets; and the document's
title and date) and, when refused, the closest passage. Piped, the same lines come out without the styles.
Also the console they are printed on (`answer_console`): wrapped at word boundaries on a terminal,
unwrapped when piped. Nothing here prints. Plain JSON output and the eval and bench tables are the
CLI's (terminal.py).
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.text import Text

from retrieval import Answer, Citation


def answer_console(**options: Any) -> Console:
    """A console for answers (`options` as for Rich's Console, e.g. `file`, `width`, `force_terminal`).

    On a terminal, Rich wraps lines at word boundaries to the terminal's width (left to the terminal,
    long lines broke mid-word; only a word longer than a whole line is folded). Piped, a paragraph
    stays one line, so `grep` and scripts see whole sentences.
    """
    console = Console(highlight=False, **options)
    console.soft_wrap = not console.is_terminal
    return console


def _where(source: str, start: int, end: int) -> str:
    return f"{source}:{start}-{end}"


def citation_where(c: Citation) -> str:
    """Where a quote is: "report.pdf p. 3", "notes.md line 12", "memo.docx paragraph 4" or the source, then its offsets
    (what `ragbot show SOURCE --start N --end M` opens)."""
    if c.page is not None:
        return f"{c.source} p. {c.page}, {c.start}-{c.end}"
    if c.line is not None:
        return f"{c.source} line {c.line}, {c.start}-{c.end}"
    if c.source.lower().endswith(".docx"):  # Word has no lines or pages of its own: its paragraph number
        return f"{c.source} paragraph {c.paragraph}, {c.start}-{c.end}"
    return _where(c.source, c.start, c.end)


def citation_about(c: Citation) -> str:
    """The cited document's title and date, as ` — Title, 2024-05-01` ("" when neither is known)."""
    title = "" if c.title in c.quote else c.title  # plain text: the title is the first line, often the quote
    about = ", ".join(part for part in (title, c.date) if part)
    return f" — {about}" if about else ""


def answer_renderable(answer: Answer, thresholds: tuple[float, float]) -> Group:
    """The answer, headed by its short answer in bold when it has one (else the answer itself is bold,
    or yellow when refused); its confidence as a word over `thresholds` (refusal, confident, as
    `Engine.thresholds` gives them); its note, its cited quotes and the closest passage."""
    from retrieval import confidence_word  # the judge's module: loaded by the engine that made the answer

    parts: list[RenderableType] = []
    short = " ".join(answer.short_answer.text.split()) if answer.short_answer and answer.answerable else ""
    if short:
        parts += [Text(short, style="bold"), Text(answer.answer)]
    else:
        parts.append(Text(answer.answer, style="bold" if answer.answerable else "yellow"))
    parts.append(Text(f"confidence: {confidence_word(answer.confidence, thresholds)}", style="dim"))
    if answer.note:
        parts.append(Text(f"note: {answer.note}", style="dim"))
    if answer.citations:
        parts.append(Text("Sources", style="underline"))
        for c in answer.citations:
            parts.append(
                Text.from_markup(
                    f"[cyan][{c.n}][/cyan] “{escape(c.quote)}” "
                    f"[dim]— {escape(citation_where(c))}, score {c.score:.2f}{escape(citation_about(c))}[/dim]"
                )
            )
    if answer.closest:
        s = answer.closest
        parts.append(
            Text.from_markup(
                f"[dim]Closest passage ({escape(_where(s.source, s.start, s.end))}, score {s.score:.2f}):[/dim] "
                f"“{escape(s.quote)}”"
            )
        )
    return Group(*parts)


def passages_renderable(answer: Answer) -> Group:
    """Every retrieved passage in full (chat's /sources)."""
    parts: list[RenderableType] = []
    for i, hit in enumerate(answer.retrieved, start=1):
        p = hit.passage
        parts.append(
            Text.from_markup(
                f"[cyan]{i}.[/cyan] [dim]{escape(_where(p.source, p.start, p.end))} ¶{p.paragraph} "
                f"score {hit.score:.2f}[/dim]\n   {escape(p.text)}"
            )
        )
    return Group(*parts) if parts else Group(Text("No passages yet: ask a question first."))
