"""What the command line shows on the terminal, apart from answers (render.py) and the chat (chat.py).

- consoles for stdout and stderr, and the embedding progress bar (stderr);
- `json_line`, `json_error`, `answer_json` and `answer_lines`: `ragbot ask --json` (every outcome,
  an error too, one JSON object on stdout) and `ragbot ask -` (one result per non-blank input line);
- `eval_table` and `show_eval`: an eval run's metric table (with deltas against the baseline), its
  calibration advice, where the results are and which `--min` bounds failed;
- `bench_table`: the bench result with its targets; `scale_table`: `bench --scale`, one row per size.
The evaluation and bench modules return data; this is where it is printed. Rich and the
evaluation modules are imported on first use, so `ragbot ask` does not pay for the tables.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from retrieval import Engine, RagbotError

    from .evaluation.bench import BenchResult
    from .evaluation.bench_scale import ScaleResult
    from .evaluation.run import EvalRun

log = logging.getLogger("ragbot")


def stdout_console() -> Console:
    from .render import answer_console

    return answer_console()


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def embedding_progress() -> Callable[[int, int], None]:
    """A progress bar on stderr for embedding, as a callback (done, total); Rich is imported, and the
    bar made, only when there is something to embed (a cold `ask` on a full store never needs it)."""
    bar: Any = None
    task = None

    def update(done: int, total: int) -> None:
        nonlocal bar, task
        if task is None:
            if total == 0:
                return
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            bar = Progress(
                TextColumn("embedding"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=stderr_console(),
                transient=True,
            )
            bar.start()
            task = bar.add_task("embed", total=total)
        bar.update(task, completed=done)
        if done >= total:
            bar.stop()

    return update


# -- ask - --------------------------------------------------------------------------------------
def json_line(obj: dict[str, Any]) -> str:
    """One line of JSON, UTF-8 as is, except the characters some line readers split on (NEL, U+2028, U+2029)."""
    text = json.dumps(obj, ensure_ascii=False)
    return text.replace("\x85", "\\u0085").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def json_error(question: str, exc: Exception) -> str:
    """The contract's error object `{"question", "error"}` as one line (undecodable bytes shown as U+FFFD)."""
    return json_line({"question": re.sub("[\ud800-\udfff]", "\ufffd", question), "error": str(exc)})


def _failed(exc: RagbotError) -> None:
    log.debug("ask failed", exc_info=True)
    click.echo(f"ragbot: {exc}", err=True)


def answer_json(open_engine: Callable[[], Engine], question: str, *, k: int | None) -> int:
    """`ask --json QUESTION`: the answer, or the error, as one JSON object on stdout. Returns the exit code.

    Bad input is refused before the store is opened; an error also gets its `ragbot: ...` line on stderr.
    """
    from retrieval import RagbotError, clean_question

    try:
        clean_question(question)
        answer = open_engine().answer(question, k=k)  # never streamed: printed once verified
    except RagbotError as exc:
        click.echo(json_error(question, exc))
        _failed(exc)
        return exc.exit_code
    click.echo(json_line(answer.to_json()))
    return 0


def open_for_lines(open_engine: Callable[[], Engine], *, as_json: bool) -> tuple[Engine | None, RagbotError | None]:
    """The engine for `ask -` and `check -`, opened before the first line is read. Its error is raised
    without `as_json`; with it, the error is shown once and returned, for every line to report."""
    from retrieval import RagbotError

    try:
        return open_engine(), None
    except RagbotError as exc:
        if not as_json:
            raise
        _failed(exc)
        return None, exc


def answer_lines(
    open_engine: Callable[[], Engine], lines: Iterable[str], *, as_json: bool, k: int | None, conversation: bool
) -> int:
    """`ask -`: one question per line, one result per line, in order. Returns the exit code.

    Blank lines are skipped (with `conversation`, one starts a new conversation). The engine is opened
    before the first line is read; if that fails, without `as_json` the error is raised, and with it
    every question gets the error as its JSON object (bad input still gets its own error), exit code 1.
    """
    from retrieval import RagbotError, Turn, clean_question

    from .render import answer_renderable

    engine, broken = open_for_lines(open_engine, as_json=as_json)
    console = None if as_json else stdout_console()
    history: list[Turn] = []
    code = broken.exit_code if broken else 0
    for raw in lines:
        question = raw.rstrip("\r\n")
        if not question.strip():
            if conversation:
                history = []
            continue
        try:
            if broken is not None:
                clean_question(question)  # bad input is reported as such, whatever the store
                raise broken
            assert engine is not None
            answer = engine.answer(question, history, k=k)
        except RagbotError as exc:
            code = max(code, exc.exit_code)
            if as_json:
                click.echo(json_error(question, exc))
            else:
                click.echo(f"ragbot: {exc}", err=True)
            continue
        if conversation:
            history.append(Turn(question, answer.answer))
        if console is None:
            click.echo(json_line(answer.to_json()))
        else:
            console.print(answer_renderable(answer, engine.thresholds))
    return code


# -- eval ---------------------------------------------------------------------------------------
def eval_table(summary: Mapping[str, Any], baseline: Mapping[str, Any] | None) -> Table:
    """A Rich table of the metrics (with deltas against the baseline)."""
    from rich.table import Table

    from .evaluation.metrics import METRIC_KEYS
    from .evaluation.report import LABELS, delta, fmt, fmt_ci

    meta = summary["meta"]
    table = Table(title=f"ragbot eval: {meta['strategy']} ({meta['n']} questions, {meta['mode']})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% CI")
    table.add_column("n", justify="right")
    if baseline:
        table.add_column("Δ baseline", justify="right")
    for key in METRIC_KEYS:
        m = summary[key]
        cells = [LABELS[key], fmt(m["value"]), fmt_ci(m["ci95"]), str(m.get("n", ""))]
        if baseline:
            d, verdict = delta(key, m["value"], (baseline.get(key) or {}).get("value"))
            color = {"better": "green", "worse": "red"}.get(verdict)
            cells.append(f"[{color}]{d}[/{color}]" if color else d)
        table.add_row(*cells)
    lat = summary["latency_ms"]["total"]
    table.caption = f"latency total p50 {lat['p50']} ms, p95 {lat['p95']} ms"
    return table


def show_eval(run: EvalRun, *, as_json: bool) -> None:
    """The summary (tables, or JSON with `as_json`), calibration advice, the results folder, warnings (a
    baseline measured on other documents), failed bounds."""
    if as_json:
        payload = next(iter(run.summaries.values())) if len(run.summaries) == 1 else run.summaries
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        from rich.console import Console

        console = Console(highlight=False)
        for s, summary in run.summaries.items():
            console.print(eval_table(summary, run.baselines.get(s)))
    for s, summary in run.summaries.items():
        if claims := summary.get("claims"):
            per = ", ".join(f"{g} {v['accuracy']:.3f}" for g, v in claims["per_class"].items() if v["n"])
            click.echo(
                f"claim check ({s}): macro accuracy {claims['macro_accuracy']:.3f} ({per}; n={claims['n']})",
                err=as_json,
            )
    for s, cal in run.calibrations.items():
        rec, cur = cal["recommended"], cal["current"]
        click.echo(
            f"calibration ({s}): recommended refusal_threshold = {rec['threshold']:.3f} "
            f"({rec['accuracy']:.1%} of refusal decisions right, {rec['false_refusals']} answerable refused, "
            f"{rec['false_answers']} unanswerable answered); current {cur['threshold']:.3f} "
            f"({cur['accuracy']:.1%}, {cur['false_refusals']} refused, {cur['false_answers']} answered)",
            err=as_json,
        )
    click.echo(f"results in {run.folder}", err=True)
    for s, notes in run.warnings.items():
        for message in notes:
            click.echo(f"ragbot eval: {s}: warning: {message}", err=True)
    for s, failed in run.failed_bounds.items():
        for message in failed:
            click.echo(f"ragbot eval: {s}: {message}", err=True)


# -- bench --------------------------------------------------------------------------------------
def _number(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}" if value < 100 else f"{value:,.1f}"


def bench_table(result: BenchResult, load: tuple[float, float] | None = None) -> str:
    """The result as aligned lines, each with its target and whether it is met."""
    from .evaluation.bench import TARGETS

    lines = [f"{'measure':<22} {'value':>12}  target"]
    for key, value in result.to_json().items():
        target = ""
        if key in TARGETS:
            op, bound = TARGETS[key]
            ok = value is not None and (value >= bound if op == ">=" else value <= bound)
            target = f"{op} {bound:g}  {'ok' if ok else 'MISSED' if value is not None else 'not measured'}"
        lines.append(f"{key:<22} {_number(value):>12}  {target}".rstrip())
    if load is not None:
        lines.append(f"({os.cpu_count()} cores; 1-minute load average {load[0]:.2f} at start, {load[1]:.2f} at end)")
    return "\n".join(lines)


def scale_table(result: ScaleResult) -> str:
    """One row per size, the stages' milliseconds per question, how each grew, and the note on the corpus."""
    stages = list(result.points[0].stages_ms) if result.points else []
    head = ["passages", "build_s", "p50_ms", "p95_ms", "cold_s", "rss_mb", *stages]
    rows = [
        [
            f"{p.passages:,}",
            _number(p.build_s),
            _number(p.retrieve_ms_p50),
            _number(p.retrieve_ms_p95),
            _number(p.cold_ask_s),
            _number(p.query_peak_rss_mb),
            *(_number(p.stages_ms.get(s)) for s in stages),
        ]
        for p in result.points
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in [head, *rows]]
    lines.append("(stage columns: ms per question under cProfile; rss_mb: peak RSS of a cold `ragbot ask`)")
    growth = result.growth()
    if growth:
        first, last = result.points[0].passages, result.points[-1].passages
        grown = ", ".join(f"{k} x{v:.1f}" for k, v in growth.items())
        lines.append(f"from {first:,} to {last:,} passages: {grown}")
        lines.append(f"the stage that grew most (in ms): {result.fastest_stage()}")
    lines.append(result.note)
    if result.png:
        lines.append(f"curve: {result.png}")
    return "\n".join(lines)
