"""The commands server members use beside /ask: /help, /forget, "Ask about this message", private answers,
/ask in the bot's threads, a mention in a reply, and the retention purge at start.

Slash commands, the context menu and its form are driven by calling their callbacks with the fakes of
tests/helpers/discord_fakes.py (dpytest cannot send interactions); the real engine answers.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from types import SimpleNamespace

import discord

from bot.discord_bot.app import RagBot
from bot.discord_bot.cogs.context import NO_TEXT, QuestionForm
from bot.discord_bot.cogs.help import ROWS
from bot.discord_bot.cogs.mentions import UNREAD_REPLY
from bot.discord_bot.embeds import HelpRow, answer_of_description, help_text
from retrieval.schema import Turn
from tests.helpers.discord_fakes import (
    BOT_ID,
    FakeDM,
    FakeInteraction,
    FakeMessage,
    FakeTextChannel,
    FakeThread,
    Recording,
    offline_bot,
    pings_nobody,
    user,
)

FIRST = "Which U.S. official said Assad has never shown any willingness to get to the negotiating table?"
FOLLOW_UP = "And where was he speaking?"
ANSWERABLE = "How long was the cease-fire proposed in the resolution that was blocked?"
ME = SimpleNamespace(id=BOT_ID)


async def call(bot: RagBot, cog_name: str, command: str, itx: FakeInteraction, *args, **kwargs) -> FakeInteraction:
    cog = bot.get_cog(cog_name)
    await getattr(cog, command).callback(cog, itx, *args, **kwargs)
    assert all(pings_nobody(s.allowed_mentions) for s in itx.sent if s.kind not in ("defer", "modal"))
    return itx


# -- /help --------------------------------------------------------------------------------------
async def test_help_lists_every_way_to_ask_with_examples_only_to_the_asker(make_bot, engine):
    bot = await make_bot(engine, cooldown_s=10)
    (reply,) = (await call(bot, "Help", "help", FakeInteraction(bot, 1))).sent
    assert reply.kind == "response" and reply.ephemeral and len(reply.content) <= 2000
    for needle in ("/ask", "private", "Ask about this message", "/about", "/forget", "@ragbot where", "every 10 s"):
        assert needle in reply.content
    assert "{name}" not in reply.content and reply.embed is None


async def test_help_names_every_registered_command(make_bot, engine):
    bot = await make_bot(engine)
    (reply,) = (await call(bot, "Help", "help", FakeInteraction(bot, 1))).sent
    registered = {c.name for c in bot.tree.get_commands()}
    assert {"ask", "check", "quotes", "about", "forget", "help", "Ask about this message"} <= registered
    for name in registered:
        assert (name if " " in name else f"/{name}") in reply.content, name
    assert "/check claim:" in reply.content and "/quotes" in reply.content


def test_help_is_built_from_rows_so_a_command_adds_one():
    rows = [*ROWS, HelpRow("/new thing:", "a new command", "`/new thing: x`")]
    text = help_text(rows, intro="Hi.")
    assert text.startswith("Hi.\n") and "**/new thing:**: a new command" in text and "e.g. `/new" in text


# -- private answers -----------------------------------------------------------------------------
async def test_a_private_ask_is_seen_by_the_asker_alone(make_bot, engine):
    class Long:
        thresholds = engine.thresholds

        def answer(self, question, history=(), **kwargs):
            real = engine.answer(question, history, **kwargs)
            return replace(real, answer=" ".join([real.answer] * 40))

    bot = await make_bot(Long())
    itx = await call(bot, "Ask", "ask", FakeInteraction(bot, 1), ANSWERABLE, private=True)
    defer, answer, *rest = itx.sent
    assert defer.kind == "defer" and defer.ephemeral and itx.thinking
    assert answer.kind == "edit" and answer.embed and answer.view  # edits of an ephemeral response stay ephemeral
    assert rest and all(s.kind == "followup" and s.ephemeral for s in rest)
    assert bot.store.by_messages([answer.id])[answer.id].user_id == 1


async def test_a_private_ask_past_its_15_minutes_goes_by_dm(make_bot, engine):
    bot = await make_bot(engine)
    dm, channel = FakeDM(), FakeTextChannel()
    itx = FakeInteraction(bot, 1, channel=channel, dm=dm)
    itx.expired = True
    await call(bot, "Ask", "ask", itx, ANSWERABLE, private=True)
    (sent,) = dm.sent
    assert sent.embed and "seven-day" in sent.embed.description and "private" in sent.content
    assert channel.sent == [] and bot.store.by_messages([sent.id])


async def test_a_private_ask_past_its_15_minutes_without_dms_is_dropped_and_logged(make_bot, engine, caplog):
    bot = await make_bot(engine)
    channel = FakeTextChannel()
    itx = FakeInteraction(bot, 1, channel=channel, dm=None)  # the user takes no DMs
    itx.expired = True
    with caplog.at_level(logging.INFO):
        await call(bot, "Ask", "ask", itx, ANSWERABLE, private=True)
    assert channel.sent == [] and [s.kind for s in itx.sent] == ["defer"]
    assert any("dropped a private answer" in r.getMessage() for r in caplog.records)
    assert bot.queue.asking == set()


# -- /ask in the bot's thread ----------------------------------------------------------------------
async def test_ask_in_one_of_the_bots_threads_uses_its_history(make_bot, engine):
    recording = Recording(engine)
    bot = await make_bot(recording)
    thread = FakeThread(owner_id=BOT_ID)
    first = await call(bot, "Ask", "ask", FakeInteraction(bot, 1, channel=thread), FIRST)
    shown = first.last()
    thread.messages.append(  # the answer as Discord keeps it in the thread
        FakeMessage("", author=SimpleNamespace(id=BOT_ID, bot=True), channel=thread, id=shown.id, embeds=[shown.embed])
    )
    follow = await call(bot, "Ask", "ask", FakeInteraction(bot, 1, channel=thread), FOLLOW_UP)
    assert recording.calls[1] == (FOLLOW_UP, [Turn(FIRST, answer_of_description(shown.embed.description))])
    assert "Brussels" in follow.last().embed.description
    elsewhere = await call(bot, "Ask", "ask", FakeInteraction(bot, 1, channel=FakeThread(owner_id=5)), FOLLOW_UP)
    assert recording.calls[2] == (FOLLOW_UP, []) and elsewhere.last().embed  # someone else's thread: no memory


# -- "Ask about this message" -----------------------------------------------------------------------
async def test_ask_about_this_message_opens_a_form_and_answers_with_the_message_as_context(make_bot, engine):
    recording = Recording(engine)
    bot = await make_bot(recording)
    (menu,) = [c for c in bot.tree.get_commands(type=discord.AppCommandType.message)]
    assert menu.name == "Ask about this message"
    said = engine.answer(FIRST).answer
    target = FakeMessage(said, author=user(9), channel=FakeTextChannel())
    target.jump_url = "https://discord.com/channels/1/2/3"
    itx = FakeInteraction(bot, 1)
    await menu.callback(itx, target)
    # (each bot loads its cogs' modules afresh, so the form's class is matched by name)
    assert [s.kind for s in itx.sent] == ["modal"] and type(itx.modal).__name__ == QuestionForm.__name__

    form = itx.modal
    form.question._value = FOLLOW_UP  # what the user typed
    submitted = FakeInteraction(bot, 1)
    await form.on_submit(submitted)
    assert recording.calls == [(FOLLOW_UP, [Turn(" ".join(said.split()))])]
    final = submitted.last()
    assert submitted.sent[0].kind == "defer" and final.kind == "edit" and "Brussels" in final.embed.description
    assert final.content == "About https://discord.com/channels/1/2/3" and pings_nobody(final.allowed_mentions)


async def test_ask_about_a_message_without_text_is_refused(make_bot, engine):
    bot = await make_bot(engine)
    (menu,) = bot.tree.get_commands(type=discord.AppCommandType.message)
    itx = FakeInteraction(bot, 1)
    await menu.callback(itx, FakeMessage("", author=user(9), channel=FakeTextChannel()))
    (reply,) = itx.sent
    assert reply.ephemeral and reply.content == NO_TEXT


# -- a mention in a reply --------------------------------------------------------------------------
async def mention_in_reply(bot: RagBot, question: str, resolved) -> tuple[FakeThread, FakeMessage]:
    channel = FakeTextChannel()
    message = FakeMessage(
        f"<@{BOT_ID}> {question}",
        author=user(1),
        channel=channel,
        guild=SimpleNamespace(id=1),
        mentions=[ME],
        type=discord.MessageType.reply,
        reference=SimpleNamespace(resolved=resolved, message_id=None),
    )
    await bot.get_cog("Mentions").on_message(message)
    (thread,) = channel.made_threads
    return thread, message


async def test_a_mention_in_a_reply_takes_the_replied_to_message_as_context(make_bot, engine):
    recording = Recording(engine)
    bot = await make_bot(recording)
    said = engine.answer(FIRST).answer
    thread, _ = await mention_in_reply(bot, FOLLOW_UP, FakeMessage(said, author=user(9), channel=None))
    assert recording.calls == [(FOLLOW_UP, [Turn(" ".join(said.split()))])]
    (sent,) = thread.sent
    assert "Brussels" in sent.embed.description and not sent.content


async def test_a_reply_to_an_unreadable_message_says_so_in_the_answer(make_bot, engine):
    recording = Recording(engine)
    bot = await make_bot(recording)
    unreadable = FakeMessage("", author=user(9), channel=None)  # no message-content intent: its text is hidden
    thread, _ = await mention_in_reply(bot, ANSWERABLE, unreadable)
    assert recording.calls == [(ANSWERABLE, [])]
    (sent,) = thread.sent
    assert sent.content == UNREAD_REPLY and "seven-day" in sent.embed.description


# -- /forget and retention -----------------------------------------------------------------------------
async def test_forget_deletes_the_askers_questions_and_votes_and_says_how_many(make_bot, engine):
    bot = await make_bot(engine)
    mine = await call(bot, "Ask", "ask", FakeInteraction(bot, 7), ANSWERABLE)
    theirs = await call(bot, "Ask", "ask", FakeInteraction(bot, 8), FIRST)
    their_id = bot.store.by_messages([theirs.last().id])[theirs.last().id].id
    bot.store.vote(their_id, 7, 1)
    (reply,) = (await call(bot, "Forget", "forget", FakeInteraction(bot, 7))).sent
    assert reply.ephemeral and "1 question" in reply.content and "1 vote" in reply.content
    assert bot.store.by_messages([mine.last().id]) == {} and bot.store.get(their_id) is not None
    assert bot.store.tally(their_id).up == 0
    (again,) = (await call(bot, "Forget", "forget", FakeInteraction(bot, 7))).sent
    assert "nothing of yours" in again.content


async def test_old_rows_are_purged_at_start(make_settings, make_discord_settings, engine):
    settings = make_discord_settings(retention_days=30)
    first = await offline_bot(make_settings(), settings, engine)
    answer_id = first.store.add(engine.answer(ANSWERABLE), user_id=1)
    first.store._run("UPDATE answers SET created_at = '2020-01-01T00:00:00+00:00' WHERE id = ?", (answer_id,))
    kept = first.store.add(engine.answer(ANSWERABLE), user_id=1)
    first.store.close()
    second = await offline_bot(make_settings(), settings, engine)  # setup_hook purges
    assert second.store.get(answer_id) is None and second.store.get(kept) is not None
    second.store.close()


async def test_the_daily_purge_starts_once_when_connected(make_settings, make_discord_settings, engine):
    bot = await offline_bot(make_settings(), make_discord_settings(), engine)
    await bot.on_ready()
    await bot.on_ready()  # a reconnect: still one loop
    assert bot.purger.is_running() and bot.purger.hours == 24
    bot.purger.cancel()
    await asyncio.sleep(0)
    bot.store.close()
