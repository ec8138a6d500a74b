"""The message context-menu command "Ask about this message": right-click a message, Apps, type a question
in the form that opens; the message's text is the conversation the question follows, and the answer
replaces the "thinking" message like `/ask`'s.

An interaction carries its target message's text without the privileged message-content intent. A
message with no text (only attachments or embeds) is refused ephemerally. Leaves the answering and
sending to RagBot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from retrieval import MAX_QUESTION_CHARS

from ..app import context_turn
from ..conversation import message_text
from ..embeds import no_mentions

if TYPE_CHECKING:
    from ..app import RagBot

NAME = "Ask about this message"
NO_TEXT = "That message has no text I can read (attachments and images are not read), so there is nothing to ask about."


class QuestionForm(discord.ui.Modal, title=NAME):
    """The form the context menu opens: one question about the chosen message."""

    question: discord.ui.TextInput[QuestionForm] = discord.ui.TextInput(
        label="Your question about the message",
        style=discord.TextStyle.paragraph,
        placeholder="e.g. who said this, and where?",
        max_length=MAX_QUESTION_CHARS,
    )

    def __init__(self, bot: RagBot, context: str, link: str | None) -> None:
        super().__init__()
        self.bot = bot
        self.context = context
        self.link = link

    async def on_submit(self, interaction: discord.Interaction) -> None:
        note = f"About {self.link}" if self.link else None
        await self.bot.ask_by_interaction(
            interaction, self.question.value, history=[context_turn(self.context)], note=note
        )

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:  # type: ignore[override]
        await self.bot.apologise(interaction, error)


class AskAboutMessage(commands.Cog):
    def __init__(self, bot: RagBot) -> None:
        self.bot = bot
        self.menu = app_commands.ContextMenu(name=NAME, callback=self.open)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    async def open(self, interaction: discord.Interaction, message: discord.Message) -> None:
        text = message_text(message)
        if not text:
            await interaction.response.send_message(NO_TEXT, ephemeral=True, allowed_mentions=no_mentions())
            return
        await interaction.response.send_modal(QuestionForm(self.bot, text, getattr(message, "jump_url", None)))


async def setup(bot: RagBot) -> None:
    await bot.add_cog(AskAboutMessage(bot))
