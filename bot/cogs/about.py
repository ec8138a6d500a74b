"""`/about`: the documents loaded, the passage count and the two models, as an ephemeral embed."""

from __future__ import annotations

import asyncio

import discord
from discord import app_commands
from discord.ext import commands

from ..format import about_embed, no_mentions


class About(commands.Cog):
    def __init__(self, bot) -> None:
        self.bot = bot

    @app_commands.command(name="about", description="Which documents this bot answers from, and its models.")
    async def about(self, interaction: discord.Interaction) -> None:
        catalog = (await asyncio.to_thread(lambda: self.bot.engine.index)).catalog
        documents = await asyncio.to_thread(catalog.documents)
        passages = await asyncio.to_thread(catalog.live_count)
        settings = self.bot.settings
        embed = about_embed(documents, passages, settings.embedding_model, settings.llm_model or "none (extractive)")
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=no_mentions())


async def setup(bot) -> None:
    await bot.add_cog(About(bot))
