"""`/about`: the documents loaded, the passage count and the two models, as an ephemeral embed.

What it shows comes from `Engine.describe()`, read on a worker thread; leaves out everything else.
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
        overview = await asyncio.to_thread(self.bot.engine.describe)
        llm = overview.llm_model or "none (extractive)"
        embed = about_embed(overview.documents, overview.passages, overview.embedding_model, llm)
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=no_mentions())


async def setup(bot: RagBot) -> None:
    await bot.add_cog(About(bot))
