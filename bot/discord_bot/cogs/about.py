"""`/about`: the documents loaded, the passage count and the two models, as an ephemeral embed.

It defers first (reading the overview can wait behind other work; Discord allows 3 seconds before
the first response), then reads `Engine.describe()` on a worker thread (the default pool: answers
have their own) and shows it. Leaves out everything else.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from ..embeds import about_embed, no_mentions

if TYPE_CHECKING:
    from ..app import RagBot


class About(commands.Cog):
    def __init__(self, bot: RagBot) -> None:
        self.bot = bot

    @app_commands.command(name="about", description="Which documents this bot answers from, and its models.")
    async def about(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        overview = await asyncio.to_thread(self.bot.engine.describe)
        llm = overview.llm_model or "none (extractive)"
        embed = about_embed(overview.documents, overview.passages, overview.embedding_model, llm)
        await interaction.edit_original_response(embed=embed, allowed_mentions=no_mentions())


async def setup(bot: RagBot) -> None:
    await bot.add_cog(About(bot))
