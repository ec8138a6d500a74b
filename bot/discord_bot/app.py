"""The Discord bot: `RagBot`, a `commands.Bot` handed its settings, engine and store, and what the cogs share.

Shared here: the intents, the per-user cooldown (discord.py's CooldownMapping), the concurrency gate
in front of the blocking engine (it queues, never rejects; the engine runs in `asyncio.to_thread`,
streaming with throttled edits when it can), the conversation so far (conversation.py), the one path
that posts an answer (replies.py says where), one apology for failures, and `run()` for `ragbot
discord`. Commands live in cogs/, one per file; the answer buttons in buttons.py; renderings in
embeds.py. Leaves out the core's work and any reading of the environment."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord.ext import commands

from retrieval import ConfigError, Final, InputError, RagbotError, Turn

from .buttons import AnswerButton, answer_buttons
from .conversation import read_conversation
from .embeds import answer_reply, draft_embed, no_mentions
from .feedback import FeedbackStore
from .replies import Place

if TYPE_CHECKING:
    from retrieval import Answer, Engine, Settings

    from .settings import DiscordSettings

log = logging.getLogger(__name__)

COGS = tuple(f"{__package__}.cogs.{name}" for name in ("ask", "mentions", "about"))
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


def intents_for(discord_settings: DiscordSettings) -> discord.Intents:
    """Servers, their messages and DMs; message content only when RAGBOT_DISCORD_MESSAGE_CONTENT is set.
    Mentions, DMs and slash commands carry their text without it; thread follow-ups without a mention need it."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = discord_settings.message_content
    return intents


def invite_url(application_id: int) -> str:
    """The link that adds the bot to a server with its commands and the permissions it needs."""
    return discord.utils.oauth_url(application_id, permissions=PERMISSIONS, scopes=("bot", "applications.commands"))


def _by_user(user_id: int) -> int:
    return user_id


class RagBot(commands.Bot):
    """ragbot on Discord. Dependencies come in through the constructor; nothing is read from the environment."""

    def __init__(
        self,
        settings: Settings,
        discord_settings: DiscordSettings,
        engine: Engine,
        store: FeedbackStore,
        *,
        sync_global: bool = False,
        intents: discord.Intents | None = None,
        announce: Callable[[str], None] | None = None,
    ) -> None:
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False  # text only: no voice libraries needed
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents or intents_for(discord_settings),
            allowed_mentions=no_mentions(),
            help_command=None,
        )
        self.settings = settings
        self.discord_settings = discord_settings
        self.engine = engine
        self.store = store
        self.sync_global = sync_global
        seconds = discord_settings.cooldown_s
        self.cooldowns = commands.CooldownMapping.from_cooldown(1, seconds, _by_user) if seconds > 0 else None
        self.gate = asyncio.Semaphore(discord_settings.max_concurrency)
        self.stream_edit_s = STREAM_EDIT_S
        self._announce = announce

    # -- lifecycle --------------------------------------------------------------------------
    async def setup_hook(self) -> None:
        for name in COGS:
            await self.load_extension(name)
        self.add_dynamic_items(AnswerButton)
        self.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]
        if self.discord_settings.guild_id:
            guild = discord.Object(id=self.discord_settings.guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d command(s) to server %s", len(synced), guild.id)
        if self.sync_global:
            synced = await self.tree.sync()
            log.info("synced %d command(s) globally (they can take up to an hour to appear)", len(synced))

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: mentions, threads and DMs are handled by the mentions cog."""

    async def on_ready(self) -> None:
        me = self.user
        invite = invite_url(self.application_id or (me.id if me else 0))
        note = f"connected as {me} in {len(self.guilds)} server(s); invite: {invite}"
        if not (self.discord_settings.guild_id or self.sync_global):
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

    # -- asking -----------------------------------------------------------------------------
    def retry_after(self, user_id: int, *, now: float | None = None) -> float:
        """0 when the user may ask now (and the question is counted), else the seconds left to wait."""
        if self.cooldowns is None:
            return 0.0
        return self.cooldowns.update_rate_limit(user_id, now) or 0.0

    def cooldown_notice(self, user_id: int) -> str | None:
        """None when the user may ask now, else what to tell them."""
        wait = self.retry_after(user_id)
        if wait <= 0:
            return None
        return f"One question every {self.discord_settings.cooldown_s:g} s, please: try again in {wait:.0f} s."

    async def conversation(
        self, channel: discord.abc.Messageable, *, before: discord.abc.Snowflake | None = None
    ) -> list[Turn]:
        """Earlier turns in a thread or DM, from the bot's own answers there (none when the history is unreadable)."""
        bot_id = self.user.id if self.user else 0
        return await read_conversation(channel, bot_id, self.store, self.settings.history_turns, before=before)

    # -- answering --------------------------------------------------------------------------
    async def answer(self, question: str, history: Sequence[Turn] = (), *, show: Show | None = None) -> Answer:
        """Run the blocking engine on a worker thread; at most RAGBOT_DISCORD_MAX_CONCURRENCY at once, others wait.

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
        events: asyncio.Queue[Any] = asyncio.Queue()

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

    async def respond(self, place: Place, question: str, history: Sequence[Turn] = ()) -> None:
        """Answer a question at `place`: typing, the answer as an LLM writes it, then the verified answer;
        a failure becomes the question's error or the apology, in place of any draft."""

        async def show(text: str) -> None:
            await place.show(embed=draft_embed(question, text))

        try:
            async with place.typing():
                answer = await self.answer(question, history, show=show)
            await self.post_answer(place, answer)
        except Exception as exc:  # noqa: BLE001 - the asker gets one short message, the log the trace
            try:
                await place.show(content=self.failure_text(exc), embed=None, view=None)
            except discord.HTTPException:
                log.warning("could not deliver the failure notice", exc_info=True)

    async def post_answer(self, place: Place, answer: Answer) -> discord.Message:
        """The one send path: keep the answer, show its embed and buttons (replacing any draft), note the
        message that shows it, then send any text that did not fit."""
        answer_id = self.store.add(answer, user_id=place.user_id, guild_id=place.guild_id, channel_id=place.channel_id)
        reply = answer_reply(answer, self.engine.thresholds)
        sent = await place.show(embed=reply.embed, view=answer_buttons(answer_id))
        self.store.set_message(answer_id, sent.id, sent.channel.id)
        for text in reply.overflow:
            await place.add(text)
        return sent

    # -- failures ---------------------------------------------------------------------------
    def failure_text(self, exc: BaseException) -> str:
        """What the asker is told: a bad question's own message, else the apology (and the trace is logged)."""
        if isinstance(exc, InputError):
            return str(exc)
        log.error("answering failed", exc_info=(type(exc), exc, exc.__traceback__))
        return APOLOGY

    async def apologise(self, interaction: discord.Interaction, exc: BaseException) -> None:
        """One reply to an interaction for any failure: in place of its response, or as an ephemeral one."""
        text = self.failure_text(exc)
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
    discord_settings: DiscordSettings,
    engine: Engine,
    token: str,
    *,
    sync_global: bool = False,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Connect and serve until interrupted. A rejected token or a missing privileged intent is a ConfigError."""
    store = FeedbackStore(discord_settings.db_path)
    bot = RagBot(settings, discord_settings, engine, store, sync_global=sync_global, announce=announce)

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
