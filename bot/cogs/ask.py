"""`/ask question:<text>`: check the question and the asker's cooldown, defer, answer, reply with the embed.

Refusals before deferring (a bad question, a cooldown) are ephemeral. Everything after deferring
replaces the "thinking" message: the answer as an LLM writes it (when one is configured), the
verified answer, or a short apology. Leaves the work to RagBot.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from retrieval import MAX_QUESTION_CHARS, clean_question
from retrieval.errors import InputError

from ..format import draft_embed, no_mentions, strip_mentions


class Ask(commands.Cog):
    def __init__(self, bot) -> None:
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
        wait = self.bot.cooldown.retry_after(interaction.user.id)
        if wait > 0:
            await interaction.response.send_message(
                f"One question every {self.bot.settings.discord_cooldown_s:g} s, please: try again in {wait:.0f} s.",
                ephemeral=True,
                allowed_mentions=no_mentions(),
            )
            return
        await interaction.response.defer(thinking=True)

        async def show(text: str) -> None:
            await interaction.edit_original_response(embed=draft_embed(question, text), allowed_mentions=no_mentions())

        try:
            answer = await self.bot.answer(question, show=show)
            await self.bot.send_interaction_answer(interaction, answer)
        except Exception as exc:  # noqa: BLE001 - after deferring, every failure becomes the apology
            await self.bot.apologise(interaction, exc)


async def setup(bot) -> None:
    await bot.add_cog(Ask(bot))
