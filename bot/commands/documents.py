"""`ragbot show` and `ragbot remove`: open a citation in its document, and take documents out of the store.

- `ragbot show SOURCE --start N --end M`: the quoted span in its paragraph, the quote highlighted
  (Rich), headed by where it is (page, line, paragraph) and the document's title and date, and a
  note when the file changed since ingest; from the text stored at ingest, so URLs work too.
- `ragbot show --text SOURCE`: the whole text offsets refer to, exactly as stored (nothing added,
  not even a newline), so `text[start:end] == quote` for every citation of SOURCE.
- `ragbot remove SOURCE ...`: drops each document's passages (vectors and catalog) without
  `--rebuild`; an unknown SOURCE is an input error (exit 2) and nothing is removed.
The core does the work (`retrieval.open_citation`, `document_text`, `remove`); this module prints.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.console import Group

    from retrieval import OpenedCitation, Settings


@click.command()
@click.argument("source")
@click.option("--start", type=click.IntRange(min=0), default=None, help="Offset where the quote starts.")
@click.option("--end", type=click.IntRange(min=1), default=None, help="Offset where the quote ends.")
@click.option("--text", "whole", is_flag=True, help="Print the whole text the offsets refer to, exactly.")
@click.pass_obj
def show(settings: Settings, source: str, start: int | None, end: int | None, whole: bool) -> None:
    """Show a cited passage of SOURCE in context (--start N --end M), or its whole text (--text)."""
    from retrieval import Index, InputError, document_text, open_citation

    if not whole and (start is None or end is None):
        raise InputError("give --start N --end M (as a citation shows them), or --text for the whole text")
    index = Index.open(settings)
    if whole:
        sys.stdout.write(document_text(index, source))  # exactly: click.echo would strip escape codes
        sys.stdout.flush()
        return
    assert start is not None and end is not None
    from bot.render import answer_console

    answer_console().print(opened_renderable(open_citation(index, source, start, end)))


def opened_renderable(opened: OpenedCitation) -> Group:
    """The heading (source, page or line, paragraph, title, date), the paragraph with the quote
    highlighted, and the note when the file changed since ingest."""
    from rich.console import Group
    from rich.text import Text

    p = opened.passage
    where = [opened.source]
    if p is not None and p.page is not None:
        where.append(f"p. {p.page}")
    if p is not None and p.line is not None:
        where.append(f"line {p.line}")
    if p is not None:
        where.append(f"paragraph {p.paragraph}")
    where.append(f"characters {opened.start}-{opened.end}")
    about = ", ".join(x for x in (p.title if p else opened.document.title, opened.document.date) if x)
    heading = Text(" · ".join(where), style="bold")
    if about:
        heading.append(f" — {about}", style="dim")
    body = Text(opened.text[opened.context_start : opened.context_end])
    body.stylize("bold reverse", opened.start - opened.context_start, opened.end - opened.context_start)
    parts = [heading, body]
    if opened.changed:
        parts.append(Text(f"note: {opened.changed}", style="yellow"))
    return Group(*parts)


@click.command()
@click.argument("sources", nargs=-1, required=True)
@click.pass_obj
def remove(settings: Settings, sources: tuple[str, ...]) -> None:
    """Remove documents (files or URLs, as `ragbot sources` lists them) from the store."""
    from retrieval import remove as remove_documents

    for source, passages in remove_documents(settings, list(sources)).items():
        click.echo(f"removed {source} ({passages} passage{'s' * (passages != 1)})")
