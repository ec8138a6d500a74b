"""Where an answer goes: a channel, thread or DM, or an interaction's deferred response.

A place knows who asked and where, whether it may show embeds (without Embed Links the answer is
plain text), and has one message that shows the answer: the first `show()` makes it (a draft, the
answer, or a failure notice) and later ones edit it; `add()` sends the text that did not fit after
it; `status()` tells a waiting asker their place in the queue. An interaction past its 15 minutes
can no longer be edited: its answer then goes to the channel as a new message (mentioning nobody),
or by DM when it was private (dropped, and logged, when the user does not accept DMs). Every message
is sent with `AllowedMentions.none()`. Leaves out what is shown (embeds.py) and when (app.py).
"""

from __future__ import annotations

import contextlib
import logging
from contextlib import AbstractAsyncContextManager
from typing import Any

import discord

from .embeds import escape_text, no_mentions

log = logging.getLogger(__name__)


def can_embed(channel: Any) -> bool:
    """May the bot show embeds in `channel`? (DMs always; a server channel needs Embed Links.)"""
    guild = getattr(channel, "guild", None)
    me = getattr(guild, "me", None)
    if me is None:
        return True
    try:
        return bool(channel.permissions_for(me).embed_links)
    except (AttributeError, TypeError, discord.ClientException):  # a channel type without permissions
        return True


class InChannel:
    """A channel, thread or DM. The first message replies to `reference` when one is given; `intro`
    is the message's text whenever nothing else is."""

    def __init__(
        self,
        channel: discord.abc.Messageable,
        *,
        user_id: int,
        guild_id: int | None,
        reference: discord.Message | None = None,
        intro: str | None = None,
    ) -> None:
        self.channel = channel
        self.user_id = user_id
        self.guild_id = guild_id
        self.channel_id: int | None = getattr(channel, "id", None)
        self.reference = reference
        self.intro = intro
        self.message: discord.Message | None = None
        self.embeds = can_embed(channel)

    def typing(self) -> AbstractAsyncContextManager[Any]:
        return self.channel.typing()

    async def status(self, text: str) -> None:
        """A channel shows typing while a question waits; no queue notes there."""

    async def show(self, **parts: Any) -> discord.Message | None:
        if self.intro and not parts.get("content"):
            parts["content"] = self.intro
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
    """A deferred interaction: its "thinking" message becomes the answer; more text follows up (only the
    asker sees either when `private`)."""

    def __init__(self, interaction: discord.Interaction, *, private: bool = False) -> None:
        self.interaction = interaction
        self.private = private
        self.user_id = interaction.user.id
        self.guild_id = interaction.guild_id
        self.channel_id = interaction.channel_id
        self._embeds = bool(interaction.app_permissions.embed_links) or interaction.guild_id is None
        self.fallback: InChannel | None = None
        self.dropped = False

    @property
    def embeds(self) -> bool:
        return self.fallback.embeds if self.fallback is not None else self._embeds

    def typing(self) -> AbstractAsyncContextManager[Any]:
        return contextlib.nullcontext()  # "thinking…" already says so

    async def status(self, text: str) -> None:
        if not self.interaction.is_expired():
            await self.interaction.edit_original_response(content=text, allowed_mentions=no_mentions())

    async def show(self, **parts: Any) -> discord.Message | None:
        if self.fallback is None and not self.dropped and self.interaction.is_expired():
            await self._fall_back()
        if self.dropped:
            return None
        if self.fallback is not None:
            try:
                return await self.fallback.show(**parts)
            except discord.Forbidden as exc:
                if not self.private:
                    raise
                log.warning("dropped a private answer: the interaction expired and the user takes no DMs (%s)", exc)
                self.dropped = True
                return None
        return await self.interaction.edit_original_response(allowed_mentions=no_mentions(), **parts)

    async def add(self, text: str) -> None:
        if self.dropped:
            return
        if self.fallback is not None:
            await self.fallback.add(text)
        else:
            await self.interaction.followup.send(text, ephemeral=self.private, allowed_mentions=no_mentions())

    async def _fall_back(self) -> None:
        """The interaction expired (15 minutes): answer in the channel, or by DM when private."""
        name = escape_text(self.interaction.user.display_name)
        if self.private:
            log.info("the interaction expired before its answer: sending the private answer by DM")
            try:
                dm = await self.interaction.user.create_dm()
            except discord.HTTPException as exc:
                log.warning("dropped a private answer: the interaction expired and no DM could be opened (%s)", exc)
                self.dropped = True
                return
            intro = "Your private `/ask` took longer than Discord waits for, so here is its answer."
            self.fallback = InChannel(dm, user_id=self.user_id, guild_id=self.guild_id, intro=intro)
            return
        channel: Any = self.interaction.channel
        if channel is None or not hasattr(channel, "send"):
            log.warning("dropped an answer: the interaction expired and its channel cannot be reached")
            self.dropped = True
            return
        log.info("the interaction expired before its answer: posting the answer in the channel")
        intro = f"The answer to {name}'s `/ask` (it took longer than Discord waits for a reply):"
        self.fallback = InChannel(channel, user_id=self.user_id, guild_id=self.guild_id, intro=intro)
        self.channel_id = self.fallback.channel_id


Place = InChannel | InInteraction
