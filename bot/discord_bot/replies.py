"""Where an answer goes: a channel, thread or DM, or a slash command's deferred response.

A place knows who asked and where, and has one message that shows the answer: the first `show()`
makes it (a draft, the answer, or a failure notice) and later ones edit it; `add()` sends the text
that did not fit after it. Every message is sent with `AllowedMentions.none()`. Leaves out what is
shown (embeds.py) and when (app.py `RagBot.respond`).
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractAsyncContextManager
from typing import Any

import discord

from .embeds import no_mentions


class InChannel:
    """A channel, thread or DM. The first message replies to `reference` when one is given."""

    def __init__(
        self,
        channel: discord.abc.Messageable,
        *,
        user_id: int,
        guild_id: int | None,
        reference: discord.Message | None = None,
    ) -> None:
        self.channel = channel
        self.user_id = user_id
        self.guild_id = guild_id
        self.channel_id: int | None = getattr(channel, "id", None)
        self.reference = reference
        self.message: discord.Message | None = None

    def typing(self) -> AbstractAsyncContextManager[Any]:
        return self.channel.typing()

    async def show(self, **parts: Any) -> discord.Message:
        if self.message is None:
            if self.reference is not None:
                parts["reference"] = self.reference
            self.message = await self.channel.send(allowed_mentions=no_mentions(), **parts)
        else:
            self.message = await self.message.edit(allowed_mentions=no_mentions(), **parts)
        return self.message

    async def add(self, text: str) -> None:
        await self.channel.send(text, allowed_mentions=no_mentions())


class InInteraction:
    """A deferred interaction: its "thinking" message becomes the answer; more text follows up."""

    def __init__(self, interaction: discord.Interaction) -> None:
        self.interaction = interaction
        self.user_id = interaction.user.id
        self.guild_id = interaction.guild_id
        self.channel_id = interaction.channel_id

    def typing(self) -> AbstractAsyncContextManager[Any]:
        return contextlib.nullcontext()  # "thinking…" already says so

    async def show(self, **parts: Any) -> discord.Message:
        return await self.interaction.edit_original_response(allowed_mentions=no_mentions(), **parts)

    async def add(self, text: str) -> None:
        await self.interaction.followup.send(text, allowed_mentions=no_mentions())


Place = InChannel | InInteraction
