"""`/help`: what the bot can do, with an example of each, visible to the asker alone.

The text is built from ROWS, one (command, description, example) per way of asking: a new command
adds its row here. Plain text, so it reads the same where the bot may not post embeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from ..embeds import HelpRow, help_text, no_mentions

if TYPE_CHECKING:
    from ..app import RagBot

INTRO = (
    "I answer questions about the documents I was given, quoting them word for word; every answer has "
    "a **Sources** button (the passages in full) and 👍/👎."
)
ROWS = [  # (command, what it does, example): one row per way of asking
    HelpRow(
        "/ask question: [private: true]",
        "ask a question; `private` shows the answer to you alone",
        "`/ask question: who blocked the cease-fire resolution?`",
    ),
    HelpRow(
        "@mention",
        "mention me with a question: I answer in a thread, where follow-ups continue the conversation; "
        "in a reply to a message, that message is the context",
        "`@{name} where was Kerry speaking?`",
    ),
    HelpRow("Ask about this message", "right-click a message → Apps → ask a question about it"),
    HelpRow("DM", "send me a question directly (text only: I don't read attachments)", "`who blocked the vote?`"),
    HelpRow(
        "/check claim:",
        "is a claim supported, contradicted or not mentioned? with the quotes that decide",
        "`/check claim: China blocked the resolution.`",
    ),
    HelpRow(
        "/quotes [speaker:] [about:]", "who said what, with the words that attribute it", "`/quotes speaker: Kerry`"
    ),
    HelpRow("/about", "the documents I answer from, and my models"),
    HelpRow("/forget", "delete the questions you asked and the votes you gave from my records"),
    HelpRow("/help", "this message"),
]


class Help(commands.Cog):
    def __init__(self, bot: RagBot) -> None:
        self.bot = bot

    def text(self) -> str:
        name = self.bot.user.display_name if self.bot.user else "ragbot"
        outro = (
            f"One question at a time each, and one every {self.bot.discord_settings.cooldown_s:g} s."
            if self.bot.discord_settings.cooldown_s > 0
            else "One question at a time each."
        )
        return help_text(ROWS, intro=INTRO, outro=outro).replace("{name}", name)

    @app_commands.command(name="help", description="What this bot can do, with examples.")
    async def help(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(self.text(), ephemeral=True, allowed_mentions=no_mentions())


async def setup(bot: RagBot) -> None:
    await bot.add_cog(Help(bot))
