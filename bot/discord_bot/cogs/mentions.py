"""Questions by message: a mention in a channel (answered in a thread made from it), follow-ups in the
bot's threads, and DMs.

Mentions and DMs carry their text without the privileged message-content intent; a follow-up in a
thread without a mention is read only when RAGBOT_DISCORD_MESSAGE_CONTENT is on. Only a user's own
messages count: bots, webhooks and system messages (thread renames, pins, joins) are ignored. A
mention in a reply takes the replied-to message as the conversation when its text can be read, and
says so when it cannot. Where a thread cannot be made (no permission, not a text channel) the answer
is a reply in place. Leaves the answering and sending to RagBot.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from retrieval import InputError, Turn, clean_question

from ..app import context_turn
from ..conversation import message_text
from ..embeds import no_mentions, strip_mentions, thread_name
from ..replies import InChannel

if TYPE_CHECKING:
    from ..app import RagBot

log = logging.getLogger(__name__)
HELP = "Ask me a question about the documents, e.g. “@{name} who blocked the cease-fire resolution?”"
DM_HELP = "Ask me a question about the documents, e.g. “who blocked the cease-fire resolution?”"
ATTACHMENTS = " I read the text of messages only, not attachments."
UNREAD_REPLY = "I could not read the message you replied to, so I answered your question on its own."
QUESTION_TYPES = (discord.MessageType.default, discord.MessageType.reply)


class Mentions(commands.Cog):
    def __init__(self, bot: RagBot) -> None:
        self.bot = bot

    def wants(self, message: discord.Message) -> bool:
        """Is this message a question for the bot?"""
        me = self.bot.user
        if message.author.bot or message.webhook_id is not None or me is None:
            return False
        if message.type not in QUESTION_TYPES:  # thread renames, pins, joins, ...
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
            await self.reply(message, self.help_text(message))
            return
        notice = self.bot.admit(message.author.id)
        if notice:
            await self.reply(message, notice)
            return
        try:
            place, history = await self.place(message, question)
            context, note = await self.replied_to(message)
        except BaseException:
            self.bot.queue.release(message.author.id)
            raise
        await self.bot.respond(place, question, [*history, *context], note=note)

    def help_text(self, message: discord.Message) -> str:
        name = self.bot.user.display_name if self.bot.user else "ragbot"
        text = DM_HELP if message.guild is None else HELP.format(name=name)
        return text + (ATTACHMENTS if message.attachments else "")

    async def reply(self, message: discord.Message, text: str) -> None:
        """A short reply (help, cooldown); one the bot may not send is logged."""
        try:
            await message.reply(text, allowed_mentions=no_mentions())
        except discord.HTTPException as exc:  # Forbidden included: no Send Messages or Read Message History
            log.info("could not reply in channel %s (%s)", getattr(message.channel, "id", "?"), exc)

    async def replied_to(self, message: discord.Message) -> tuple[list[Turn], str | None]:
        """The message this one replies to, as conversation, and a note for the answer when it cannot be read."""
        reference = getattr(message, "reference", None)
        if reference is None or message.type != discord.MessageType.reply:
            return [], None
        target: Any = reference.resolved
        if target is None and reference.message_id:
            try:
                target = await message.channel.fetch_message(reference.message_id)
            except discord.HTTPException as exc:
                log.info("cannot read the replied-to message (%s)", exc)
        text = message_text(target) if target is not None else ""
        return ([context_turn(text)], None) if text else ([], UNREAD_REPLY)

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
