"""What goes wrong around an answer, and what the user sees: stale buttons of a forgotten store, a failure
after the answer was shown, a worker pool full of answers, a server the bot cannot sync to, system
messages in the bot's threads, an interaction that expired while its question waited, and the smaller
replies (cooldown rounding, attachments in DMs, replies the bot may not send, webhooks).

Driven through the cogs' callbacks with the fakes of tests/helpers/discord_fakes.py and the real engine.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from dataclasses import replace
from types import SimpleNamespace

import discord
import pytest

from bot.discord_bot.app import APOLOGY, RagBot
from bot.discord_bot.replies import InChannel
from retrieval.errors import StoreError
from tests.helpers.discord_fakes import (
    BOT_ID,
    FakeDM,
    FakeInteraction,
    FakeMessage,
    FakeTextChannel,
    FakeThread,
    http_error,
    pings_nobody,
    user,
)

ANSWERABLE = "How long was the cease-fire proposed in the resolution that was blocked?"
OTHER = "Who said opposition fighters would be eradicated?"
GUILD = SimpleNamespace(id=1)
ME = SimpleNamespace(id=BOT_ID)


async def ask(bot: RagBot, question: str, itx: FakeInteraction | None = None, **options) -> FakeInteraction:
    itx = itx or FakeInteraction(bot, 1)
    cog = bot.get_cog("Ask")
    await cog.ask.callback(cog, itx, question, **options)
    assert all(pings_nobody(s.allowed_mentions) for s in itx.sent if s.kind not in ("defer", "modal"))
    return itx


async def click(bot: RagBot, custom_id: str, message_id: int) -> FakeInteraction:
    """A click on a button under the message `message_id`, routed as discord.py routes persistent buttons."""
    view_store = bot._connection._view_store
    (cls, match) = [(c, m) for p, c in view_store._dynamic_items.items() if (m := p.fullmatch(custom_id))][0]
    itx = FakeInteraction(bot, 5, message=SimpleNamespace(id=message_id))
    item = await cls.from_custom_id(itx, None, match)
    await item.callback(itx)
    return itx


class Long:
    """The real engine, its answers made long enough to overflow the embed (an LLM can write this much)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.thresholds = inner.thresholds

    def answer(self, question, history=(), **kwargs):
        real = self.inner.answer(question, history, **kwargs)
        return replace(real, answer=" ".join([real.answer] * 40))


class Held:
    """The real engine, each call waiting until released."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.thresholds = inner.thresholds
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)
        self.threads: list[str] = []

    def describe(self):
        return self.inner.describe()

    def answer(self, question, history=(), **kwargs):
        self.threads.append(threading.current_thread().name)
        self.entered.release()
        assert self.release.wait(60), "never released"
        return self.inner.answer(question, history, **kwargs)


async def entered(held: Held, n: int) -> None:
    """Wait on the loop (no worker thread: the pools may be full) until `n` calls are inside the engine."""
    for _ in range(n):
        while not held.entered.acquire(blocking=False):
            await asyncio.sleep(0.01)


# -- bug 1: a button belongs to its answer for good -------------------------------------------
async def test_an_old_button_never_shows_a_newer_answer_from_a_fresh_file(make_bot, engine):
    first = await make_bot(engine)
    old = (await ask(first, ANSWERABLE)).last()
    old_ids = [item.custom_id for item in old.view.children]
    first.store.close()
    first.store.path.unlink()  # "delete the file to forget them all"

    second = await make_bot(engine)  # a fresh file numbers its answers from 1 again
    new = (await ask(second, OTHER)).last()
    assert second.store.get(1).question == OTHER
    sources = (await click(second, old_ids[0], old.id)).last()
    assert "no longer stored" in sources.content and "eradicated" not in sources.content
    vote = (await click(second, old_ids[1], old.id)).last()
    assert "not recorded" in vote.content and second.store.tally(1).up == 0
    assert "eradicate" in (await click(second, new.view.children[0].custom_id, new.id)).last().content


async def test_a_button_without_a_store_tag_counts_only_under_its_own_message(make_bot, engine):
    bot = await make_bot(engine)
    shown = (await ask(bot, ANSWERABLE)).last()
    answer_id = bot.store.by_messages([shown.id])[shown.id].id
    assert "seven-day" in (await click(bot, f"ragbot:sources:{answer_id}", shown.id)).last().content
    assert "no longer stored" in (await click(bot, f"ragbot:sources:{answer_id}", shown.id + 1)).last().content


# -- bug 2: an answer once shown stays shown --------------------------------------------------
async def test_a_failing_overflow_message_never_replaces_the_delivered_answer(make_bot, engine, caplog):
    bot = await make_bot(Long(engine))
    itx = FakeInteraction(bot, 1)
    itx.followup_error = http_error(discord.HTTPException, 500, 0, "Internal Server Error")
    with caplog.at_level(logging.WARNING, logger="bot.discord_bot.app"):
        await ask(bot, ANSWERABLE, itx)
    edits = [s for s in itx.sent if s.kind == "edit"]
    assert edits[-1].embed is not None and "seven-day" in edits[-1].embed.description
    assert all(s.content != APOLOGY for s in itx.sent)
    assert any("rest of the answer" in r.getMessage() for r in caplog.records)
    assert bot.store.by_messages([edits[-1].id])  # the message id was still written


async def test_a_failing_overflow_in_a_thread_keeps_the_answer_and_says_so_separately(make_bot, engine, monkeypatch):
    bot = await make_bot(Long(engine))
    thread = FakeThread(owner_id=BOT_ID)
    calls = []

    async def add(self, text: str) -> None:
        calls.append(text)
        if len(calls) == 1:
            raise http_error(discord.HTTPException, 500, 0, "Internal Server Error")
        await self.channel.send(text, allowed_mentions=discord.AllowedMentions.none())

    monkeypatch.setattr(InChannel, "add", add)
    await bot.respond(InChannel(thread, user_id=1, guild_id=1), ANSWERABLE)
    first, *rest = thread.sent
    assert first.embed is not None and "seven-day" in first.embed.description
    assert all(s.kind == "send" and s.content != APOLOGY for s in rest)  # nothing edits the answer away
    assert "could not be sent" in calls[-1]


async def test_a_failing_write_of_the_message_id_keeps_the_answer(make_bot, engine, monkeypatch, caplog):
    bot = await make_bot(engine)

    def broken(*args, **kwargs):
        raise StoreError("the Discord store failed: disk I/O error")

    monkeypatch.setattr(bot.store, "set_message", broken)
    with caplog.at_level(logging.WARNING, logger="bot.discord_bot.app"):
        itx = await ask(bot, ANSWERABLE)
    assert itx.last().embed is not None and all(s.content != APOLOGY for s in itx.sent)
    assert any(isinstance(r.exc_info[1], StoreError) for r in caplog.records if r.exc_info)


# -- bug 3: the engine has its own workers; /about defers -------------------------------------
async def test_about_answers_while_answers_fill_every_worker(make_bot, engine):
    loop = asyncio.get_running_loop()
    small = concurrent.futures.ThreadPoolExecutor(2)  # the default pool, as full as answers could make it
    loop.set_default_executor(small)
    held = Held(engine)
    bot = await make_bot(held, max_concurrency=2)
    cog = bot.get_cog("Ask")
    asks = [asyncio.create_task(cog.ask.callback(cog, FakeInteraction(bot, 10 + i), ANSWERABLE)) for i in range(2)]
    await entered(held, 2)
    itx = FakeInteraction(bot, 3)
    about = bot.get_cog("About")
    try:
        await asyncio.wait_for(about.about.callback(about, itx), 20)  # a hang guard, not a timing
    finally:
        held.release.set()
        await asyncio.gather(*asks)
    defer, reply = itx.sent
    assert defer.kind == "defer" and defer.ephemeral
    assert reply.embed.title == "About this bot" and pings_nobody(reply.allowed_mentions)
    assert held.threads and all(name.startswith("ragbot-engine") for name in held.threads)
    small.shutdown()


# -- bug 4: a server the bot cannot sync to ----------------------------------------------------
def test_a_guild_id_the_bot_cannot_sync_to_is_one_line_and_exit_2(tmp_path, store_copy, monkeypatch, engine):
    from click.testing import CliRunner

    from bot.cli import cli
    from tests.helpers import ROOT

    async def refuse(self, *, guild=None):
        raise http_error(discord.Forbidden, 403, 50001, "Missing Access")

    async def start(self, token, *, reconnect=True):
        await self.setup_hook()  # what login() does after the token is accepted

    monkeypatch.setattr(discord.app_commands.CommandTree, "sync", refuse)
    monkeypatch.setattr(RagBot, "start", start)
    monkeypatch.setattr("bot.cli._engine", lambda settings: engine)
    monkeypatch.chdir(tmp_path)
    env = {
        "RAGBOT_CHROMA_PATH": str(store_copy),
        "RAGBOT_SEEDS_DIR": str(ROOT / "seeds"),
        "RAGBOT_DISCORD_DB_PATH": str(tmp_path / "d.sqlite3"),
        "RAGBOT_DISCORD_GUILD_ID": "123456789012345678",
        "DISCORD_TOKEN": "MTIzNDU2Nzg5MDEyMzQ1Njc4.GAbcde.abcdefghijklmnopqrstuvwxyz0123456789ab",
    }
    result = CliRunner().invoke(cli, ["discord"], env=env, catch_exceptions=False)
    lines = [line for line in result.output.splitlines() if line.startswith("ragbot: ") and "connect" not in line]
    assert result.exit_code == 2 and "Traceback" not in result.output
    (line,) = lines
    assert "RAGBOT_DISCORD_GUILD_ID" in line and "applications.commands" in line and "123456789012345678" in line


# -- bug 5: system messages in the bot's thread -------------------------------------------------
@pytest.mark.parametrize(
    "kind",
    [discord.MessageType.channel_name_change, discord.MessageType.pins_add, discord.MessageType.recipient_add],
)
async def test_a_thread_rename_pin_or_join_is_never_a_question(make_bot, engine, kind):
    bot = await make_bot(engine, message_content=True)
    thread = FakeThread(owner_id=BOT_ID)
    message = FakeMessage(
        "Who said opposition fighters would be eradicated?", author=user(1), channel=thread, guild=GUILD, type=kind
    )
    assert not bot.get_cog("Mentions").wants(message)
    await bot.get_cog("Mentions").on_message(message)
    assert thread.sent == [] and message.replies == []
    reply = FakeMessage(OTHER, author=user(1), channel=thread, guild=GUILD, type=discord.MessageType.reply)
    assert bot.get_cog("Mentions").wants(reply)


async def test_a_webhook_message_is_ignored_even_when_not_flagged_as_a_bot(make_bot, engine):
    bot = await make_bot(engine)
    channel = FakeTextChannel()
    message = FakeMessage(
        f"<@{BOT_ID}> {OTHER}", author=user(1), channel=channel, guild=GUILD, mentions=[ME], webhook_id=777
    )
    assert not bot.get_cog("Mentions").wants(message)


# -- bug 6: an interaction that expired while its question waited --------------------------------
async def test_an_ask_past_its_15_minutes_is_posted_in_the_channel_mentioning_nobody(make_bot, engine):
    held = Held(engine)
    bot = await make_bot(held)
    channel = FakeTextChannel()
    itx = FakeInteraction(bot, 1, channel=channel)
    task = asyncio.create_task(ask(bot, ANSWERABLE, itx))
    await entered(held, 1)
    itx.expired = True  # the 15 minutes pass while the engine works
    held.release.set()
    await task
    (posted,) = channel.sent
    assert posted.embed is not None and "seven-day" in posted.embed.description
    assert "user1" in posted.content and "<@" not in posted.content and pings_nobody(posted.allowed_mentions)
    record = bot.store.by_messages([posted.id])[posted.id]
    assert record.channel_id == channel.id and record.user_id == 1


async def test_an_ask_expired_before_answering_never_edits_the_dead_interaction(make_bot, engine):
    bot = await make_bot(engine)
    channel = FakeTextChannel()
    itx = FakeInteraction(bot, 1, channel=channel)
    itx.expired = True
    await ask(bot, ANSWERABLE, itx)
    assert [s.kind for s in itx.sent] == ["defer"]
    (posted,) = channel.sent
    assert posted.embed is not None and bot.store.by_messages([posted.id])


# -- smaller ------------------------------------------------------------------------------------
async def test_the_cooldown_rounds_the_wait_up(make_bot, engine):
    bot = await make_bot(engine, cooldown_s=10)
    assert bot.cooldown_notice(1, now=100.0) is None
    assert "try again in 1 s" in bot.cooldown_notice(1, now=109.7)
    assert "try again in 1 s" in bot.cooldown_notice(1, now=109.99)


async def test_a_dm_holding_only_an_attachment_is_told_attachments_are_not_read(make_bot, engine):
    bot = await make_bot(engine)
    dm = FakeDM()
    message = FakeMessage("", author=user(1), channel=dm, attachments=[SimpleNamespace(filename="report.pdf")])
    await bot.get_cog("Mentions").on_message(message)
    (reply,) = message.replies
    assert "attachment" in reply.content and "@" not in reply.content and dm.sent == []


async def test_help_and_cooldown_replies_the_bot_may_not_send_are_logged_not_raised(make_bot, engine, caplog):
    bot = await make_bot(engine, cooldown_s=30)
    channel = FakeTextChannel()
    bare = FakeMessage(f"<@{BOT_ID}>", author=user(1), channel=channel, guild=GUILD, mentions=[ME])
    bare.reply_error = http_error(discord.Forbidden, 403, 50013, "Missing Permissions")
    with caplog.at_level(logging.INFO):
        await bot.get_cog("Mentions").on_message(bare)  # raises nothing
        bot.retry_after(1)
        again = FakeMessage(f"<@{BOT_ID}> {OTHER}", author=user(1), channel=channel, guild=GUILD, mentions=[ME])
        again.reply_error = http_error(discord.Forbidden, 403, 50013, "Missing Permissions")
        await bot.get_cog("Mentions").on_message(again)
    assert sum("could not reply" in r.getMessage() for r in caplog.records) == 2
