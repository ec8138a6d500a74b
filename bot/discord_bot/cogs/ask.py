"""`/ask question:<text> [private:true]`: check the question and the asker, defer, answer, reply with the embed.

Refusals before deferring (a bad question, a question still in flight, a cooldown) are ephemeral.
Everything after deferring replaces the "thinking" message: the place in the queue while it waits,
the answer as an LLM writes it (when one is configured), the verified answer, or a short apology.
`private` makes all of it visible to the asker alone. In one of the bot's threads (or a DM) the
thread so far is the conversation. Leaves the answering and sending to RagBot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from retrieval import MAX_QUESTION_CHARS

if TYPE_CHECKING:
    from ..app import RagBot


class Ask(commands.Cog):
    def __init__(self, bot: RagBot) -> None:
        self.bot = bot

    @app_commands.command(name="ask", description="Ask a question about the documents; the answer quotes them.")
    @app_commands.describe(question="What you want to know", private="Only you see the answer (default: everyone)")
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, MAX_QUESTION_CHARS],
        private: bool = False,
    ) -> None:
        await self.bot.ask_by_interaction(interaction, question, private=private)


async def setup(bot: RagBot) -> None:
    await bot.add_cog(Ask(bot))
