"""The `ragbot` command line: parse arguments, call the core, format its results.

Settings are built once here and passed down. Every RagbotError becomes one line on stderr and its
exit code (2 bad input or settings, 1 runtime failure). Heavy libraries are imported inside the
commands that need them, so `ragbot --help` stays fast.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path

import click

from . import __version__

log = logging.getLogger("ragbot")


class RagbotGroup(click.Group):
    """Turns the core's typed errors into a message and an exit code, once for every command."""

    def invoke(self, ctx: click.Context):
        from retrieval.errors import RagbotError

        try:
            return super().invoke(ctx)
        except RagbotError as exc:
            log.debug("command failed", exc_info=True)
            click.echo(f"ragbot: {exc}", err=True)
            raise click.exceptions.Exit(exc.exit_code) from None


@click.group(cls=RagbotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ragbot")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Ask questions about your documents; every answer cites exact quotes."""
    from dotenv import load_dotenv

    from retrieval.settings import load_settings

    load_dotenv(".env", override=False)  # provider keys (OPENAI_API_KEY, ...) reach litellm this way
    settings = load_settings()
    logging.basicConfig(
        stream=sys.stderr, level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    ctx.obj = settings


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def _progress():
    """A progress bar on stderr for embedding, as a callback (done, total)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("embedding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=_stderr_console(), transient=True,
    )
    task = None

    def update(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            if total == 0:
                return
            bar.start()
            task = bar.add_task("embed", total=total)
        bar.update(task, completed=done)
        if done >= total:
            bar.stop()

    return update


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Drop the collection and rebuild it from PATHS.")
@click.pass_obj
def ingest(settings, paths: tuple[Path, ...], rebuild: bool) -> None:
    """Sync documents (.txt, .md, .html files or folders; default: seeds/) into the store."""
    from retrieval.documents.ingest import ingest as run_ingest

    report = run_ingest(settings, list(paths) or None, rebuild=rebuild, progress=_progress())
    for skipped in report.skipped:
        click.echo(f"skipped {skipped}: not a .txt, .md or .html file", err=True)
    click.echo(report.summary())


@cli.command()
@click.pass_obj
def sources(settings) -> None:
    """List the ingested documents with their passage counts."""
    from retrieval.storage.index import Index

    index = Index.open(settings)
    docs = index.catalog.documents()
    if not docs:
        click.echo("The store is empty: run `ragbot ingest`.")
        return
    click.echo(f"{'passages':>8}  {'ingested (UTC)':<25}  source — title")
    for d in docs:
        click.echo(f"{d.passages:>8}  {d.ingested_at:<25}  {d.source} — {d.title}")
    click.echo(f"{sum(d.passages for d in docs):>8}  in {len(docs)} document(s)")


def _engine(settings):
    from retrieval.documents.ingest import open_index
    from retrieval.engine import Engine

    return Engine(settings, open_index(settings, progress=_progress()))


def _json_line(obj: dict) -> str:
    """One line of JSON, UTF-8 as is, except the characters some line readers split on (NEL, U+2028, U+2029)."""
    text = json.dumps(obj, ensure_ascii=False)
    return text.replace("\x85", "\\u0085").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _answer_lines(engine, lines, *, as_json: bool, k: int | None, conversation: bool) -> int:
    """`ask -`: one question per line, one result per line, in order. Returns the exit code."""
    from retrieval.errors import RagbotError
    from retrieval.schema import Turn

    from .render import answer_view

    console = None if as_json else _stdout_console()
    history: list[Turn] = []
    code = 0
    for raw in lines:
        question = raw.rstrip("\r\n")
        if conversation and not question.strip():
            history = []
            continue
        try:
            answer = engine.answer(question, history, k=k)
        except RagbotError as exc:
            code = max(code, exc.exit_code)
            if as_json:
                shown = re.sub("[\ud800-\udfff]", "\ufffd", question)  # undecodable bytes shown as U+FFFD
                click.echo(_json_line({"question": shown, "error": str(exc)}))
            else:
                click.echo(f"ragbot: {exc}", err=True)
            continue
        if conversation:
            history.append(Turn(question, answer.answer))
        if as_json:
            click.echo(_json_line(answer.to_json()))
        else:
            console.print(answer_view(answer))
    return code


def _stdout_console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as one JSON object (schema v1).")
@click.option("-k", "k", type=click.IntRange(1, 50), default=None, help="Passages to retrieve.")
@click.option(
    "--conversation", is_flag=True, help="With '-': the lines form one conversation; a blank line starts a new one."
)
@click.pass_obj
def ask(settings, question: str, as_json: bool, k: int | None, conversation: bool) -> None:
    """Answer QUESTION (or, with '-', one question per line of stdin)."""
    from retrieval.engine import clean_question

    if question == "-":
        engine = _engine(settings)
        stdin = sys.stdin
        if hasattr(stdin, "reconfigure"):
            stdin.reconfigure(errors="surrogateescape")  # a line that is not UTF-8 gets an error, not a traceback
        raise click.exceptions.Exit(_answer_lines(engine, stdin, as_json=as_json, k=k, conversation=conversation))
    clean_question(question)  # bad input fails before the store is touched
    engine = _engine(settings)
    if as_json:  # never streamed: one JSON object once the answer is verified
        click.echo(_json_line(engine.answer(question, k=k).to_json()))
    else:
        from .chat import show_answer

        show_answer(_stdout_console(), engine.stream(question, k=k))


@cli.command()
@click.option("-k", "k", type=click.IntRange(1, 50), default=None, help="Passages to retrieve.")
@click.pass_obj
def chat(settings, k: int | None) -> None:
    """Chat about the documents: follow-up questions, /sources, /reset, quit."""
    from .chat import run_chat

    run_chat(_engine(settings), k=k)


@cli.command("discord")
@click.option("--sync", is_flag=True, help="Also sync slash commands globally (rate-limited; up to an hour to appear).")
@click.pass_obj
def discord_bot(settings, sync: bool) -> None:
    """Run the Discord bot (needs DISCORD_TOKEN; see the README's Discord section)."""
    from .discord_app import check_token, run

    token = check_token(settings.discord_token)  # a missing or malformed token fails before anything loads
    engine = _engine(settings)
    click.echo("ragbot: connecting to Discord (Ctrl-C stops the bot)", err=True)
    run(settings, engine, token, sync_global=sync, announce=lambda note: click.echo(f"ragbot: {note}", err=True))


@cli.command("eval")
@click.option("--qa", "qa", multiple=True, type=click.Path(path_type=Path),
              help="Q&A set: our JSONL or a SQuAD v2.0 .json (repeatable; default: seeds/qa.jsonl).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Results folder (default: a new eval-results/<timestamp>/).")
@click.option("--strategy", "strategies", multiple=True, type=click.Choice(["dense", "bm25", "hybrid"]),
              help="Retrieval strategy (repeatable: a sub-folder each plus comparison.md; default: hybrid).")
@click.option("--compare", type=click.Path(path_type=Path), default=None,
              help="Baseline summary.json (or results folder) to report deltas against.")
@click.option("--min", "minimums", multiple=True, metavar="METRIC=VALUE",
              help="Exit with code 1 when METRIC falls below VALUE (repeatable).")
@click.option("--calibrate", is_flag=True, help="Also sweep the refusal threshold and recommend a value.")
@click.option("--json", "as_json", is_flag=True, help="Print summary.json to stdout.")
@click.pass_obj
def eval_command(settings, qa, out, strategies, compare, minimums, calibrate: bool, as_json: bool) -> None:
    """Score the answers on a Q&A set: retrieval, answer, citation and refusal metrics, a report and a plot."""
    from .evaluation.run import command

    code = command(settings, qa, out, strategies or ("hybrid",), compare, minimums, calibrate, as_json)
    raise click.exceptions.Exit(code)


@cli.command()
@click.option("--chunks", type=click.IntRange(1000, 10_000_000), default=None,
              help="Passages in the synthetic corpus that retrieval latency is measured on [default: 100000].")
@click.option("--quick", is_flag=True, help="Fewer repetitions and 10,000 passages unless --chunks says otherwise.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON object.")
@click.pass_obj
def bench(settings, chunks: int, quick: bool, as_json: bool) -> None:
    """Measure ingest and answer speed, retrieval latency at scale, cold start and memory."""
    from .bench import load_average, run, table

    before = load_average()
    result = run(settings, chunks=chunks, quick=quick, progress=lambda note: click.echo(f"bench: {note}", err=True))
    click.echo(json.dumps(result.to_json()) if as_json else table(result, (before, load_average())))


def main() -> None:
    cli(prog_name="ragbot")
