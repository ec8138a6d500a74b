"""The buttons under every answer: Sources (the cited passages in full) and thumbs up / down.

They are persistent: a button's custom id is `ragbot:<action>:<store id>:<answer id>` and the
feedback store holds the rest, so a click works after a restart. The store id ties the button to the
file that keeps its answer: after that file is deleted, a new one numbers answers from 1 again, and
an old button says its answer is no longer stored instead of showing a newer one. (Buttons from
before store ids, `ragbot:<action>:<answer id>`, count only under the message the answer was posted
as.) Replies are ephemeral; a failure is the bot's one apology. Leaves out rendering (embeds.py,
sources.py) and the store itself (feedback.py).
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
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"ragbot:(?P<action>sources|up|down):(?:(?P<store>[0-9a-f]{8}):)?(?P<id>\d+)",
):
    """One button under an answer. Only the custom id survives a restart, and it is all it needs."""

    LOOKS = {
        "sources": ("Sources", None, discord.ButtonStyle.secondary),
        "up": (None, "👍", discord.ButtonStyle.secondary),
        "down": (None, "👎", discord.ButtonStyle.secondary),
    }

    def __init__(self, action: str, answer_id: int, store_id: str | None) -> None:
        label, emoji, style = self.LOOKS[action]
        custom_id = f"ragbot:{action}:{store_id}:{answer_id}" if store_id else f"ragbot:{action}:{answer_id}"
        super().__init__(discord.ui.Button(label=label, emoji=emoji, style=style, custom_id=custom_id))
        self.action = action
        self.answer_id = answer_id
        self.store_id = store_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AnswerButton:
        return cls(match["action"], int(match["id"]), match["store"])

    def owned_id(self, bot: RagBot, interaction: discord.Interaction) -> int | None:
        """The answer id when this button belongs to a stored answer, else None (no longer stored)."""
        if self.store_id is not None:
            return self.answer_id if self.store_id == bot.store.store_id else None
        record = bot.store.get(self.answer_id)  # an id alone: only under the message it was posted as
        message = getattr(interaction, "message", None)
        ours = record is not None and message is not None and record.message_id == message.id
        return self.answer_id if ours else None

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: RagBot = interaction.client  # type: ignore[assignment]
        try:
            answer_id = self.owned_id(bot, interaction)
            if self.action == "sources":
                await show_sources(bot, interaction, answer_id)
            else:
                await record_vote(bot, interaction, answer_id, 1 if self.action == "up" else -1)
        except Exception as exc:  # noqa: BLE001 - every failure gets the same short reply and a logged trace
            await bot.apologise(interaction, exc)


def answer_buttons(answer_id: int, store_id: str) -> discord.ui.View:
    """The row of buttons posted with an answer (no timeout: the bot re-registers them at every start)."""
    view = discord.ui.View(timeout=None)
    for action in ACTIONS:
        view.add_item(AnswerButton(action, answer_id, store_id))
    return view


async def show_sources(bot: RagBot, interaction: discord.Interaction, answer_id: int | None) -> None:
    """Every passage the answer cites, in full, as ephemeral messages of at most 2,000 characters."""
    record = bot.store.get(answer_id) if answer_id is not None else None
    if record is None:
        text = "That answer is no longer stored, so its sources are gone."
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=no_mentions())
        return
    first, *rest = sources_messages(record)
    await interaction.response.send_message(first, ephemeral=True, allowed_mentions=no_mentions())
    for text in rest:
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=no_mentions())


async def record_vote(bot: RagBot, interaction: discord.Interaction, answer_id: int | None, vote: int) -> None:
    """Keep the clicker's thumbs up (+1) or down (-1), replacing their earlier vote, and show the tally."""
    if answer_id is None or bot.store.get(answer_id) is None:
        text = "That answer is no longer stored, so the vote was not recorded."
    else:
        tally = bot.store.vote(answer_id, interaction.user.id, vote)
        text = f"Thanks, your {'👍' if vote > 0 else '👎'} is recorded ({tally.up} 👍 · {tally.down} 👎 so far)."
    await interaction.response.send_message(text, ephemeral=True, allowed_mentions=no_mentions())
