"""`/forget`: a user deletes their stored questions (with their answers and the votes on them) and their
votes, and is told how many; visible to them alone. Messages already posted in Discord stay (their
Sources and vote buttons then say the answer is no longer stored). Leaves out retention (app.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from ..embeds import no_mentions

if TYPE_CHECKING:
    from ..app import RagBot


def forgotten_text(questions: int, votes: int) -> str:
    if not (questions or votes):
        return "I keep nothing of yours: no questions and no votes."
    return (
        f"Done: I deleted {questions} question{'s' if questions != 1 else ''} (with their answers) and "
        f"{votes} vote{'s' if votes != 1 else ''} of yours. Answers already posted stay in Discord until "
        "someone deletes the messages; their buttons now say the answer is no longer stored."
    )


class Forget(commands.Cog):
    def __init__(self, bot: RagBot) -> None:
        self.bot = bot

    @app_commands.command(name="forget", description="Delete the questions you asked and the votes you gave.")
    async def forget(self, interaction: discord.Interaction) -> None:
        questions, votes = self.bot.store.forget(interaction.user.id)  # one short SQLite transaction
        text = forgotten_text(questions, votes)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=no_mentions())


async def setup(bot: RagBot) -> None:
    await bot.add_cog(Forget(bot))
