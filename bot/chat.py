"""The `ragbot chat` REPL: line editing on a terminal, plain lines when piped (so tests feed stdin).

The prompt comes first: the engine (the index, the embedding model and, in LLM mode, litellm) loads
on a background thread (`EngineLoader`) while the user types, and the first question waits for it
behind a status line that says what is loading. Commands: `/sources` (the last answer's passages in
full), `/reset` or `/clear` (forget the conversation), `/help`, `quit` / `exit` / Ctrl-D; any other
`/word` is refused as an unknown command. A line that does not read as a question
(`reads_as_question`) is answered on its own, without the conversation; only questions that got a
cited answer become context for follow-ups. Does not keep the conversation between sessions;
answers are rendered in render.py.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from retrieval import Answer, InputError, RagbotError, Turn

from .render import answer_console, answer_renderable, passages_renderable

if TYPE_CHECKING:
    from retrieval import Engine, Event

log = logging.getLogger("ragbot")

PROMPT = "you> "
HELP = (
    "Ask a question. /check CLAIM checks a claim against the documents, /sources shows the last answer's "
    "passages, /reset (or /clear) starts over, /help shows this, quit leaves."
)
LOADING = "loading the index and the embedding model…"
QUIT = frozenset({"quit", "exit", "/quit", "/exit"})
RESET = frozenset({"/reset", "/clear"})
BARE_COMMANDS = frozenset({"help", "reset", "clear", "sources"})  # typed without the slash
QUESTION_WORDS = frozenset({"who", "whom", "whose", "what", "which", "when", "where", "why", "how"})


def _lines(prompt: str, console: Console, read_line: Callable[[str], str] | None) -> Iterator[str]:
    """Input lines: `read_line(prompt)` if given, else input() on a terminal, else stdin echoed after the prompt."""
    interactive = read_line is not None or sys.stdin.isatty()
    if read_line is None and interactive:
        try:
            import readline  # noqa: F401 - line editing and history for input()
        except ImportError:
            pass
    read = read_line or input
    while True:
        try:
            line = read(prompt) if interactive else sys.stdin.readline()
        except (EOFError, KeyboardInterrupt):
            return
        if not interactive:
            if line == "":
                return
            console.print(f"{prompt}{line.rstrip()}", highlight=False)
        yield line.rstrip("\r\n")


def show_answer(console: Console, events: Iterable[Event], thresholds: tuple[float, float]) -> Answer:
    """Print an answer stream: on a terminal the text live as it arrives, then the verified answer
    (its confidence worded over `thresholds`, the engine's (refusal, confident) pair)."""
    from retrieval import Final, TextDelta  # the engine's module: imported once an answer is asked for

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
    console.print(answer_renderable(answer, thresholds))
    return answer


class EngineLoader:
    """Builds the engine on a background thread, started at once; `get()` waits for it.

    Loading means the factory (opening the index: Chroma, the catalog, the ONNX session), then one
    embedding and the language model object, so the first answer pays for none of it; only the
    factory's error is the loader's. The thread is not a daemon: a store being filled is never cut
    off mid-write when the chat ends.
    """

    def __init__(self, factory: Callable[[], Engine]) -> None:
        self._factory = factory
        self._engine: Engine | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._load, name="ragbot-chat-load")
        self._thread.start()

    def _load(self) -> None:
        try:
            engine = self._factory()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread by get()
            self._error = exc
            return
        try:  # warm-ups only: a failure here comes back with the first question, as a reply
            engine.index.embedder.embed_array(["warm up"])
            _ = engine.llm  # LLM mode: imports litellm now rather than at the first question
        except RagbotError:
            log.debug("warming the engine failed", exc_info=True)
        self._engine = engine

    @property
    def ready(self) -> bool:
        return not self._thread.is_alive()

    def get(self) -> Engine:
        """The engine, once loaded; the loading error (a StoreError, say) is raised here."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._engine is not None
        return self._engine


def reads_as_question(text: str, doc_freq: Callable[[Sequence[str]], Mapping[str, int]]) -> bool:
    """Whether a line reads as a question: a "?", a question word, more than two words, or a content
    word the documents hold (`doc_freq`: passages per word). So "clear", "thanks" or "hello there"
    do not; "Lavrov", "and Kerry" or "why?" do.
    """
    words = re.findall(r"\w+", text.lower())
    if "?" in text or len(words) > 2 or not QUESTION_WORDS.isdisjoint(words):
        return True
    return any(n > 0 for n in doc_freq(words).values())


def _command(text: str, console: Console, last: Answer | None) -> bool:
    """Run a /command other than quit and reset; False when it is not one."""
    if text == "/help":
        console.print(HELP)
    elif text == "/sources":
        console.print(passages_renderable(last) if last else "No answer yet: ask a question first.")
    else:
        return False
    return True


def _check(claim: str, console: Console, loader: EngineLoader) -> None:
    """`/check CLAIM`: the verdict with its quotes; the conversation is left as it was."""
    from .commands.check import check_text

    if not claim:
        console.print("Type the claim after /check, e.g. /check China blocked the resolution.")
        return
    engine = _ready(loader, console)
    try:
        console.print(check_text(engine.check(claim)), markup=False, highlight=False)
    except RagbotError as exc:
        console.print(f"ragbot: {exc}", style="red", markup=False)


def _ready(loader: EngineLoader, console: Console) -> Engine:
    if loader.ready or not console.is_terminal:
        return loader.get()
    with console.status(LOADING):
        return loader.get()


def run_chat(
    open_engine: Callable[[], Engine],
    *,
    k: int | None = None,
    console: Console | None = None,
    read_line: Callable[[str], str] | None = None,
) -> None:
    """The REPL: each question answered with the conversation so far (the last `history_turns` kept turns).

    `open_engine` runs on a background thread while the prompt is already shown; its error (a store
    that cannot be opened) is raised at the first question, or when the chat ends without one.
    `read_line(prompt)` replaces the terminal or stdin (tests).
    """
    loader = EngineLoader(open_engine)
    console = console or answer_console()
    console.print(f"[dim]{HELP}[/dim]")
    history: list[Turn] = []
    last: Answer | None = None
    for line in _lines(PROMPT, console, read_line):
        text = line.strip()
        if text.lower() in QUIT:
            break
        if not text:
            continue
        if text.lower() in RESET:
            history, last = [], None
            console.print("[dim]Conversation reset.[/dim]")
            continue
        if text.split()[0].lower() == "/check":
            _check(text[len("/check") :].strip(), console, loader)
            continue
        if text.startswith("/"):
            if not _command(text.lower(), console, last):
                console.print(f"unknown command {text.split()[0]}, try /help", markup=False)
            continue
        engine = _ready(loader, console)
        try:
            question = reads_as_question(text, engine.index.catalog.doc_freq)
            keep = engine.settings.history_turns if question else 0  # a non-question is asked on its own
            events = engine.stream(text, history[-keep:] if keep else (), k=k)
            last = show_answer(console, events, engine.thresholds)
        except InputError as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
            continue
        except RagbotError as exc:
            console.print(f"[red]ragbot: {escape(str(exc))}[/red]")
            continue
        if question and last.answerable:  # neither a refusal nor a non-question becomes context
            history.append(Turn(text, last.answer))
        elif text.lower() in BARE_COMMANDS:
            console.print(f"[dim](that was asked as a question; to run the command, type /{text.lower()})[/dim]")
    loader.get()  # a store that could not be opened fails the chat even when nothing was asked
    console.print("[dim]bye[/dim]")
