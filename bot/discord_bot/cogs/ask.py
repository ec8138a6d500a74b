"""`/ask question:<text>`: check the question and the asker's cooldown, defer, answer, reply with the embed.

Refusals before deferring (a bad question, a cooldown) are ephemeral. Everything after deferring
replaces the "thinking" message: the answer as an LLM writes it (when one is configured), the
verified answer, or a short apology. Leaves the answering and sending to RagBot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from retrieval import MAX_QUESTION_CHARS, InputError, clean_question

from ..embeds import no_mentions, strip_mentions
from ..replies import InInteraction

if TYPE_CHECKING:
    from ..app import RagBot


class Ask(commands.Cog):
    def __init__(self, bot: RagBot) -> None:
        self.bot = bot

    @app_commands.command(name="ask", description="Ask a question about the documents; the answer quotes them.")
    @app_commands.describe(question="What you want to know")
    async def ask(
        self, interaction: discord.Interaction, question: app_commands.Range[str, 1, MAX_QUESTION_CHARS]
    ) -> None:
        try:
            question = clean_question(strip_mentions(question))
        except InputError as exc:
            await interaction.response.send_message(str(exc), ephemeral=True, allowed_mentions=no_mentions())
            return
        notice = self.bot.cooldown_notice(interaction.user.id)
        if notice:
            await interaction.response.send_message(notice, ephemeral=True, allowed_mentions=no_mentions())
            return
        await interaction.response.defer(thinking=True)
        await self.bot.respond(InInteraction(interaction), question)


async def setup(bot: RagBot) -> None:
    await bot.add_cog(Ask(bot))
