"""The Discord bot: a `commands.Bot` that is handed its settings and answer engine, plus what the cogs share.

Shared here: the intents, the per-user cooldown, the concurrency gate in front of the blocking
engine (it queues, never rejects; the engine runs in `asyncio.to_thread`, streaming with throttled
edits when it can), the conversation read back from a thread or DM, sending an answer with its
persistent buttons (Sources, thumbs up/down: their custom ids carry the answer id and the store
holds the rest, so clicks work after a restart), one apology path for failures, and `run()` for
`ragbot discord`. Command handlers live in bot/cogs/, one per file; rendering lives in
bot/format.py. Leaves out the core's work and any reading of the environment.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
import discord
from discord.ext import commands

from retrieval.engine import Final
from retrieval.errors import ConfigError, InputError, RagbotError
from retrieval.schema import Answer, Turn
from retrieval.settings import Settings

from .feedback import FeedbackStore
from .format import answer_reply, draft_embed, no_mentions, sources_messages

log = logging.getLogger(__name__)

COGS = ("bot.cogs.ask", "bot.cogs.mentions", "bot.cogs.about")
HISTORY_MESSAGES = 50  # how far back a thread or DM is read for earlier answers
STREAM_EDIT_S = 1.5  # while an LLM writes, the shown answer is edited at most this often
APOLOGY = "Sorry, something went wrong while answering. Please try again in a moment."
PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    embed_links=True,
    read_message_history=True,
)
Show = Callable[[str], Awaitable[None]]
_TOKEN = re.compile(r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+$")


def intents_for(settings: Settings) -> discord.Intents:
    """Servers, their messages and DMs; message content only when RAGBOT_DISCORD_MESSAGE_CONTENT is set.
    Mentions, DMs and slash commands carry their text without it; thread follow-ups without a mention need it."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = settings.discord_message_content
    return intents


def check_token(token: Any) -> str:
    """The bot token as a string, or a ConfigError that never repeats it."""
    value = token.get_secret_value().strip() if token is not None else ""
    if not value:
        raise ConfigError("DISCORD_TOKEN is not set: copy the bot token from the Discord developer portal into .env")
    if not _TOKEN.match(value):
        raise ConfigError(
            "DISCORD_TOKEN does not look like a bot token (three dot-separated parts, no spaces or quotes): "
            "copy it again from the Bot page of the developer portal"
        )
    return value


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(application_id, permissions=PERMISSIONS, scopes=("bot", "applications.commands"))


class Cooldown:
    """At most one question per user every `seconds`; `retry_after` both checks and records."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._last: dict[int, float] = {}

    def retry_after(self, user_id: int) -> float:
        """0 when the user may ask now (and the ask is recorded), else the seconds left to wait."""
        if self.seconds <= 0:
            return 0.0
        now = self._clock()
        last = self._last.get(user_id)
        if last is not None and now - last < self.seconds:
            return self.seconds - (now - last)
        if len(self._last) > 10_000:
            self._last = {u: t for u, t in self._last.items() if now - t < self.seconds}
        self._last[user_id] = now
        return 0.0


def turns_from_messages(messages: Sequence[Any], bot_id: int, store: FeedbackStore, max_turns: int) -> list[Turn]:
    """The conversation a thread or DM shows: the bot's answers there, oldest first, each with its question.

    `messages` are the channel's messages oldest first. An answer is read from the store by its message
    id; one the store does not know (say, the store file was replaced) is read from its embed."""
    if max_turns <= 0:
        return []
    ours = [m for m in messages if m.author.id == bot_id]
    known = store.by_messages([m.id for m in ours])
    turns = []
    for m in ours:
        if m.id in known:
            turns.append(Turn(known[m.id].question, known[m.id].answer))
        elif m.embeds and m.embeds[0].title and m.embeds[0].description and not m.embeds[0].description.endswith("▌"):
            turns.append(Turn(m.embeds[0].title, m.embeds[0].description))  # (a "▌" draft was never finished)
    return turns[-max_turns:]


class _AnswerButton(
    discord.ui.DynamicItem[discord.ui.Button], template=r"ragbot:(?P<action>sources|up|down):(?P<id>\d+)"
):
    """The buttons under an answer. Only the custom id survives a restart, and it is all they need."""

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
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item, match: re.Match[str], /):
        return cls(match["action"], int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: RagBot = interaction.client  # type: ignore[assignment]
        try:
            if self.action == "sources":
                await bot.show_sources(interaction, self.answer_id)
            else:
                await bot.record_vote(interaction, self.answer_id, 1 if self.action == "up" else -1)
        except Exception as exc:  # noqa: BLE001 - every failure gets the same short reply and a logged trace
            await bot.apologise(interaction, exc)


def answer_view(answer_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in ("sources", "up", "down"):
        view.add_item(_AnswerButton(action, answer_id))
    return view


class RagBot(commands.Bot):
    """ragbot on Discord. Dependencies come in through the constructor; nothing is read from the environment."""

    def __init__(
        self,
        settings: Settings,
        engine: Any,
        *,
        store: FeedbackStore | None = None,
        sync_global: bool = False,
        intents: discord.Intents | None = None,
        announce: Callable[[str], None] | None = None,
    ) -> None:
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False  # text only: no voice libraries needed
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents or intents_for(settings),
            allowed_mentions=no_mentions(),
            help_command=None,
        )
        self.settings = settings
        self.engine = engine
        self.store = store or FeedbackStore(settings.discord_db_path)
        self.sync_global = sync_global
        self.cooldown = Cooldown(settings.discord_cooldown_s)
        self.gate = asyncio.Semaphore(settings.discord_max_concurrency)
        self.stream_edit_s = STREAM_EDIT_S
        self._announce = announce

    # -- lifecycle --------------------------------------------------------------------------
    async def setup_hook(self) -> None:
        for name in COGS:
            await self.load_extension(name)
        self.add_dynamic_items(_AnswerButton)
        self.tree.on_error = self.on_app_command_error
        if self.settings.discord_guild_id:
            guild = discord.Object(id=self.settings.discord_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d command(s) to server %s", len(synced), guild.id)
        if self.sync_global:
            synced = await self.tree.sync()
            log.info("synced %d command(s) globally (they can take up to an hour to appear)", len(synced))

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: mentions, threads and DMs are handled by the mentions cog."""

    async def on_ready(self) -> None:
        note = (
            f"connected as {self.user} in {len(self.guilds)} server(s); "
            f"invite: {invite_url(self.application_id or self.user.id)}"
        )
        if not (self.settings.discord_guild_id or self.sync_global):
            note += (
                "; slash commands were not synced at this start (set RAGBOT_DISCORD_GUILD_ID for one server, "
                "or run `ragbot discord --sync` once for all)"
            )
        log.info(note)
        if self._announce:
            self._announce(note)

    async def close(self) -> None:
        await super().close()
        self.store.close()

    # -- answering --------------------------------------------------------------------------
    async def answer(self, question: str, history: Sequence[Turn] = (), *, show: Show | None = None) -> Answer:
        """Run the blocking engine on a worker thread; at most `discord_max_concurrency` at once, others wait.

        With `show` and an engine that streams, `show(text so far)` is awaited while an LLM writes, at most
        once every `stream_edit_s` seconds (Discord rate-limits edits); the verified answer is returned."""
        log.debug("question: %r (%d earlier turn(s))", question, len(history))
        async with self.gate:
            if show is not None and hasattr(self.engine, "stream"):
                answer = await self._stream(question, list(history), show)
            else:
                answer = await asyncio.to_thread(self.engine.answer, question, list(history))
        log.info(
            "answered (%s, answerable=%s) in %.0f ms", answer.mode, answer.answerable, answer.timings_ms.get("total", 0)
        )
        return answer

    async def _stream(self, question: str, history: list[Turn], show: Show) -> Answer:
        loop = asyncio.get_running_loop()
        events: asyncio.Queue = asyncio.Queue()

        def produce() -> None:  # on a worker thread: the engine never runs on the event loop
            try:
                for event in self.engine.stream(question, history):
                    loop.call_soon_threadsafe(events.put_nowait, event)
            except BaseException as exc:  # noqa: BLE001 - handed to the loop and raised there
                loop.call_soon_threadsafe(events.put_nowait, exc)

        worker = asyncio.ensure_future(asyncio.to_thread(produce))
        text, shown_at, showing = "", None, True
        try:
            while True:
                event = await events.get()
                if isinstance(event, BaseException):
                    raise event
                if isinstance(event, Final):
                    return event.answer
                text = event.text if event.restart else text + event.text
                now = loop.time()
                if showing and text.strip() and (shown_at is None or now - shown_at >= self.stream_edit_s):
                    shown_at = now
                    try:
                        await show(text)
                    except discord.HTTPException:
                        log.warning("could not show the answer as it was written; waiting for the end", exc_info=True)
                        showing = False
        finally:
            await worker

    async def conversation(
        self, channel: discord.abc.Messageable, *, before: discord.abc.Snowflake | None = None
    ) -> list[Turn]:
        """Earlier turns in a thread or DM, from the bot's own answers there (none when the history is unreadable)."""
        try:
            messages = [m async for m in channel.history(limit=HISTORY_MESSAGES, before=before)]
        except discord.HTTPException as exc:  # e.g. no Read Message History permission
            log.warning("cannot read the conversation so far (%s): answering without it", exc)
            return []
        messages.reverse()
        return turns_from_messages(messages, self.user.id, self.store, self.settings.history_turns)

    def keep(self, answer: Answer, *, user_id: int, guild_id: int | None, channel_id: int | None) -> int:
        return self.store.add(answer, user_id=user_id, guild_id=guild_id, channel_id=channel_id)

    async def send_answer(
        self,
        destination: discord.abc.Messageable,
        answer: Answer,
        *,
        user_id: int,
        guild_id: int | None,
        reference: discord.Message | None = None,
        draft: discord.Message | None = None,
    ) -> discord.Message:
        """Post an answer (embed, buttons, then any overflow text) in a channel, thread or DM; a `draft`
        (the answer shown as it was written) is edited into it instead."""
        channel_id = getattr(destination, "id", None)
        answer_id = self.keep(answer, user_id=user_id, guild_id=guild_id, channel_id=channel_id)
        reply = answer_reply(answer)
        if draft is not None:
            sent = await draft.edit(embed=reply.embed, view=answer_view(answer_id), allowed_mentions=no_mentions())
        else:
            sent = await destination.send(
                embed=reply.embed, view=answer_view(answer_id), reference=reference, allowed_mentions=no_mentions()
            )
        self.store.set_message(answer_id, sent.id, sent.channel.id)
        for text in reply.overflow:
            await destination.send(text, allowed_mentions=no_mentions())
        return sent

    async def answer_in(
        self,
        destination: discord.abc.Messageable,
        question: str,
        history: Sequence[Turn],
        *,
        user_id: int,
        guild_id: int | None,
        reference: discord.Message | None = None,
    ) -> None:
        """Answer in a channel, thread or DM: typing, the answer as an LLM writes it, then the verified
        answer; a failure becomes the question's error or an apology, in place of any draft."""
        draft: discord.Message | None = None

        async def show(text: str) -> None:
            nonlocal draft
            embed = draft_embed(question, text)
            if draft is None:
                draft = await destination.send(embed=embed, reference=reference, allowed_mentions=no_mentions())
            else:
                await draft.edit(embed=embed, allowed_mentions=no_mentions())

        try:
            async with destination.typing():
                answer = await self.answer(question, history, show=show)
            await self.send_answer(
                destination, answer, user_id=user_id, guild_id=guild_id, reference=reference, draft=draft
            )
        except Exception as exc:  # noqa: BLE001 - the asker gets one short message, the log the trace
            text = str(exc) if isinstance(exc, InputError) else APOLOGY
            if not isinstance(exc, InputError):
                log.error("answering a message failed", exc_info=exc)
            try:
                if draft is not None:
                    await draft.edit(content=text, embed=None, view=None, allowed_mentions=no_mentions())
                else:
                    await destination.send(text, reference=reference, allowed_mentions=no_mentions())
            except discord.HTTPException:
                log.warning("could not deliver the failure notice", exc_info=True)

    async def send_interaction_answer(self, interaction: discord.Interaction, answer: Answer) -> None:
        """Replace a deferred interaction's "thinking" message with the answer."""
        answer_id = self.keep(
            answer, user_id=interaction.user.id, guild_id=interaction.guild_id, channel_id=interaction.channel_id
        )
        reply = answer_reply(answer)
        sent = await interaction.edit_original_response(
            embed=reply.embed, view=answer_view(answer_id), allowed_mentions=no_mentions()
        )
        self.store.set_message(answer_id, sent.id)
        for text in reply.overflow:
            await interaction.followup.send(text, allowed_mentions=no_mentions())

    # -- buttons ----------------------------------------------------------------------------
    async def show_sources(self, interaction: discord.Interaction, answer_id: int) -> None:
        record = self.store.get(answer_id)
        if record is None:
            await interaction.response.send_message(
                "That answer is no longer stored, so its sources are gone.",
                ephemeral=True,
                allowed_mentions=no_mentions(),
            )
            return
        first, *rest = sources_messages(record)
        await interaction.response.send_message(first, ephemeral=True, allowed_mentions=no_mentions())
        for text in rest:
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=no_mentions())

    async def record_vote(self, interaction: discord.Interaction, answer_id: int, vote: int) -> None:
        if self.store.get(answer_id) is None:
            text = "That answer is no longer stored, so the vote was not recorded."
        else:
            tally = self.store.vote(answer_id, interaction.user.id, vote)
            text = f"Thanks, your {'👍' if vote > 0 else '👎'} is recorded ({tally.up} 👍 · {tally.down} 👎 so far)."
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=no_mentions())

    # -- failures ---------------------------------------------------------------------------
    async def apologise(self, interaction: discord.Interaction, exc: BaseException) -> None:
        """One reply for any failure: a bad question's message, else a short apology (the trace is logged)."""
        if isinstance(exc, InputError):
            text = str(exc)
        else:
            log.error("interaction failed", exc_info=(type(exc), exc, exc.__traceback__))
            text = APOLOGY
        try:
            if interaction.response.is_done():
                await interaction.edit_original_response(
                    content=text, embed=None, view=None, allowed_mentions=no_mentions()
                )
            else:
                await interaction.response.send_message(text, ephemeral=True, allowed_mentions=no_mentions())
        except discord.HTTPException:
            log.warning("could not deliver the failure notice", exc_info=True)

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: discord.app_commands.AppCommandError
    ) -> None:
        await self.apologise(interaction, getattr(error, "original", error))


def run(
    settings: Settings,
    engine: Any,
    token: str,
    *,
    sync_global: bool = False,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Connect and serve until interrupted. A rejected token or a missing privileged intent is a ConfigError."""
    bot = RagBot(settings, engine, sync_global=sync_global, announce=announce)

    async def main() -> None:
        async with bot:
            await bot.start(token)

    try:
        asyncio.run(main())
    except discord.LoginFailure:
        raise ConfigError(
            "DISCORD_TOKEN was rejected by Discord: reset the token on the Bot page and update .env"
        ) from None
    except discord.PrivilegedIntentsRequired:
        raise ConfigError(
            "RAGBOT_DISCORD_MESSAGE_CONTENT is on but the Message Content intent is not enabled for this bot: "
            "enable it on the Bot page of the developer portal, or set RAGBOT_DISCORD_MESSAGE_CONTENT=false"
        ) from None
    except (OSError, aiohttp.ClientError, discord.GatewayNotFound) as exc:
        raise RagbotError(f"cannot reach Discord ({type(exc).__name__}: {exc}): check the network") from None
    except KeyboardInterrupt:
        log.info("stopped")
