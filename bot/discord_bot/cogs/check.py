"""`/check claim:<text>` (supported, contradicted or not mentioned, with the deciding quotes) and
`/quotes [speaker:] [about:]` (who said what, with the words that attribute it).

Like `/ask`: a bad claim or a cooldown is refused ephemerally before deferring; the work runs on an
engine worker in the bot's fair queue; a failure replaces the "thinking" message. The
renderings (`check_embed`, `quotes_messages`) are pure and within Discord's limits. Registered by
adding "check" to the cogs `app.COGS` loads.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from retrieval import MAX_QUESTION_CHARS, InputError, clean_question

from ..embeds import (
    FIELD_LIMIT,
    MAX_SOURCE_FIELDS,
    MESSAGE_LIMIT,
    QUOTE_CHARS,
    TITLE_LIMIT,
    escape_text,
    file_name,
    no_mentions,
    shorten,
    split_message,
    strip_mentions,
)

if TYPE_CHECKING:
    from retrieval import Attribution, Check

    from ..app import RagBot

VERDICT_COLOURS = {
    "supported": discord.Colour(0x2E7D32),
    "contradicted": discord.Colour(0xC62828),
    "not_mentioned": discord.Colour(0xF9A825),
}
VERDICT_TITLES = {"supported": "Supported", "contradicted": "Contradicted", "not_mentioned": "Not mentioned"}
MAX_QUOTES_LISTED = 15


def check_embed(check: Check) -> discord.Embed:
    """The verdict as an embed: the verdict and the claim as title, the explanation, each quote as a field."""
    title = f"{VERDICT_TITLES.get(check.verdict, check.verdict)}: {check.claim}"
    embed = discord.Embed(
        title=shorten(escape_text(title), TITLE_LIMIT),
        description=shorten(escape_text(check.explanation), FIELD_LIMIT),
        colour=VERDICT_COLOURS.get(check.verdict),
    )
    for c in check.citations[:MAX_SOURCE_FIELDS]:
        embed.add_field(
            name=shorten(f"[{c.n}] {file_name(c.source)} {c.start}-{c.end}", 256),
            value=shorten(escape_text(f"“{c.quote}”"), QUOTE_CHARS),
            inline=False,
        )
    if check.closest is not None:
        embed.add_field(
            name="Closest sentence (not a citation)", value=shorten(escape_text(check.closest.quote), QUOTE_CHARS)
        )
    footer = f"confidence {check.confidence:.2f} · {check.mode}{f' · {check.model}' if check.model else ''}"
    if check.note:
        footer += f" · note: {check.note}"
    embed.set_footer(text=shorten(footer, 2048))
    return embed


def check_text(check: Check) -> str:
    """The verdict as plain text, for channels where the bot may not embed links (within one message)."""
    lines = [
        f"**{VERDICT_TITLES.get(check.verdict, check.verdict)}**: {escape_text(check.claim)}",
        escape_text(check.explanation),
    ]
    lines += [f"[{c.n}] “{escape_text(c.quote)}” — {file_name(c.source)} {c.start}-{c.end}" for c in check.citations]
    if check.closest is not None:
        lines.append(f"closest (not a citation): “{escape_text(check.closest.quote)}”")
    lines.append(f"confidence {check.confidence:.2f}" + (f" · note: {check.note}" if check.note else ""))
    return shorten("\n".join(lines), MESSAGE_LIMIT)


def quotes_messages(found: Sequence[Attribution], limit: int = MAX_QUOTES_LISTED) -> list[str]:
    """Who said what as messages of at most 2,000 characters: the speaker, the words, the source and
    offsets, and the attributing words; beyond `limit` entries, how many more and how to narrow."""
    if not found:
        return ["No attributed speech found."]
    lines = []
    for a in found[:limit]:
        lines.append(
            f"**{escape_text(a.speaker)}** ({a.kind}): “{escape_text(shorten(a.text, QUOTE_CHARS))}” "
            f"— {file_name(a.source)} {a.start}-{a.end}\n"
            f"  attributed by: “{escape_text(a.evidence)}”"
        )
    if len(found) > limit:
        lines.append(f"… and {len(found) - limit} more: narrow with speaker: or about:")
    return split_message("\n".join(lines), MESSAGE_LIMIT)


class ClaimCheck(commands.Cog):
    def __init__(self, bot: RagBot) -> None:
        self.bot = bot

    async def _refused(self, interaction: discord.Interaction) -> bool:
        """True (and the asker told why) when their last question is still in flight or the cooldown holds;
        else they now have one in flight until `release`."""
        notice = self.bot.admit(interaction.user.id)
        if notice:
            await interaction.response.send_message(notice, ephemeral=True, allowed_mentions=no_mentions())
        return notice is not None

    @app_commands.command(name="check", description="Check a claim against the documents, with the quotes that decide.")
    @app_commands.describe(claim="The statement to check")
    async def check(
        self, interaction: discord.Interaction, claim: app_commands.Range[str, 1, MAX_QUESTION_CHARS]
    ) -> None:
        try:
            claim = clean_question(strip_mentions(claim))
        except InputError as exc:
            text = str(exc).replace("question", "claim")
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=no_mentions())
            return
        if await self._refused(interaction):
            return
        try:
            await interaction.response.defer(thinking=True)
            result = await self.bot.work(functools.partial(self.bot.engine.check, claim))
        except Exception as exc:  # noqa: BLE001 - one reply for any failure; the trace is logged
            await self.bot.apologise(interaction, exc)
            return
        finally:
            self.bot.queue.release(interaction.user.id)
        if interaction.app_permissions.embed_links or interaction.guild_id is None:
            await interaction.edit_original_response(embed=check_embed(result), allowed_mentions=no_mentions())
        else:  # without Embed Links, the same verdict as plain text
            await interaction.edit_original_response(content=check_text(result), allowed_mentions=no_mentions())

    @app_commands.command(
        name="quotes", description="Who said what in the documents, with the words that attribute it."
    )
    @app_commands.describe(speaker="Only what this speaker said (part of the name)", about="Only statements about this")
    async def quotes(
        self,
        interaction: discord.Interaction,
        speaker: app_commands.Range[str, 1, 100] | None = None,
        about: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        if await self._refused(interaction):
            return
        try:
            await interaction.response.defer(thinking=True)
            found = await self.bot.work(functools.partial(self.bot.engine.quotes, speaker=speaker, about=about))
        except Exception as exc:  # noqa: BLE001
            await self.bot.apologise(interaction, exc)
            return
        finally:
            self.bot.queue.release(interaction.user.id)
        first, *rest = quotes_messages(found)
        await interaction.edit_original_response(content=first, allowed_mentions=no_mentions())
        for message in rest:
            await interaction.followup.send(message, allowed_mentions=no_mentions())


async def setup(bot: RagBot) -> None:
    await bot.add_cog(ClaimCheck(bot))
