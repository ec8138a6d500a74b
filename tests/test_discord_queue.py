"""The fair queue: one question in flight per user, waiting askers told their place, the engine on its own
workers; the event loop's lag under 20 concurrent /ask (measured and printed, never asserted); and the
start-up checks: permissions per server, plain text without Embed Links, shards.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import threading
from types import SimpleNamespace

import discord
import pytest
from discord.ext import commands

from bot.discord_bot.app import BUSY, PERMISSIONS, RagBot, ShardedRagBot, bot_class, missing_permissions
from bot.discord_bot.fair_queue import FairQueue
from tests.helpers.discord_fakes import (
    BOT_ID,
    FakeInteraction,
    FakeMessage,
    FakeTextChannel,
    Recording,
    pings_nobody,
    user,
)

ANSWERABLE = "How long was the cease-fire proposed in the resolution that was blocked?"
QUESTIONS = [
    ANSWERABLE,
    "Can you give me a recipe for hummus?",
    "Who said opposition fighters would be eradicated?",
    "Where was Kerry speaking?",
]


class Gate:
    """The real engine behind a gate: each call waits until released; the loop can see how many are inside."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.thresholds = inner.thresholds
        self.release = threading.Event()
        self.inside = 0
        self._lock = threading.Lock()

    def answer(self, question, history=(), **kwargs):
        with self._lock:
            self.inside += 1
        assert self.release.wait(60), "never released"
        return self.inner.answer(question, history, **kwargs)

    async def until_inside(self, n: int) -> None:
        while self.inside < n:
            await asyncio.sleep(0.01)


def start_ask(bot: RagBot, itx: FakeInteraction, question: str = ANSWERABLE, **options) -> asyncio.Task:
    cog = bot.get_cog("Ask")
    return asyncio.create_task(cog.ask.callback(cog, itx, question, **options))


async def settle(rounds: int = 20) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


# -- one question in flight per user ------------------------------------------------------------
async def test_a_second_question_while_the_first_is_answered_is_refused(make_bot, engine):
    gate = Gate(engine)
    bot = await make_bot(gate)
    first = FakeInteraction(bot, 7)
    task = start_ask(bot, first)
    await gate.until_inside(1)
    second = FakeInteraction(bot, 7)
    await start_ask(bot, second)
    (refusal,) = second.sent
    assert refusal.kind == "response" and refusal.ephemeral and refusal.content == BUSY
    other = FakeInteraction(bot, 8)  # someone else is not held up by user 7
    other_task = start_ask(bot, other)
    await gate.until_inside(2)
    gate.release.set()
    await asyncio.gather(task, other_task)
    assert first.last().embed and other.last().embed
    again = FakeInteraction(bot, 7)
    await start_ask(bot, again)  # answered: user 7 may ask again
    assert again.last().kind == "edit" and again.last().embed and bot.queue.asking == set()


async def test_a_failed_answer_frees_the_user_too(make_bot):
    class Failing:
        thresholds = (0.3, 0.6)

        def answer(self, question, history=(), **kwargs):
            raise RuntimeError("boom")

    bot = await make_bot(Failing())
    await start_ask(bot, FakeInteraction(bot, 7))
    assert bot.queue.asking == set()


# -- waiting askers see their place ---------------------------------------------------------------
async def test_queued_askers_see_how_many_questions_are_ahead_of_theirs(make_bot, engine):
    gate = Gate(engine)
    bot = await make_bot(gate, max_concurrency=1)
    itxs = [FakeInteraction(bot, 300 + i) for i in range(4)]
    tasks = [start_ask(bot, itxs[0])]
    await gate.until_inside(1)
    for itx in itxs[1:]:
        tasks.append(start_ask(bot, itx))
        await settle()
    notes = [[s.content for s in itx.sent if s.kind == "edit"] for itx in itxs]
    assert notes == [
        [],
        ["Waiting for a free moment: your question is next."],
        ["Waiting for a free moment: 1 question ahead of yours."],
        ["Waiting for a free moment: 2 questions ahead of yours."],
    ]
    gate.release.set()
    await asyncio.gather(*tasks)
    last_notes = [s.content for s in itxs[3].sent if s.kind == "edit" and s.content]
    assert last_notes[0].endswith("2 questions ahead of yours.") and last_notes[-1].endswith("is next.")
    assert len(last_notes) == len(set(last_notes)) <= 3  # told again as it moved up, never twice the same
    for itx in itxs:
        final = itx.last()
        assert final.kind == "edit" and final.embed and final.content is None  # the note gave way to the answer
        assert pings_nobody(final.allowed_mentions)
    assert not bot.queue.waiting and bot.queue.running == 0


async def test_the_queue_serves_in_order_and_a_cancelled_waiter_gives_up_its_place():
    queue = FairQueue(1)
    order: list[str] = []
    seen: dict[str, list[int]] = {"b": [], "c": [], "d": []}

    async def job(name: str, hold: asyncio.Event | None = None) -> None:
        async def status(ahead: int) -> None:
            seen[name].append(ahead)

        async with queue.turn(status):
            order.append(name)
            if hold is not None:
                await hold.wait()

    hold = asyncio.Event()
    a = asyncio.create_task(job("a", hold))
    await settle()
    b, c, d = (asyncio.create_task(job(n)) for n in "bcd")
    await settle()
    assert seen == {"b": [0], "c": [1], "d": [2]} and queue.running == 1
    c.cancel()
    await settle()
    assert seen["d"] == [2, 1] and len(queue.waiting) == 2
    hold.set()
    await asyncio.gather(a, b, d)
    assert c.cancelled() and order == ["a", "b", "d"] and seen["d"][:2] == [2, 1]  # (granted before a 3rd note)
    assert queue.running == 0 and not queue.waiting


async def test_a_waiter_cancelled_as_it_is_handed_the_slot_passes_it_on():
    queue = FairQueue(1)
    hold = asyncio.Event()
    done: list[str] = []

    async def job(name: str, wait: asyncio.Event | None = None) -> None:
        async with queue.turn():
            if wait is not None:
                await wait.wait()
            done.append(name)

    a = asyncio.create_task(job("a", hold))
    await settle()
    b, c = asyncio.create_task(job("b")), asyncio.create_task(job("c"))
    await settle()
    hold.set()
    await asyncio.sleep(0)  # "a" leaves and hands the slot to "b" ...
    b.cancel()  # ... which is cancelled before it runs
    await asyncio.gather(a, c, return_exceptions=True)
    assert b.cancelled() and done == ["a", "c"] and queue.running == 0


async def test_the_engine_runs_on_its_own_named_workers_never_the_loop(make_bot, engine):
    recording = Recording(engine)
    bot = await make_bot(recording, max_concurrency=3)
    names: list[str] = []
    original = recording.answer

    def named(question, history=(), **kwargs):
        names.append(threading.current_thread().name)
        return original(question, history, **kwargs)

    recording.answer = named
    await asyncio.gather(*(start_ask(bot, FakeInteraction(bot, 400 + i), QUESTIONS[i % 4]) for i in range(6)))
    assert len(names) == 6 and all(n.startswith("ragbot-engine") for n in names)
    assert bot.engine_pool._max_workers == 3 and recording.peak <= 3


# -- the loop stays responsive: measured, printed, not asserted -----------------------------------
async def test_loop_lag_under_twenty_concurrent_asks_is_measured(make_bot, engine, capsys):
    bot = await make_bot(Recording(engine))
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:  # how late a 5 ms sleep wakes up, while the answers run
        while not stop.is_set():
            start = loop.time()
            await asyncio.sleep(0.005)
            lags.append(loop.time() - start - 0.005)

    tick = asyncio.create_task(ticker())
    started = loop.time()
    itxs = [FakeInteraction(bot, 500 + i) for i in range(20)]
    await asyncio.gather(*(start_ask(bot, itx, QUESTIONS[i % 4]) for i, itx in enumerate(itxs)))
    elapsed = loop.time() - started
    stop.set()
    await tick
    assert all(itx.last().embed for itx in itxs) and lags
    with capsys.disabled():
        print(
            f"\nloop lag under 20 concurrent /ask (max_concurrency={bot.discord_settings.max_concurrency}): "
            f"median {statistics.median(lags) * 1000:.1f} ms, p95 {sorted(lags)[int(len(lags) * 0.95)] * 1000:.1f} ms, "
            f"max {max(lags) * 1000:.1f} ms over {len(lags)} ticks; all 20 answered in {elapsed:.2f} s"
        )


# -- permissions --------------------------------------------------------------------------------
def fake_guild(guild_id: int, permissions: discord.Permissions):
    return SimpleNamespace(id=guild_id, name=f"server{guild_id}", me=SimpleNamespace(guild_permissions=permissions))


def test_missing_permissions_are_named_as_the_server_settings_name_them():
    assert missing_permissions(PERMISSIONS) == []
    lacking = discord.Permissions(PERMISSIONS.value)
    lacking.embed_links = lacking.create_public_threads = False
    assert missing_permissions(lacking) == ["Create Public Threads", "Embed Links"]


async def test_permissions_are_checked_in_every_server_and_logged_once_each(make_bot, engine, caplog):
    bot = await make_bot(engine)
    full, lacking = discord.Permissions(PERMISSIONS.value), discord.Permissions(PERMISSIONS.value)
    lacking.embed_links = lacking.read_message_history = False
    guilds = [fake_guild(1, full), fake_guild(2, lacking)]
    with caplog.at_level(logging.WARNING, logger="bot.discord_bot.app"):
        for guild in guilds * 2:  # a reconnect checks again, and says nothing new
            bot.check_permissions(guild)
        await bot.on_guild_join(fake_guild(3, discord.Permissions.none()))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "server2 (2)" in lines[0] and "Embed Links, Read Message History" in lines[0]
    assert "server3 (3)" in lines[1] and "View Channels" in lines[1] and "Send Messages in Threads" in lines[1]


async def test_without_embed_links_the_answer_is_plain_text_with_its_buttons(make_bot, engine):
    bot = await make_bot(engine)
    no_embeds = discord.Permissions(PERMISSIONS.value)
    no_embeds.embed_links = False
    channel = FakeTextChannel(perms=no_embeds)
    message = FakeMessage(
        f"<@{BOT_ID}> {ANSWERABLE}",
        author=user(1),
        channel=channel,
        guild=SimpleNamespace(id=1),
        mentions=[SimpleNamespace(id=BOT_ID)],
    )
    await bot.get_cog("Mentions").on_message(message)
    (thread,) = channel.made_threads
    first, *rest = thread.sent
    assert first.embed is None and first.view is not None and len(first.content) <= 2000
    assert first.content.startswith(f"**{discord.utils.escape_markdown(ANSWERABLE)}**")
    assert "seven-day cease-fire" in first.content and "[1]" in first.content
    text = "\n".join(s.content for s in thread.sent)
    assert "confidence: " in text and all(s.embed is None and len(s.content) <= 2000 for s in rest)
    assert all(pings_nobody(s.allowed_mentions) for s in thread.sent)
    assert bot.store.by_messages([thread.messages[0].id])  # its buttons work as an embed's do


async def test_an_interaction_without_embed_links_gets_plain_text(make_bot, engine):
    bot = await make_bot(engine)
    itx = FakeInteraction(bot, 1, app_permissions=discord.Permissions(send_messages=True))
    await start_ask(bot, itx)
    final = itx.last()
    assert final.embed is None and "seven-day cease-fire" in final.content and final.view is not None


# -- shards -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("shards", "cls", "options"),
    [("off", RagBot, {}), ("auto", ShardedRagBot, {}), ("3", ShardedRagBot, {"shard_count": 3})],
)
def test_shards_pick_the_bot_class(shards, cls, options):
    assert bot_class(shards) == (cls, options)


async def test_a_sharded_bot_is_discord_pys_auto_sharded_bot_with_every_command(
    make_settings, make_discord_settings, engine
):
    from bot.discord_bot.feedback import FeedbackStore

    discord_settings = make_discord_settings(shards="auto")
    cls, options = bot_class(discord_settings.shards)
    bot = cls(make_settings(), discord_settings, engine, FeedbackStore(discord_settings.db_path), **options)
    assert isinstance(bot, commands.AutoShardedBot) and isinstance(bot, RagBot)
    await bot.setup_hook()
    assert {"ask", "help", "forget"} <= {c.name for c in bot.tree.get_commands()}
    bot.store.close()


async def test_a_note_leads_the_plain_text_answer_in_the_same_message(make_bot, engine):
    from bot.discord_bot.replies import InChannel
    from tests.helpers.discord_fakes import FakeThread

    bot = await make_bot(engine)
    no_embeds = discord.Permissions(PERMISSIONS.value)
    no_embeds.embed_links = False
    thread = FakeThread(owner_id=BOT_ID, perms=no_embeds)
    await bot.post_answer(InChannel(thread, user_id=1, guild_id=1), engine.answer(ANSWERABLE), note="About that.")
    first = thread.sent[0]
    assert first.content.startswith("About that.\n**") and first.view is not None and first.embed is None
