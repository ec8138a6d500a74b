"""The `ragbot chat` REPL: line editing on a terminal, plain lines when piped (so tests feed stdin).

Commands: `/sources` (the last answer's passages in full), `/reset` (forget the conversation),
`/help`, `quit` / `exit` / Ctrl-D.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from rich.console import Console

from retrieval.answer import Engine
from retrieval.errors import InputError, RagbotError
from retrieval.schema import Answer, Turn

from .render import answer_view, passages_view

HELP = "Ask a question. /sources shows the last answer's passages, /reset starts over, quit leaves."


def _lines(prompt: str, console: Console) -> Iterator[str]:
    interactive = sys.stdin.isatty()
    if interactive:
        try:
            import readline  # noqa: F401 - line editing and history for input()
        except ImportError:
            pass
    while True:
        try:
            line = input(prompt) if interactive else sys.stdin.readline()
        except (EOFError, KeyboardInterrupt):
            return
        if not interactive:
            if line == "":
                return
            console.print(f"{prompt}{line.rstrip()}", highlight=False)
        yield line.rstrip("\r\n")


def run_chat(engine: Engine, *, k: int | None = None, console: Console | None = None) -> None:
    console = console or Console(highlight=False, soft_wrap=True)
    console.print(f"[dim]{HELP}[/dim]")
    history: list[Turn] = []
    last: Answer | None = None
    for line in _lines("you> ", console):
        text = line.strip()
        if text.lower() in {"quit", "exit", "/quit", "/exit"}:
            break
        if not text:
            continue
        if text == "/help":
            console.print(HELP)
            continue
        if text == "/reset":
            history, last = [], None
            console.print("[dim]Conversation reset.[/dim]")
            continue
        if text == "/sources":
            console.print(passages_view(last) if last else "No answer yet: ask a question first.")
            continue
        try:
            last = engine.answer(
                text, history[-engine.settings.history_turns :] if engine.settings.history_turns else (), k=k
            )
        except InputError as exc:
            console.print(f"[red]{exc}[/red]")
            continue
        except RagbotError as exc:
            console.print(f"[red]ragbot: {exc}[/red]")
            continue
        history.append(Turn(text, last.answer))
        console.print(answer_view(last))
    console.print("[dim]bye[/dim]")
