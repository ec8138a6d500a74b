"""The `ragbot` command line (click): parse arguments, call the core or the evaluation, show the results.

Settings are built once here and passed down. Every RagbotError becomes one line on stderr and its
exit code (2 bad input or settings, 1 runtime failure). What is shown is built in render.py (answers)
and terminal.py (progress, JSON lines, eval and bench tables); the chat REPL is chat.py. Heavy
libraries are imported inside the commands that need them, so `ragbot --help` stays fast.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from retrieval import Engine, IngestReport, Settings

log = logging.getLogger("ragbot")


class RagbotGroup(click.Group):
    """Turns the core's typed errors into a message and an exit code, once for every command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["ragbot.args"] = list(args)  # the command line as given, for errors raised before a command runs
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        from retrieval import RagbotError

        try:
            return super().invoke(ctx)
        except RagbotError as exc:
            log.debug("command failed", exc_info=True)
            args = ctx.meta.get("ragbot.args", [])
            if args[:1] == ["ask"] and "--json" in args[1:]:  # a settings error before `ask` ran: still JSON
                question = next((a for a in args[1:] if not a.startswith("-")), "")
                click.echo(json.dumps({"question": question, "error": str(exc)}, ensure_ascii=False))
            click.echo(f"ragbot: {exc}", err=True)
            raise click.exceptions.Exit(exc.exit_code) from None


@click.group(cls=RagbotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ragbot", prog_name="ragbot")  # read from the package metadata when asked
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Ask questions about your documents; every answer cites exact quotes."""
    from dotenv import load_dotenv

    from retrieval import load_settings, root_folder, warn_unknown_settings

    from .discord_bot.settings import DiscordSettings

    root = root_folder()  # the nearest folder holding .ragbot/, else this one
    load_dotenv(root / ".env", override=False)  # provider keys (OPENAI_API_KEY, ...) reach litellm this way
    settings = load_settings(root=root)
    logging.basicConfig(
        stream=sys.stderr, level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    warn_unknown_settings(root / ".env", [DiscordSettings])  # a misspelt RAGBOT_* name, once per command
    ctx.obj = settings


@cli.command()
@click.argument("paths", nargs=-1)
@click.option("--rebuild", is_flag=True, help="Drop the collection and rebuild it from PATHS.")
@click.pass_obj
def ingest(settings: Settings, paths: tuple[str, ...], rebuild: bool) -> None:
    """Sync documents (.txt, .md, .html, .pdf, .docx files or folders, http(s) URLs; default: seeds/) into the store."""
    from retrieval import ingest as run_ingest

    from .terminal import embedding_progress

    report = run_ingest(settings, list(paths) or None, rebuild=rebuild, progress=embedding_progress())
    click.echo(report.summary())
    _show_skipped(report)
    if report.failed:  # the readable files were ingested; the unreadable ones are an input error
        click.echo(f"ragbot: {len(report.failed)} file(s) could not be read (listed above)", err=True)
        raise click.exceptions.Exit(2)


def _show_skipped(report: IngestReport) -> None:
    """Every file an ingest left out, with its reason, on stderr."""
    for skipped in report.skipped:
        click.echo(f"skipped {skipped}", err=True)


def _show_filled(report: IngestReport) -> None:
    """One line on stderr when `ask`, `chat` or the bot filled an empty store from the seeds folder."""
    docs, passages = report.files, report.passages
    click.echo(
        f"ingested {', '.join(report.paths)}: {docs} document{'s' * (docs != 1)}, "
        f"{passages} passage{'s' * (passages != 1)}",
        err=True,
    )
    _show_skipped(report)


@cli.command()
@click.pass_obj
def sources(settings: Settings) -> None:
    """List the ingested documents with their passage counts, and say which store is used."""
    from retrieval import Index, ingest_hint

    index = Index.open(settings)
    server = f"{settings.chroma_host}:{settings.chroma_port} (Chroma server)"
    where = server if settings.chroma_host else settings.chroma_path
    click.echo(f"store: {where}, collection {settings.collection}")
    docs = index.catalog.documents()
    if not docs:
        click.echo(f"The store is empty: {ingest_hint(settings.seeds_dir)}.")
        return
    click.echo(f"{'passages':>8}  {'ingested (UTC)':<25}  source — title (date)")
    for d in docs:
        click.echo(f"{d.passages:>8}  {d.ingested_at:<25}  {d.source} — {d.title}" + (f" ({d.date})" if d.date else ""))
    click.echo(f"{sum(d.passages for d in docs):>8}  in {len(docs)} document(s)")


def _engine(settings: Settings, ctx: click.Context | None = None) -> Engine:
    """The engine over the store (filled from the seeds when empty), closed when the command ends (`ctx`:
    the command's context, for an engine built on another thread)."""
    from retrieval import Engine, open_index

    from .terminal import embedding_progress

    engine = Engine(settings, open_index(settings, progress=embedding_progress(), on_ingest=_show_filled))
    (ctx or click.get_current_context()).call_on_close(engine.close)
    return engine


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as one JSON object (schema v1).")
@click.option("-k", "k", type=click.IntRange(1, 50), default=None, help="Passages to retrieve.")
@click.option(
    "--conversation", is_flag=True, help="With '-': the lines form one conversation; a blank line starts a new one."
)
@click.pass_obj
def ask(settings: Settings, question: str, as_json: bool, k: int | None, conversation: bool) -> None:
    """Answer QUESTION (or, with '-', one question per line of stdin; blank lines are skipped)."""
    from retrieval import preload_embedder

    preload_embedder(settings)  # the model loads while the rest is imported and the store opened
    from retrieval import clean_question

    from .terminal import answer_json, answer_lines, stdout_console

    def open_engine() -> Engine:
        return _engine(settings)

    if question == "-":
        stdin = sys.stdin
        if hasattr(stdin, "reconfigure"):
            stdin.reconfigure(errors="surrogateescape")  # a line that is not UTF-8 gets an error, not a traceback
        raise click.exceptions.Exit(answer_lines(open_engine, stdin, as_json=as_json, k=k, conversation=conversation))
    if as_json:  # every outcome, an error too, is one JSON object on stdout
        raise click.exceptions.Exit(answer_json(open_engine, question, k=k))
    clean_question(question)  # bad input fails before the store is touched
    from .chat import show_answer

    engine = open_engine()
    show_answer(stdout_console(), engine.stream(question, k=k), engine.thresholds)


@cli.command()
@click.option("-k", "k", type=click.IntRange(1, 50), default=None, help="Passages to retrieve.")
@click.pass_obj
def chat(settings: Settings, k: int | None) -> None:
    """Chat about the documents: follow-up questions, /sources, /reset, quit."""
    from .chat import run_chat

    ctx = click.get_current_context()
    run_chat(lambda: _engine(settings, ctx), k=k)  # the prompt shows while the engine loads


@cli.command("discord")
@click.option("--sync", is_flag=True, help="Also sync slash commands globally (rate-limited; up to an hour to appear).")
@click.pass_obj
def discord_bot(settings: Settings, sync: bool) -> None:
    """Run the Discord bot (needs DISCORD_TOKEN; see docs/discord.md)."""
    from .discord_bot import check_token, load_discord_settings, run

    discord_settings = load_discord_settings()
    token = check_token(discord_settings.token)  # a missing or malformed token fails before anything loads
    engine = _engine(settings)
    click.echo("ragbot: connecting to Discord (Ctrl-C stops the bot)", err=True)

    def announce(note: str) -> None:
        click.echo(f"ragbot: {note}", err=True)

    run(settings, discord_settings, engine, token, sync_global=sync, announce=announce)


@cli.command("eval")
@click.option(
    "--qa",
    "qa",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Q&A set: our JSONL or a SQuAD v2.0 .json (repeatable; default: seeds/qa.jsonl).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Results folder (default: a new eval-results/<timestamp>/).",
)
@click.option(
    "--strategy",
    "strategies",
    multiple=True,
    type=click.Choice(["dense", "bm25", "hybrid"]),
    help="Retrieval strategy (repeatable: a sub-folder each plus comparison.md; default: hybrid).",
)
@click.option(
    "--compare",
    type=click.Path(path_type=Path),
    default=None,
    help="Baseline summary.json (or results folder) to report deltas against.",
)
@click.option(
    "--min",
    "minimums",
    multiple=True,
    metavar="METRIC=VALUE",
    help="Exit with code 1 when METRIC falls below VALUE (repeatable).",
)
@click.option(
    "--docs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Documents a JSONL set is answered from, in a temporary store (repeatable; default: seeds/).",
)
@click.option(
    "--claims",
    type=click.Path(path_type=Path),
    default=None,
    help="Claim set to check (verdict accuracy; default: seeds/claims.jsonl when no --qa is given).",
)
@click.option("--calibrate", is_flag=True, help="Also sweep the refusal threshold and recommend a value.")
@click.option("--json", "as_json", is_flag=True, help="Print summary.json to stdout.")
@click.pass_obj
def eval_command(
    settings: Settings,
    qa: tuple[Path, ...],
    out: Path | None,
    strategies: tuple[str, ...],
    compare: Path | None,
    minimums: tuple[str, ...],
    docs: tuple[Path, ...],
    claims: Path | None,
    calibrate: bool,
    as_json: bool,
) -> None:
    """Score the answers on a Q&A set: retrieval, answer, citation and refusal metrics, a report and a plot."""
    from retrieval import InputError

    from .evaluation.metrics import parse_bound
    from .evaluation.run import evaluate, new_results_folder
    from .terminal import show_eval

    try:
        bounds = [parse_bound(m) for m in minimums]
    except ValueError as exc:
        raise InputError(f"--min: {exc}") from None
    run = evaluate(
        settings,
        list(qa) or [settings.seeds_dir / "qa.jsonl"],
        out=out or new_results_folder(),
        strategies=strategies or ("hybrid",),
        compare=compare,
        bounds=bounds,
        calibrate=calibrate,
        docs=docs,
        claims=claims or _default_claims(settings, qa),
    )
    show_eval(run, as_json=as_json)
    raise click.exceptions.Exit(1 if run.failed_bounds else 0)


def _default_claims(settings: Settings, qa: tuple[Path, ...]) -> Path | None:
    """seeds/claims.jsonl when the default Q&A set is evaluated and the file exists."""
    path = settings.seeds_dir / "claims.jsonl"
    return path if not qa and path.is_file() else None


def _sizes(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int] | None:
    """`--scale 10000,100000,1000000` as a list of sizes (1,000 to 10,000,000 each)."""
    if value is None:
        return None
    try:
        sizes = [int(v.replace("_", "")) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter("a comma-separated list of passage counts, e.g. 10000,100000,1000000") from None
    if not sizes or any(not 1000 <= n <= 10_000_000 for n in sizes):
        raise click.BadParameter("each size must be between 1,000 and 10,000,000 passages")
    return sizes


@cli.command()
@click.option(
    "--chunks",
    type=click.IntRange(1000, 10_000_000),
    default=None,
    help="Passages in the synthetic corpus that retrieval latency is measured on [default: 100000].",
)
@click.option("--quick", is_flag=True, help="Fewer repetitions and 10,000 passages unless --chunks says otherwise.")
@click.option(
    "--scale",
    "sizes",
    callback=_sizes,
    default=None,
    metavar="N,N,...",
    help="Instead: retrieval, build time and memory at each corpus size, e.g. 10000,100000,1000000.",
)
@click.option(
    "--png",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("ragbot-bench-scale.png"),
    show_default=True,
    help="With --scale: where to draw the curve.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON object.")
@click.pass_obj
def bench(
    settings: Settings, chunks: int | None, quick: bool, sizes: list[int] | None, png: Path, as_json: bool
) -> None:
    """Measure ingest and answer speed, retrieval latency at scale, cold start and memory."""
    from .evaluation.bench import load_average, run
    from .terminal import bench_table

    def progress(note: str) -> None:
        click.echo(f"bench: {note}", err=True)

    before = load_average()
    if sizes:
        from .evaluation.bench_scale import run_scale
        from .terminal import scale_table

        scaled = run_scale(settings, sizes, passes=1 if quick else 2, png=png, progress=progress)
        click.echo(json.dumps(scaled.to_json()) if as_json else scale_table(scaled))
        return
    result = run(settings, chunks=chunks, quick=quick, progress=progress)
    click.echo(json.dumps(result.to_json()) if as_json else bench_table(result, (before, load_average())))


def main() -> None:
    """The `ragbot` console script."""
    try:
        cli(prog_name="ragbot")
    except SystemExit as done:  # how click ends every command
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        if isinstance(done.code, str):
            print(done.code, file=sys.stderr)
        _exit(code)


def _exit(code: int) -> None:
    """End the process once the command is done: the exit handlers run (logging's among them) and the
    output flushed, then `os._exit`, skipping the interpreter's teardown of every module and the native
    libraries' destructors (about 0.1 s of a cold `ask`'s 0.5 s). Only when nothing else needs that
    teardown: chromadb was never imported (its store's files are closed by it), as on the local
    answering path, and no thread but daemons is left (a library's worker pool is stopped by it)."""
    import atexit
    import os
    import threading

    others = [t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
    if "chromadb" in sys.modules or any(t.is_alive() for t in others):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`ragbot ask ... | head`) or stream
            code = code or 1
    os._exit(code)


from .commands.check import check, quotes  # noqa: E402 - registered once `cli` exists
from .commands.documents import remove, show  # noqa: E402
from .commands.feedback import feedback  # noqa: E402

cli.add_command(show)
cli.add_command(remove)
cli.add_command(check)
cli.add_command(quotes)
cli.add_command(feedback)
