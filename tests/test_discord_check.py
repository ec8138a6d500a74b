"""`/check` and `/quotes` without Discord: the cog loaded on an offline bot, driven with fake
interactions (tests/helpers/discord_fakes.py) and the real engine; the pure renderings within limits."""

from __future__ import annotations

import discord
import pytest

from bot.discord_bot.cogs.check import check_embed, quotes_messages
from retrieval.errors import StoreError
from tests.helpers.discord_fakes import FakeInteraction, pings_nobody

CLAIM = "The cease-fire resolution was for ten days."


class Failing:
    def check(self, claim, **kwargs):
        raise StoreError("the store is gone")


async def call(bot, name: str, *args, permissions: discord.Permissions | None = None, **kwargs) -> FakeInteraction:
    itx = FakeInteraction(bot, 1, app_permissions=permissions)
    cog = bot.get_cog("ClaimCheck")
    await getattr(cog, name).callback(cog, itx, *args, **kwargs)
    assert all(pings_nobody(s.allowed_mentions) for s in itx.sent if s.kind != "defer")
    return itx


async def test_check_defers_then_shows_the_verdict_and_its_quote(make_bot, engine):
    itx = await call(await make_bot(engine), "check", CLAIM)
    defer, edit = itx.sent
    assert defer.kind == "defer" and itx.thinking and edit.kind == "edit"
    assert edit.embed.title == f"Contradicted: {CLAIM}"
    assert "seven-day" in edit.embed.description and "[1]" in edit.embed.description
    assert edit.embed.fields[0].name.startswith("[1] 000_7f696d753bde9fea.txt ")
    assert "seven-day cease-fire" in edit.embed.fields[0].value
    assert edit.embed.footer.text.startswith("confidence ")


async def test_check_not_mentioned_shows_the_closest_sentence_apart(make_bot, engine):
    edit = (await call(await make_bot(engine), "check", "Kerry met Assad in Brussels.")).last()
    assert edit.embed.title.startswith("Not mentioned") and edit.embed.fields[0].name.startswith("Closest")


@pytest.mark.parametrize(("claim", "message"), [("<@123456789012345678>", "the claim is empty"), ("x" * 2001, "2000")])
async def test_a_bad_claim_is_refused_ephemerally(make_bot, engine, claim, message):
    (reply,) = (await call(await make_bot(engine), "check", claim)).sent
    assert reply.kind == "response" and reply.ephemeral and message in reply.content


async def test_a_failure_replaces_the_thinking_message(make_bot):
    itx = await call(await make_bot(Failing()), "check", CLAIM)
    assert itx.last().kind == "edit" and itx.last().content.startswith("Sorry")


async def test_without_embed_links_the_verdict_is_plain_text(make_bot, engine):
    no_embeds = discord.Permissions.all()
    no_embeds.embed_links = False
    edit = (await call(await make_bot(engine), "check", CLAIM, permissions=no_embeds)).last()
    assert edit.embed is None and edit.content.startswith(f"**Contradicted**: {CLAIM}")
    assert "[1] “" in edit.content and "seven-day cease-fire" in edit.content


async def test_a_second_check_while_the_first_is_in_flight_is_refused(make_bot, engine):
    bot = await make_bot(engine)
    bot.queue.claim(1)  # user 1 has a question in flight
    (reply,) = (await call(bot, "check", CLAIM)).sent
    assert reply.ephemeral and "still answering your last question" in reply.content
    bot.queue.release(1)
    assert (await call(bot, "check", CLAIM)).last().embed.title == f"Contradicted: {CLAIM}"
    assert 1 not in bot.queue.asking  # released once the verdict is shown


async def test_quotes_lists_the_speakers_quotes_with_evidence(make_bot, engine):
    itx = await call(await make_bot(engine), "quotes", speaker="Kerry")
    edit = itx.last()
    assert edit.content.startswith("**Kerry** (direct): “We have been trying")
    assert "attributed by: “Kerry said”" in edit.content


async def test_quotes_nothing_found(make_bot, engine):
    itx = await call(await make_bot(engine), "quotes", speaker="Obama")
    assert itx.last().content == "No attributed speech found."


def test_renderings_stay_within_discords_limits(engine):
    found = engine.quotes() * 20
    messages = quotes_messages(found, limit=len(found))
    assert len(messages) > 1 and all(len(m) <= 2000 for m in messages)
    assert quotes_messages(found)[-1].endswith("narrow with speaker: or about:")
    long = engine.check("China blocked the resolution. " * 60)
    embed = check_embed(long)
    assert len(embed.title) <= 256 and len(embed) <= 6000
