"""The `ragbot chat` REPL: line editing on a terminal, plain lines when piped (so tests feed stdin).

Commands: `/sources` (the last answer's passages in full), `/reset` (forget the conversation),
`/help`, `quit` / `exit` / Ctrl-D. Does not keep the conversation between sessions.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator

from rich.console import Console
from rich.text import Text

from retrieval import Answer, Engine, Event, Final, InputError, RagbotError, TextDelta, Turn

from .render import answer_renderable, passages_renderable

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


def show_answer(console: Console, events: Iterable[Event]) -> Answer:
    """Print an answer stream: on a terminal the text live as it arrives, then the verified answer."""
    live = None
    if console.is_terminal:
        from rich.live import Live

        live = Live(Text(""), console=console, transient=True, auto_refresh=False)
    shown = ""
    answer = None
    try:
        for event in events:
            if isinstance(event, TextDelta) and live is not None:
                shown = event.text if event.restart else shown + event.text
                if not live.is_started:
                    live.start()
                live.update(Text(shown, style="dim", no_wrap=False, overflow="fold"), refresh=True)
            elif isinstance(event, Final):
                answer = event.answer
    finally:
        if live is not None and live.is_started:
            live.stop()
    assert answer is not None
    console.print(answer_renderable(answer))
    return answer


def run_chat(engine: Engine, *, k: int | None = None, console: Console | None = None) -> None:
    """The REPL: each question answered with the conversation so far (the last `history_turns` turns)."""
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
            console.print(passages_renderable(last) if last else "No answer yet: ask a question first.")
            continue
        try:
            turns = history[-engine.settings.history_turns :] if engine.settings.history_turns else ()
            last = show_answer(console, engine.stream(text, turns, k=k))
        except InputError as exc:
            console.print(f"[red]{exc}[/red]")
            continue
        except RagbotError as exc:
            console.print(f"[red]ragbot: {exc}[/red]")
            continue
        history.append(Turn(text, last.answer))
    console.print("[dim]bye[/dim]")
