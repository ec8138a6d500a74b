"""The buttons under every answer: Sources (the cited passages in full) and thumbs up / down.

They are persistent: a button's custom id is `ragbot:<action>:<answer id>` and the feedback store
holds the rest, so a click works after a restart. Replies are ephemeral; a failure is the bot's one
apology. Leaves out rendering (embeds.py, sources.py) and the store itself (feedback.py).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from .embeds import no_mentions
from .sources import sources_messages

if TYPE_CHECKING:
    from .app import RagBot

ACTIONS = ("sources", "up", "down")


class AnswerButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"ragbot:(?P<action>sources|up|down):(?P<id>\d+)"
):
    """One button under an answer. Only the custom id survives a restart, and it is all it needs."""

    LOOKS = {
        "sources": ("Sources", None, discord.ButtonStyle.secondary),
        "up": (None, "👍", discord.ButtonStyle.secondary),
        "down": (None, "👎", discord.ButtonStyle.secondary),
    }

    def __init__(self, action: str, answer_id: int) -> None:
        label, emoji, style = self.LOOKS[action]
        super().__init__(
            discord.ui.Button(label=label, emoji=emoji, style=style, custom_id=f"ragbot:{action}:{answer_id}")
        )
        self.action = action
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AnswerButton:
        return cls(match["action"], int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: RagBot = interaction.client  # type: ignore[assignment]
        try:
            if self.action == "sources":
                await show_sources(bot, interaction, self.answer_id)
            else:
                await record_vote(bot, interaction, self.answer_id, 1 if self.action == "up" else -1)
        except Exception as exc:  # noqa: BLE001 - every failure gets the same short reply and a logged trace
            await bot.apologise(interaction, exc)


def answer_buttons(answer_id: int) -> discord.ui.View:
    """The row of buttons posted with an answer (no timeout: the bot re-registers them at every start)."""
    view = discord.ui.View(timeout=None)
    for action in ACTIONS:
        view.add_item(AnswerButton(action, answer_id))
    return view


async def show_sources(bot: RagBot, interaction: discord.Interaction, answer_id: int) -> None:
    """Every passage the answer cites, in full, as ephemeral messages of at most 2,000 characters."""
    record = bot.store.get(answer_id)
    if record is None:
        text = "That answer is no longer stored, so its sources are gone."
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=no_mentions())
        return
    first, *rest = sources_messages(record)
    await interaction.response.send_message(first, ephemeral=True, allowed_mentions=no_mentions())
    for text in rest:
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=no_mentions())


async def record_vote(bot: RagBot, interaction: discord.Interaction, answer_id: int, vote: int) -> None:
    """Keep the clicker's thumbs up (+1) or down (-1), replacing their earlier vote, and show the tally."""
    if bot.store.get(answer_id) is None:
        text = "That answer is no longer stored, so the vote was not recorded."
    else:
        tally = bot.store.vote(answer_id, interaction.user.id, vote)
        text = f"Thanks, your {'👍' if vote > 0 else '👎'} is recorded ({tally.up} 👍 · {tally.down} 👎 so far)."
    await interaction.response.send_message(text, ephemeral=True, allowed_mentions=no_mentions())
