"""Questions by message: a mention in a channel (answered in a thread made from it), follow-ups in the
bot's threads, and DMs.

Mentions and DMs carry their text without the privileged message-content intent; a follow-up in a
thread without a mention is read only when RAGBOT_DISCORD_MESSAGE_CONTENT is on. Where a thread cannot
be made (no permission, not a text channel) the answer is a reply in place. Leaves the answering and
sending to RagBot.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from retrieval import InputError, Turn, clean_question

from ..embeds import no_mentions, strip_mentions, thread_name
from ..replies import InChannel

if TYPE_CHECKING:
    from ..app import RagBot

log = logging.getLogger(__name__)
HELP = "Ask me a question about the documents, e.g. “@{name} who blocked the cease-fire resolution?”"


class Mentions(commands.Cog):
    def __init__(self, bot: RagBot) -> None:
        self.bot = bot

    def wants(self, message: discord.Message) -> bool:
        """Is this message a question for the bot?"""
        me = self.bot.user
        if message.author.bot or me is None:
            return False
        if message.guild is None:
            return self.bot.discord_settings.dms
        if any(u.id == me.id for u in message.mentions):
            return True
        if any(r.tags and r.tags.bot_id == me.id for r in message.role_mentions):  # the bot's own role
            return True
        ours = isinstance(message.channel, discord.Thread) and message.channel.owner_id == me.id
        return ours and self.bot.discord_settings.message_content and bool(message.content.strip())

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if not self.wants(message):
            return
        try:
            question = clean_question(strip_mentions(message.content))
        except InputError:
            name = self.bot.user.display_name if self.bot.user else "ragbot"
            await message.reply(HELP.format(name=name), allowed_mentions=no_mentions())
            return
        notice = self.bot.cooldown_notice(message.author.id)
        if notice:
            await message.reply(notice, allowed_mentions=no_mentions())
            return
        place, history = await self.place(message, question)
        await self.bot.respond(place, question, history)

    async def place(self, message: discord.Message, question: str) -> tuple[InChannel, list[Turn]]:
        """Where to answer (replying to the message only when answering in place), and the conversation so far."""
        channel = message.channel
        user_id, guild_id = message.author.id, message.guild.id if message.guild else None
        if isinstance(channel, discord.Thread | discord.DMChannel):
            history = await self.bot.conversation(channel, before=message)
            return InChannel(channel, user_id=user_id, guild_id=guild_id), history
        if isinstance(channel, discord.TextChannel):
            try:
                thread = await message.create_thread(name=thread_name(question), auto_archive_duration=1440)
                return InChannel(thread, user_id=user_id, guild_id=guild_id), []
            except discord.HTTPException as exc:  # Forbidden included: no permission to make threads
                log.info("answering in the channel: cannot create a thread (%s)", exc)
        return InChannel(channel, user_id=user_id, guild_id=guild_id, reference=message), []


async def setup(bot: RagBot) -> None:
    await bot.add_cog(Mentions(bot))
