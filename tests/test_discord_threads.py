"""Questions by message, with small fakes where dpytest cannot go: threads made from a mention, follow-ups
that use the thread's history as conversation memory, DMs, and the intent that thread follow-ups need.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from types import SimpleNamespace

import discord
import pytest

from bot.discord_bot.app import APOLOGY
from bot.discord_bot.conversation import turns_from_messages
from bot.discord_bot.embeds import answer_of_description
from bot.discord_bot.feedback import FeedbackStore
from bot.discord_bot.replies import InChannel
from retrieval.schema import Turn
from tests.helpers.discord_fakes import (
    BOT_ID,
    FakeDM,
    FakeMessage,
    FakeTextChannel,
    FakeThread,
    Recording,
    pings_nobody,
    user,
)

FIRST = "Which U.S. official said Assad has never shown any willingness to get to the negotiating table?"
FOLLOW_UP = "And where was he speaking?"
GUILD = SimpleNamespace(id=1)
ME = SimpleNamespace(id=BOT_ID)


async def post(bot, content: str, channel, *, author=None, mentions=(), guild=GUILD) -> FakeMessage:
    """A user's message arriving in `channel` (and kept in its history, as Discord would)."""
    message = FakeMessage(content, author=author or user(1), channel=channel, mentions=mentions, guild=guild)
    channel.messages.append(message)
    await bot.get_cog("Mentions").on_message(message)
    return message


def sent_everything_safely(*places) -> bool:
    return all(pings_nobody(s.allowed_mentions) for p in places for s in p.sent)


# -- the conversation a thread shows ----------------------------------------------------------
def test_turns_come_from_the_bots_answers_in_order(tmp_path, engine):
    store = FeedbackStore(tmp_path / "d.sqlite3")
    a1, a2 = engine.answer(FIRST), engine.answer(FOLLOW_UP)
    for answer, message_id in ((a1, 11), (a2, 13)):
        store.set_message(store.add(answer), message_id)
    bot_author, someone = SimpleNamespace(id=BOT_ID), SimpleNamespace(id=5)
    unknown = discord.Embed(title="An older question", description="An older answer [1]")
    led = discord.Embed(title="Where from?", description="**Hamburg**\nInterfax reported from Hamburg \\*live\\* [1]")
    messages = [
        SimpleNamespace(id=10, author=someone, embeds=[]),
        SimpleNamespace(id=11, author=bot_author, embeds=[]),
        SimpleNamespace(id=12, author=someone, embeds=[]),
        SimpleNamespace(id=13, author=bot_author, embeds=[]),
        SimpleNamespace(id=14, author=bot_author, embeds=[unknown]),  # not in the store: read from its embed
        SimpleNamespace(id=15, author=bot_author, embeds=[]),  # a plain message of ours: not a turn
        SimpleNamespace(id=16, author=bot_author, embeds=[led]),  # its bold short-answer line is not the answer
    ]
    turns = turns_from_messages(messages, BOT_ID, store, max_turns=6)
    assert turns == [
        Turn(a1.question, a1.answer),
        Turn(a2.question, a2.answer),
        Turn("An older question", "An older answer [1]"),
        Turn("Where from?", "Interfax reported from Hamburg \\*live\\* [1]"),
    ]
    assert turns_from_messages(messages, BOT_ID, store, max_turns=2) == turns[2:]
    assert turns_from_messages(messages, BOT_ID, store, max_turns=0) == []
    assert turns_from_messages(messages, 999, store, max_turns=6) == []
    store.close()


# -- mentions make threads; follow-ups use them -----------------------------------------------
async def test_a_mention_is_answered_in_a_thread_made_from_it(make_bot, engine):
    recording = Recording(engine)
    bot = await make_bot(recording)
    channel = FakeTextChannel()
    message = await post(bot, f"<@{BOT_ID}> {FIRST}", channel, mentions=[ME])
    (thread,) = channel.made_threads
    assert thread.name == FIRST[:99] + "…" if len(FIRST) > 100 else thread.name == FIRST
    assert thread.id == message.id and channel.sent == [] and message.replies == []
    (sent,) = thread.sent
    assert sent.embed.title == FIRST and "Kerry" in sent.embed.description
    assert recording.calls == [(FIRST, [])]
    record = bot.store.get(int(sent.view.children[0].custom_id.rsplit(":", 1)[1]))
    assert record.channel_id == thread.id and record.message_id == thread.messages[0].id and record.guild_id == 1
    assert sent_everything_safely(thread)


async def test_a_follow_up_in_the_thread_uses_its_history(make_bot, engine):
    recording = Recording(engine)
    bot = await make_bot(recording, message_content=True)
    channel = FakeTextChannel()
    await post(bot, f"<@{BOT_ID}> {FIRST}", channel, mentions=[ME])
    (thread,) = channel.made_threads
    first_answer = answer_of_description(thread.sent[0].embed.description)  # the answer, not its bold lead
    await post(bot, FOLLOW_UP, thread)  # no mention: needs the message-content intent
    assert recording.calls[1] == (FOLLOW_UP, [Turn(FIRST, first_answer)])
    follow = thread.sent[1]
    assert "Brussels" in follow.embed.description
    assert "Brussels" not in engine.answer(FOLLOW_UP).answer  # the memory is what found it
    assert sent_everything_safely(thread)


async def test_without_the_intent_only_mentions_in_the_thread_are_answered(make_bot, engine):
    recording = Recording(engine)
    bot = await make_bot(recording)  # message_content defaults to off
    channel = FakeTextChannel()
    await post(bot, f"<@{BOT_ID}> {FIRST}", channel, mentions=[ME])
    (thread,) = channel.made_threads
    await post(bot, FOLLOW_UP, thread)
    assert len(recording.calls) == 1 and len(thread.sent) == 1
    await post(bot, f"<@{BOT_ID}> {FOLLOW_UP}", thread, mentions=[ME])
    assert recording.calls[1][0] == FOLLOW_UP and [t.question for t in recording.calls[1][1]] == [FIRST]
    assert len(thread.sent) == 2 and "Brussels" in thread.sent[1].embed.description


async def test_threads_of_others_need_a_mention_and_are_answered_in_place(make_bot, engine):
    recording = Recording(engine)
    bot = await make_bot(recording, message_content=True)
    theirs = FakeThread(owner_id=77)
    await post(bot, FIRST, theirs)
    assert recording.calls == [] and theirs.sent == []
    await post(bot, f"<@{BOT_ID}> {FIRST}", theirs, mentions=[ME])
    assert len(theirs.sent) == 1 and recording.calls == [(FIRST, [])]


async def test_the_bots_own_role_counts_as_a_mention(make_bot, engine):
    bot = await make_bot(engine)
    channel = FakeTextChannel()
    message = FakeMessage(f"<@&55> {FIRST}", author=user(1), channel=channel, guild=GUILD)
    message.role_mentions = [SimpleNamespace(tags=SimpleNamespace(bot_id=BOT_ID))]
    await bot.get_cog("Mentions").on_message(message)
    assert len(channel.made_threads) == 1 and channel.made_threads[0].sent


async def test_without_thread_permission_the_answer_is_a_reply_in_the_channel(make_bot, engine):
    bot = await make_bot(engine)
    forbidden = discord.Forbidden(SimpleNamespace(status=403, reason="Forbidden"), "Missing Permissions")
    channel = FakeTextChannel(thread_error=forbidden)
    message = await post(bot, f"<@{BOT_ID}> {FIRST}", channel, mentions=[ME])
    (sent,) = channel.sent
    assert sent.reference is message and sent.embed.title == FIRST and sent_everything_safely(channel)


# -- DMs --------------------------------------------------------------------------------------
async def test_dms_are_answered_with_their_history(make_bot, engine):
    recording = Recording(engine)
    bot = await make_bot(recording)
    dm = FakeDM()
    await post(bot, FIRST, dm, guild=None)
    await post(bot, FOLLOW_UP, dm, guild=None)
    assert [len(h) for _, h in recording.calls] == [0, 1]
    assert "Brussels" in dm.sent[1].embed.description
    record = bot.store.get(int(dm.sent[1].view.children[0].custom_id.rsplit(":", 1)[1]))
    assert record.guild_id is None and record.channel_id == dm.id


async def test_dms_can_be_turned_off(make_bot, engine):
    recording = Recording(engine)
    bot = await make_bot(recording, dms=False)
    dm = FakeDM()
    await post(bot, FIRST, dm, guild=None)
    assert recording.calls == [] and dm.sent == []


# -- what is not a question, refusals and failures --------------------------------------------
async def test_bots_and_plain_channel_messages_are_ignored(make_bot, engine):
    recording = Recording(engine)
    bot = await make_bot(recording, message_content=True)
    channel = FakeTextChannel()
    await post(bot, f"<@{BOT_ID}> {FIRST}", channel, author=user(9, bot=True), mentions=[ME])
    await post(bot, FIRST, channel)
    assert recording.calls == [] and channel.made_threads == [] and channel.sent == []


async def test_a_bare_mention_gets_help_and_a_fast_repeat_gets_the_cooldown(make_bot, engine):
    bot = await make_bot(engine, cooldown_s=60)
    channel = FakeTextChannel()
    bare = await post(bot, f"<@{BOT_ID}>", channel, mentions=[ME])
    (help_reply,) = bare.replies
    assert "Ask me a question" in help_reply.content and pings_nobody(help_reply.allowed_mentions)
    await post(bot, f"<@{BOT_ID}> {FIRST}", channel, mentions=[ME])
    again = await post(bot, f"<@{BOT_ID}> {FOLLOW_UP}", channel, mentions=[ME])
    (refusal,) = again.replies
    assert "One question every 60 s" in refusal.content and len(channel.made_threads) == 1


async def test_a_failure_is_an_apology_in_the_thread_and_a_logged_trace(make_bot, caplog):
    class Broken:
        def answer(self, question, history=(), **kwargs):
            raise RuntimeError("engine down")

    bot = await make_bot(Broken())
    channel = FakeTextChannel()
    with caplog.at_level(logging.ERROR):
        await post(bot, f"<@{BOT_ID}> {FIRST}", channel, mentions=[ME])
    (thread,) = channel.made_threads
    assert [s.content for s in thread.sent] == [APOLOGY] and sent_everything_safely(thread)
    assert any(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in caplog.records)


async def test_text_beyond_the_embed_follows_as_messages(make_bot, engine):
    bot = await make_bot(engine)
    real = engine.answer(FIRST)
    long = replace(real, answer=" ".join([real.answer] * 40))  # an LLM can answer at this length
    thread = FakeThread(owner_id=BOT_ID)
    await bot.post_answer(InChannel(thread, user_id=1, guild_id=1), long)
    embed_part, *rest = thread.sent
    assert len(embed_part.embed.description) <= 4096 and rest
    assert all(s.content and len(s.content) <= 2000 and s.embed is None for s in rest)
    assert sent_everything_safely(thread)


# -- streaming into a thread ------------------------------------------------------------------
async def test_an_llm_answer_is_drafted_in_the_thread_then_edited_into_the_verified_one(make_bot, engine):
    fake_llm = pytest.importorskip("tests.helpers.fake_llm")
    from retrieval.engine import Engine

    def reply(messages):
        return f"Kerry was speaking in Brussels, at a NATO meeting [{fake_llm.source_number(messages, 'Brussels')}]."

    llm = fake_llm.FakeLLM().enqueue(reply)
    bot = await make_bot(Engine(engine.settings, engine.index, llm=llm))
    bot.stream_edit_s = 0
    channel = FakeTextChannel()
    await post(bot, f"<@{BOT_ID}> Where was Kerry speaking?", channel, mentions=[ME])
    (thread,) = channel.made_threads
    first, *edits = thread.sent
    assert first.kind == "send" and first.embed.footer.text.startswith("writing") and first.view is None
    assert edits and all(e.kind == "edit" for e in edits)
    final = edits[-1]
    assert final.embed.description.endswith("at a NATO meeting [1].") and final.view is not None
    record = bot.store.get(int(final.view.children[0].custom_id.rsplit(":", 1)[1]))
    assert record.message_id == first.id and record.mode == "llm"
    assert sent_everything_safely(thread)


async def test_a_failure_mid_stream_turns_the_draft_into_the_apology(make_bot, engine, caplog):
    from retrieval.engine import TextDelta

    class BreaksMidway:  # streams a little, then fails
        def stream(self, question, history=(), **kwargs):
            yield TextDelta("Kerry was speaking ")
            raise RuntimeError("the connection dropped")

    bot = await make_bot(BreaksMidway())
    channel = FakeTextChannel()
    with caplog.at_level(logging.ERROR):
        await post(bot, f"<@{BOT_ID}> Where was Kerry speaking?", channel, mentions=[ME])
    (thread,) = channel.made_threads
    draft, apology = thread.sent
    assert draft.kind == "send" and "Kerry was speaking" in draft.embed.description
    assert apology.kind == "edit" and apology.content == APOLOGY and apology.embed is None
    assert any(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in caplog.records)


async def test_an_unreadable_history_means_answering_without_it(make_bot, engine):
    recording = Recording(engine)
    bot = await make_bot(recording)

    class Unreadable(FakeThread):
        async def history(self, **kwargs):
            raise discord.Forbidden(SimpleNamespace(status=403, reason="Forbidden"), "Missing Access")
            yield  # an async generator, like the real one

    thread = Unreadable(owner_id=BOT_ID)
    await post(bot, f"<@{BOT_ID}> {FIRST}", thread, mentions=[ME])
    assert recording.calls == [(FIRST, [])] and thread.sent[0].embed.title == FIRST
