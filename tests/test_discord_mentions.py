"""The mention flow in a channel, end to end through discord.py with dpytest's fake Discord backend.

dpytest cannot make threads, so thread creation fails here the way a missing permission does, and the
answer is a reply in the channel (threads themselves are covered in test_discord_threads.py).
dpytest also keeps members only in the member cache, which needs the members intent: the bot under
test gets it added; the real bot never asks for it (see test_discord_bot.py).
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import discord
import discord.ext.test as dpytest
import pytest

from bot.discord_bot.app import RagBot, intents_for
from bot.discord_bot.embeds import answer_of_description
from bot.discord_bot.feedback import FeedbackStore

QUESTION = "Who said opposition fighters would be eradicated?"


@pytest.fixture
async def bot(make_settings, make_discord_settings, engine, monkeypatch):
    async def no_threads(self, **kwargs):
        raise discord.Forbidden(SimpleNamespace(status=403, reason="Forbidden"), "Missing Permissions")

    monkeypatch.setattr(discord.Message, "create_thread", no_threads)
    discord_settings = make_discord_settings(cooldown_s=30)
    intents = intents_for(discord_settings)
    intents.members = True  # dpytest's member cache only
    store = FeedbackStore(discord_settings.db_path)
    bot = RagBot(make_settings(), discord_settings, engine, store, intents=intents)
    await bot._async_setup_hook()
    dpytest.configure(bot)
    bot._connection.loop = asyncio.get_running_loop()  # what login() would set; dpytest does not
    await bot.setup_hook()
    yield bot
    await dpytest.empty_queue()
    bot.store.close()


async def test_a_mention_gets_a_cited_answer_in_the_channel(bot):
    asked = await dpytest.message(f"<@{bot.user.id}> {QUESTION}")
    reply = dpytest.get_message()
    assert reply.author.id == bot.user.id and reply.channel == asked.channel
    (embed,) = reply.embeds
    assert embed.title == QUESTION
    assert "Lavrov" in embed.description and "[1]" in embed.description
    assert embed.fields[0].name.startswith("[1] ") and "“eradicated”" in embed.fields[0].value
    assert embed.footer.text.startswith("confidence: ") and " · extractive · no LLM · " in embed.footer.text
    (record,) = bot.store.by_messages([reply.id]).values()
    assert record.question == QUESTION and record.answer == answer_of_description(embed.description)
    assert record.channel_id == asked.channel.id
    assert dpytest.verify().message().nothing()


async def test_the_channel_history_becomes_the_conversation(bot):
    await dpytest.message(f"<@{bot.user.id}> {QUESTION}")
    reply = dpytest.get_message()
    turns = await bot.conversation(reply.channel)
    assert [(t.question, t.answer) for t in turns] == [(QUESTION, answer_of_description(reply.embeds[0].description))]


async def test_messages_without_a_mention_are_left_alone(bot):
    await dpytest.message(QUESTION)
    assert dpytest.verify().message().nothing()


async def test_a_bare_mention_gets_help(bot):
    await dpytest.message(f"<@{bot.user.id}>")
    assert dpytest.verify().message().contains().content("Ask me a question about the documents")


async def test_a_second_question_within_the_cooldown_is_refused(bot):
    await dpytest.message(f"<@{bot.user.id}> {QUESTION}")
    dpytest.get_message()
    await dpytest.message(f"<@{bot.user.id}> What did Kerry say?")
    assert dpytest.verify().message().contains().content("One question every 30 s")


async def test_everyone_in_a_question_is_stripped_and_never_pinged(bot):
    await dpytest.message(f"@everyone <@{bot.user.id}> {QUESTION} @here")
    reply = dpytest.get_message()
    assert reply.embeds[0].title == QUESTION and not reply.mention_everyone
