"""`ragbot check CLAIM` (supported, contradicted or not mentioned, with the deciding quotes) and
`ragbot quotes` (who said what in the documents, with the words that attribute it).

`check -` reads one claim per line like `ask -`: blank lines are skipped, a bad line gets its error
(`{"claim", "error"}` with --json) and the others are still judged; the exit code is the worst
line's. Printing only: the verdicts come from `Engine.check`, the attributions from `Engine.quotes`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from retrieval import Attribution, Check, Engine, RagbotError, Settings

VERDICT_WORDS = {"supported": "SUPPORTED", "contradicted": "CONTRADICTED", "not_mentioned": "NOT MENTIONED"}


def check_text(check: Check) -> str:
    """A verdict as terminal lines: the verdict and confidence, the explanation, each quote with its offsets."""
    lines = [
        f"{VERDICT_WORDS.get(check.verdict, check.verdict)} (confidence {check.confidence:.2f})",
        check.explanation,
    ]
    for c in check.citations:
        lines.append(f"  [{c.n}] “{c.quote}” — {c.source} {c.start}-{c.end}")
    if check.closest is not None:
        lines.append(
            f"  closest: “{check.closest.quote}” — {check.closest.source} {check.closest.start}-{check.closest.end}"
        )
    if check.note:
        lines.append(f"  note: {check.note}")
    return "\n".join(lines)


def _error_json(claim: str, exc: Exception) -> str:
    import re

    from ..terminal import json_line

    return json_line({"claim": re.sub("[\ud800-\udfff]", "\ufffd", claim), "error": str(exc)})


def _failed(exc: RagbotError) -> None:
    click.echo(f"ragbot: {exc}", err=True)


def check_lines(open_engine: Callable[[], Engine], lines: Iterable[str], *, as_json: bool, k: int | None) -> int:
    """One verdict per non-blank line, in order; returns the exit code (the worst line's, as `ask -`)."""
    from retrieval import RagbotError, clean_question

    from ..terminal import json_line, open_for_lines

    engine, broken = open_for_lines(open_engine, as_json=as_json)
    code = broken.exit_code if broken else 0
    for raw in lines:
        claim = raw.rstrip("\r\n")
        if not claim.strip():
            continue
        try:
            if broken is not None:
                clean_question(claim)
                raise broken
            assert engine is not None
            result = engine.check(claim, k=k)
        except RagbotError as exc:
            code = max(code, exc.exit_code)
            click.echo(_error_json(claim, exc)) if as_json else _failed(exc)
            continue
        click.echo(json_line(result.to_json()) if as_json else check_text(result))
    return code


@click.command()
@click.argument("claim")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as one JSON object.")
@click.option("-k", "k", type=click.IntRange(1, 50), default=None, help="Passages to retrieve.")
@click.pass_obj
def check(settings: Settings, claim: str, as_json: bool, k: int | None) -> None:
    """Check CLAIM against the documents: supported, contradicted or not mentioned, with the quotes that
    decide it (or, with '-', one claim per line of stdin)."""
    from retrieval import RagbotError

    from ..cli import _engine

    def open_engine() -> Engine:
        return _engine(settings)

    if claim == "-":
        stdin = sys.stdin
        if hasattr(stdin, "reconfigure"):
            stdin.reconfigure(errors="surrogateescape")
        raise click.exceptions.Exit(check_lines(open_engine, stdin, as_json=as_json, k=k))
    if as_json:
        try:
            result = open_engine().check(claim, k=k)
        except RagbotError as exc:
            click.echo(_error_json(claim, exc))
            _failed(exc)
            raise click.exceptions.Exit(exc.exit_code) from None
        from ..terminal import json_line

        click.echo(json_line(result.to_json()))
        return
    click.echo(check_text(open_engine().check(claim, k=k)))


def quote_lines(found: Iterable[Attribution]) -> str:
    """Attributions as terminal lines: the speaker, the words, the source and offsets, the evidence."""
    out = []
    for a in found:
        out.append(f"{a.speaker} ({a.kind}): “{a.text}” — {a.source} {a.start}-{a.end}")
        out.append(f"    attributed by: “{a.evidence}” {a.evidence_start}-{a.evidence_end}")
    return "\n".join(out)


@click.command()
@click.option("--speaker", default=None, help="Only what this speaker said (a part of the name is enough).")
@click.option("--about", default=None, help="Only statements about this topic (their words, or the attribution's).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
def quotes(settings: Settings, speaker: str | None, about: str | None, as_json: bool) -> None:
    """List who said what in the documents: direct and reported speech, with the words that attribute it."""
    from ..cli import _engine
    from ..terminal import json_line

    found = _engine(settings).quotes(speaker=speaker, about=about)
    if as_json:
        for a in found:
            click.echo(json_line(a.to_json()))
        return
    click.echo(quote_lines(found) if found else "No attributed speech found.")
