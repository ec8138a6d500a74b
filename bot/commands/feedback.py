"""`ragbot feedback export`: answers voted in Discord become draft rows of the Q&A format.

Built on the Discord store's `qa_drafts()` (bot/discord_bot/feedback.py): each voted answer with at
least one 👎 (with `--all`, every voted one) becomes `{"id", "type": "draft", "question", "answers": [],
"evidence": [the cited quotes], "bot_answer", "cited": [{"n", "source", "quote", "start", "end"}],
"votes": {"up", "down"}, "net_votes", "asked_at"}`. A person fills in `answers` (and `evidence`), sets
`type` (or "unanswerable" with empty `answers`), and adds the row to a Q&A set; `ragbot eval --qa`
refuses rows still of type "draft". A refusal ("the documents don't say") voted 👎 is exported too
(`"bot_refused": true`, no citations): a question the bot should have answered. Never creates or
changes the store.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ..discord_bot.feedback import FeedbackStore

EVERY_VOTE = -(10**9)  # qa_drafts' lowest net vote: every voted answer


def _since(text: str | None) -> datetime | None:
    from retrieval import InputError

    if text is None:
        return None
    try:
        when = (
            datetime.fromisoformat(text)
            if "T" in text
            else datetime.combine(date.fromisoformat(text), datetime.min.time())
        )
    except ValueError:
        raise InputError(f"--since {text!r} is not a date: use YYYY-MM-DD (or an ISO 8601 time)") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def draft_rows(store: FeedbackStore, *, every: bool = False, since: datetime | None = None) -> list[dict[str, Any]]:
    """The draft rows of the voted answers (👎 only unless `every`), asked at or after `since`, oldest first."""
    rows = []
    for draft in store.qa_drafts(min_net_votes=EVERY_VOTE, refusals=True):
        answer_id = int(str(draft["id"]).rsplit("-", 1)[-1])
        record = store.get(answer_id)
        if record is None:
            continue
        tally = store.tally(answer_id)
        if not every and tally.down == 0:
            continue
        if since is not None and datetime.fromisoformat(record.created_at) < since:
            continue
        cited = [
            {"n": s.n, "source": s.source, "quote": s.quote, "start": s.start, "end": s.end}
            for s in record.sources
            if s.n
        ]
        rows.append(
            {
                **draft,
                "cited": cited,
                "votes": {"up": tally.up, "down": tally.down},
                "asked_at": record.created_at,
            }
        )
    return rows


@click.group()
def feedback() -> None:
    """Turn the votes on the Discord bot's answers into evaluation cases."""


@feedback.command("export")
@click.option("--since", default=None, metavar="DATE", help="Only answers given on or after DATE (YYYY-MM-DD).")
@click.option(
    "--out", type=click.Path(path_type=Path), default=None, help="Write to FILE (a new file) instead of stdout."
)
@click.option("--all", "every", is_flag=True, help="Every voted answer, 👍 too (default: those with a 👎).")
@click.option("--db", type=click.Path(path_type=Path), default=None, help="The Discord store [RAGBOT_DISCORD_DB_PATH].")
def export(since: str | None, out: Path | None, every: bool, db: Path | None) -> None:
    """Write voted answers as draft Q&A rows (JSONL) for a person to fill in and add to a set."""
    from retrieval import InputError

    from ..discord_bot import load_discord_settings
    from ..discord_bot.feedback import FeedbackStore
    from ..terminal import json_line

    when = _since(since)
    path = db or load_discord_settings().db_path
    if not path.is_file():
        raise InputError(f"no Discord store at {path}: the bot writes it when it answers (RAGBOT_DISCORD_DB_PATH)")
    if out is not None and out.exists():
        raise InputError(f"{out} exists: choose another --out (nothing was written)")
    store = FeedbackStore(path)
    try:
        rows = draft_rows(store, every=every, since=when)
    finally:
        store.close()
    text = "".join(json_line(r) + "\n" for r in rows)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
    which = "voted" if every else "voted 👎"
    click.echo(f"{len(rows)} {which} answer(s) exported{f' to {out}' if out else ''}", err=True)
