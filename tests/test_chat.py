"""`ragbot chat`: the prompt before the engine, word wrapping, /commands, and what becomes context."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator, Sequence

import pytest
from click.testing import CliRunner
from rich.console import Console

from bot.chat import reads_as_question, run_chat
from bot.cli import cli
from retrieval import Answer, Citation, Engine, Final, Turn, confidence_word
from tests.helpers import ROOT

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LAVROV_Q = "Who said opposition fighters would be eradicated?"


def _plain(console: Console) -> str:
    file = console.file
    assert isinstance(file, io.StringIO)
    return ANSI.sub("", file.getvalue())


def _script(*lines: str):
    """A `read_line` that types `lines`, recording each prompt it was shown."""
    prompts: list[str] = []
    typed = iter(lines)

    def read_line(prompt: str) -> str:
        prompts.append(prompt)
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None

    return read_line, prompts


def test_the_prompt_is_shown_before_the_engine_has_loaded(engine):
    """Item: a blank screen until the index had loaded. The order is tested, not a time."""
    release, loaded = threading.Event(), threading.Event()

    def open_engine() -> Engine:
        assert release.wait(30), "the prompt never came"
        loaded.set()
        return engine

    typed = iter(["Where did Interfax report from?", "quit"])
    seen: list[tuple[str, bool]] = []

    def read_line(prompt: str) -> str:
        seen.append((prompt, loaded.is_set()))
        release.set()  # the engine may finish loading only once the prompt is up
        return next(typed)

    console = Console(file=io.StringIO(), width=100)
    run_chat(open_engine, console=console, read_line=read_line)
    assert seen[0] == ("you> ", False)
    out = _plain(console)
    assert out.index("Ask a question") < out.index("Hamburg") and out.rstrip().endswith("bye")


def test_a_store_that_cannot_load_fails_the_chat_at_the_first_question():
    from retrieval import StoreError

    def open_engine() -> Engine:
        raise StoreError("the store folder /proc/x is unusable")

    read_line, prompts = _script("/help", "Who?", "never read")
    console = Console(file=io.StringIO(), width=100)
    with pytest.raises(StoreError, match="unusable"):
        run_chat(open_engine, console=console, read_line=read_line)
    assert prompts == ["you> ", "you> "]  # the prompt and /help came first; the question raised


@pytest.mark.parametrize("command", ["ask", "chat"])
def test_long_lines_wrap_at_word_boundaries_on_a_terminal(engine, store_copy, tmp_path, monkeypatch, command):
    """Item: "blocke/d" (the terminal, not Rich, broke the lines)."""
    monkeypatch.chdir(tmp_path)
    env = {"RAGBOT_CHROMA_PATH": str(store_copy), "RAGBOT_SEEDS_DIR": str(ROOT / "seeds"), "RAGBOT_LLM_MODEL": ""}
    question = "Who said fighters would be eradicated?"  # its "you> " echo fits on one line
    short = engine.answer(question).short_answer  # shown first, on a line of its own, when there is one
    args, stdin = (["ask", question], None) if command == "ask" else (["chat"], f"{question}\nquit\n")
    piped = CliRunner().invoke(cli, args, input=stdin, env=env, catch_exceptions=False).stdout
    narrow = (
        CliRunner()
        .invoke(cli, args, input=stdin, env={**env, "TTY_COMPATIBLE": "1", "COLUMNS": "44"}, catch_exceptions=False)
        .stdout
    )

    def answer_block(out: str) -> list[str]:
        """The answer's lines: after the question and the short answer, before the confidence."""
        lines = ANSI.sub("", out).splitlines()
        start = next((i + 1 for i, line in enumerate(lines) if line.startswith("you>")), 0)  # after the question
        end = next(i for i, line in enumerate(lines) if line.startswith("confidence: "))
        block = [line for line in lines[start:end] if line.strip() and "loading the index" not in line]  # no spinner
        if short is not None:
            assert block[0] == short.text
            return block[1:]
        return block

    (unwrapped,) = answer_block(piped)  # piped: one line, as scripts expect
    assert len(unwrapped) > 44 and "TASS" in unwrapped
    wrapped = answer_block(narrow)
    assert len(wrapped) > 1 and all(len(line) <= 44 for line in wrapped)
    assert " ".join(line.strip() for line in wrapped) == unwrapped.strip()  # every break is at a space


class ScriptedEngine:
    """The session engine's index and settings, with scripted answers; records the history each question got."""

    def __init__(self, real: Engine, answers: dict[str, Answer]) -> None:
        self.settings, self.index, self.llm, self.thresholds = real.settings, real.index, None, real.thresholds
        self.answers = answers
        self.asked: list[tuple[str, tuple[Turn, ...]]] = []

    def stream(self, question: str, history: Sequence[Turn] = (), *, k: int | None = None) -> Iterator[Final]:
        self.asked.append((question, tuple(history)))
        yield Final(self.answers[question])


def _cited(question: str, text: str) -> Answer:
    quote = "Lavrov said in remarks carried by Russian state news agency TASS."
    citation = Citation(1, "seeds/000_7f696d753bde9fea.txt", quote, 0, len(quote), 0.41)
    return Answer(question, f"{text} [1]", True, citations=(citation,))


def test_refusals_and_words_that_are_not_questions_never_become_context(engine):
    """Item: `clear` got a cited answer (0.41) whose passage carried into the next turn; `/foo` was asked."""
    first, follow = LAVROV_Q, "Which agency carried his remarks?"
    answers = {
        first: _cited(first, "Lavrov."),
        "clear": _cited("clear", "Something quotable."),  # a cited answer to a word that is no question
        "What is the capital of Mars?": Answer("What is the capital of Mars?", "The article doesn't say.", False),
        "Lavrov": _cited("Lavrov", "Lavrov said so."),  # a document word: a topic, kept
        follow: _cited(follow, "TASS."),
    }
    fake = ScriptedEngine(engine, answers)
    read_line, _ = _script(first, "clear", "/foo", "What is the capital of Mars?", "Lavrov", follow)
    console = Console(file=io.StringIO(), width=120)
    run_chat(lambda: fake, console=console, read_line=read_line)  # type: ignore[arg-type, return-value]
    history = dict(fake.asked)
    assert [q for q, _ in fake.asked] == [first, "clear", "What is the capital of Mars?", "Lavrov", follow]
    assert history["clear"] == ()  # a non-question is asked on its own
    assert [t.question for t in history[follow]] == [first, "Lavrov"]  # neither "clear" nor the refusal
    out = _plain(console)
    assert "unknown command /foo, try /help" in out and "type /clear" in out


def test_reads_as_question(engine):
    doc_freq = engine.index.catalog.doc_freq
    assert not any(reads_as_question(t, doc_freq) for t in ["clear", "thanks", "hello there", "ok"])
    assert all(reads_as_question(t, doc_freq) for t in ["Lavrov", "and Kerry", "why", "ok?", "tell me more"])


def test_chat_commands_unknown_clear_and_help(run_chat_cli):
    result = run_chat_cli(f"{LAVROV_Q}\n/foo\n/clear\n/sources\n/HELP\nquit\n")
    assert result.exit_code == 0
    out = result.stdout
    assert "Lavrov" in out and "unknown command /foo, try /help" in out
    assert "Conversation reset." in out and "No answer yet" in out  # /clear is /reset
    assert "/reset (or /clear) starts over" in out.split("you> /HELP", 1)[1]
    assert out.count("Sources") == 1  # /foo was not asked as a question


HAMBURG_Q = "Where did Interfax report from?"


@pytest.mark.parametrize("terminal", [False, True])
def test_the_chat_shows_the_short_answer_first_then_the_sentence_and_the_confidence(
    engine, store_copy, tmp_path, monkeypatch, terminal
):
    """Issue 11 items 5-6: the phrase that answers first (bold on a terminal, its own line when piped), then
    the cited sentence, then the confidence as a word; a refusal shows no phrase and a low confidence."""
    monkeypatch.chdir(tmp_path)
    env = {"RAGBOT_CHROMA_PATH": str(store_copy), "RAGBOT_SEEDS_DIR": str(ROOT / "seeds"), "RAGBOT_LLM_MODEL": ""}
    if terminal:
        env |= {"TTY_COMPATIBLE": "1", "COLUMNS": "400"}  # wide: each line whole
    refused_q = "How old is Lavrov?"
    result = CliRunner().invoke(cli, ["chat"], input=f"{HAMBURG_Q}\n{refused_q}\nquit\n", env=env)
    assert result.exit_code == 0, result.output
    answer, refused = engine.answer(HAMBURG_Q), engine.answer(refused_q)
    assert answer.short_answer and answer.short_answer.text == "Hamburg" and not refused.answerable
    shown = result.stdout.splitlines()  # on a terminal, the spinner's own lines and cursor moves are dropped
    raw = [line for line in shown if ANSI.sub("", line).strip() and "loading the index" not in line]
    lines = [ANSI.sub("", line) for line in raw]
    at = lines.index(f"you> {HAMBURG_Q}")
    assert lines[at + 1 : at + 4] == [
        "Hamburg",
        answer.answer,
        f"confidence: {confidence_word(answer.confidence, engine.thresholds)}",
    ]
    assert lines[at + 4] == "Sources" and confidence_word(answer.confidence, engine.thresholds) != "low"
    bold = "\x1b[1m"
    assert (f"{bold}Hamburg\x1b[0m" in raw[at + 1]) is terminal  # bold on a terminal, plain when piped
    assert bold not in raw[at + 2]  # the sentence after it is not
    at = lines.index(f"you> {refused_q}")
    assert lines[at + 1 : at + 3] == [refused.answer, "confidence: low"]  # no phrase before a refusal
    assert lines[at + 3].startswith("Closest passage")


@pytest.fixture
def run_chat_cli(store_copy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"RAGBOT_CHROMA_PATH": str(store_copy), "RAGBOT_SEEDS_DIR": str(ROOT / "seeds"), "RAGBOT_LLM_MODEL": ""}
    return lambda stdin: CliRunner().invoke(cli, ["chat"], input=stdin, env=env, catch_exceptions=False)
