"""Rich renderables of answers for the terminal (`ask` and `chat`): built here, printed by the caller.

Also the console they are printed on (`answer_console`): wrapped at word boundaries on a terminal,
unwrapped when piped. Nothing here prints. Plain JSON output and the eval and bench tables are the
CLI's (terminal.py).
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.text import Text

from retrieval import Answer


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


def answer_renderable(answer: Answer) -> Group:
    """The answer (bold, or yellow when refused), its note, its cited quotes and the closest passage."""
    parts: list[RenderableType] = [Text(answer.answer, style="bold" if answer.answerable else "yellow")]
    if answer.note:
        parts.append(Text(f"note: {answer.note}", style="dim"))
    if answer.citations:
        parts.append(Text("Sources", style="underline"))
        for c in answer.citations:
            parts.append(
                Text.from_markup(
                    f"[cyan][{c.n}][/cyan] “{escape(c.quote)}” "
                    f"[dim]— {escape(_where(c.source, c.start, c.end))}, score {c.score:.2f}[/dim]"
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
