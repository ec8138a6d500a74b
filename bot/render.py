"""Rich renderables of answers for the terminal (`ask` and `chat`): built here, printed by the caller.

Pure: nothing here prints or reads a console. Plain JSON output and the eval and bench tables are
the CLI's (terminal.py).
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.text import Text

from retrieval import Answer


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
