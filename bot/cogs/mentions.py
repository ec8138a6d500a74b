"""Questions by message: a mention in a channel (answered in a thread made from it), follow-ups in the
bot's threads, and DMs.

Mentions and DMs carry their text without the privileged message-content intent; a follow-up in a
thread without a mention is read only when RAGBOT_DISCORD_MESSAGE_CONTENT is on. Where a thread cannot
be made (no permission, not a text channel) the answer is a reply in place. Leaves the work to RagBot.
"""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from retrieval.engine import clean_question
from retrieval.errors import InputError

from ..format import no_mentions, strip_mentions, thread_name

log = logging.getLogger(__name__)
HELP = "Ask me a question about the documents, e.g. “@{name} who blocked the cease-fire resolution?”"


class Mentions(commands.Cog):
    def __init__(self, bot) -> None:
        self.bot = bot

    def wants(self, message: discord.Message) -> bool:
        """Is this message a question for the bot?"""
        me = self.bot.user
        if message.author.bot or me is None:
            return False
        if message.guild is None:
            return self.bot.settings.discord_dms
        if any(u.id == me.id for u in message.mentions):
            return True
        if any(r.tags and r.tags.bot_id == me.id for r in message.role_mentions):  # the bot's own role
            return True
        ours = isinstance(message.channel, discord.Thread) and message.channel.owner_id == me.id
        return ours and self.bot.settings.discord_message_content and bool(message.content.strip())

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if not self.wants(message):
            return
        bot = self.bot
        try:
            question = clean_question(strip_mentions(message.content))
        except InputError:
            await message.reply(HELP.format(name=bot.user.display_name), allowed_mentions=no_mentions())
            return
        wait = bot.cooldown.retry_after(message.author.id)
        if wait > 0:
            await message.reply(
                f"One question every {bot.settings.discord_cooldown_s:g} s, please: try again in {wait:.0f} s.",
                allowed_mentions=no_mentions(),
            )
            return
        destination, reference, history = await self.place(message, question)
        guild_id = message.guild.id if message.guild else None
        await bot.answer_in(
            destination, question, history, user_id=message.author.id, guild_id=guild_id, reference=reference
        )

    async def place(self, message: discord.Message, question: str):
        """Where to answer, what to reply to, and the conversation so far."""
        channel = message.channel
        if isinstance(channel, discord.Thread | discord.DMChannel):
            return channel, None, await self.bot.conversation(channel, before=message)
        if isinstance(channel, discord.TextChannel):
            try:
                thread = await message.create_thread(name=thread_name(question), auto_archive_duration=1440)
                return thread, None, []
            except discord.HTTPException as exc:  # Forbidden included: no permission to make threads
                log.info("answering in the channel: cannot create a thread (%s)", exc)
        return channel, message, []


async def setup(bot) -> None:
    await bot.add_cog(Mentions(bot))
