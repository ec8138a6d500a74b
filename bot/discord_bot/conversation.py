"""The conversation so far in a thread or DM, read back from the bot's own answers there.

An answer is found in the feedback store by the id of the message that shows it; one the store does
not know (say, the store file was replaced) is read from its embed (question as title, answer as
description, less the bold short-answer line). `message_text` reads one message as context (a reply's
target, the message of "Ask about this message"). Leaves out the user's own messages: each answer
carries its question.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import discord

from retrieval import Turn

from .embeds import answer_of_description
from .feedback import FeedbackStore

log = logging.getLogger(__name__)

HISTORY_MESSAGES = 50  # how far back a thread or DM is read for earlier answers


def turns_from_messages(messages: Sequence[Any], bot_id: int, store: FeedbackStore, max_turns: int) -> list[Turn]:
    """The conversation a thread or DM shows: the bot's answers there, oldest first, each with its question.

    `messages` are the channel's messages oldest first; the last `max_turns` turns are returned."""
    if max_turns <= 0:
        return []
    ours = [m for m in messages if m.author.id == bot_id]
    known = store.by_messages([m.id for m in ours])
    turns = []
    for m in ours:
        if m.id in known:
            turns.append(Turn(known[m.id].question, known[m.id].answer))
        elif m.embeds and m.embeds[0].title and m.embeds[0].description and not m.embeds[0].description.endswith("▌"):
            shown = answer_of_description(m.embeds[0].description)
            turns.append(Turn(m.embeds[0].title, shown))  # (a "▌" draft was never finished)
    return turns[-max_turns:]


async def read_conversation(
    channel: discord.abc.Messageable,
    bot_id: int,
    store: FeedbackStore,
    max_turns: int,
    *,
    before: discord.abc.Snowflake | None = None,
) -> list[Turn]:
    """The earlier turns in `channel` (before the message `before`); none when its history cannot be read."""
    try:
        messages = [m async for m in channel.history(limit=HISTORY_MESSAGES, before=before)]
    except discord.HTTPException as exc:  # e.g. no Read Message History permission
        log.warning("cannot read the conversation so far (%s): answering without it", exc)
        return []
    messages.reverse()
    return turns_from_messages(messages, bot_id, store, max_turns)


def message_text(message: Any) -> str:
    """A message's text: its content, else its first embed's title and description (the bot's own answers)."""
    content = (getattr(message, "content", "") or "").strip()
    if content:
        return content
    for embed in getattr(message, "embeds", []) or []:
        text = " ".join(part for part in (embed.title, embed.description) if part).strip()
        if text:
            return text
    return ""
