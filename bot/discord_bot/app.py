"""The Discord bot: `RagBot`, a `commands.Bot` handed its settings, engine and store, and what the cogs share.

Shared here: the intents, admission (one question in flight per user and the order of the rest:
fair_queue.py; a per-user cooldown from discord.py's CooldownMapping), the engine on its own worker
threads (at most RAGBOT_DISCORD_MAX_CONCURRENCY answers at once),
streaming with throttled edits when the engine can, the conversation so far (conversation.py), the
one path that posts an answer (replies.py says where; plain text without Embed Links), one apology
for failures before an answer is shown (after it, failures are logged and never replace it), the
start-up checks (command sync, permissions per server, the retention purge) and `run()` for
`ragbot discord` (sharded with RAGBOT_DISCORD_SHARDS). Commands live in cogs/, one per file, listed
in COGS; the answer buttons in buttons.py; renderings in embeds.py. Leaves out the core's work and
any reading of the environment."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
import discord
from discord.ext import commands, tasks

from retrieval import MAX_QUESTION_CHARS, ConfigError, Final, InputError, RagbotError, Turn, clean_question

from .buttons import AnswerButton, answer_buttons
from .conversation import read_conversation
from .embeds import MESSAGE_LIMIT, answer_reply, draft_embed, draft_text, no_mentions, plain_answer, strip_mentions
from .fair_queue import FairQueue, Status
from .feedback import FeedbackStore
from .replies import InInteraction, Place

if TYPE_CHECKING:
    from retrieval import Answer, Engine, Settings

    from .settings import DiscordSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

COGS = [  # one extension per feature; a new command is one more line here
    "ask",
    "context",
    "mentions",
    "about",
    "check",
    "help",
    "forget",
]
STREAM_EDIT_S = 1.5  # while an LLM writes, the shown answer is edited at most this often
APOLOGY = "Sorry, something went wrong while answering. Please try again in a moment."
BUSY = "I'm still answering your last question: ask again when its answer is in."
OVERFLOW_LOST = "The rest of this answer could not be sent; press Sources under it to read every cited passage."
PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    embed_links=True,
    read_message_history=True,
)
PERMISSION_NAMES = {  # as the server settings name them
    "view_channel": "View Channels",
    "send_messages": "Send Messages",
    "send_messages_in_threads": "Send Messages in Threads",
    "create_public_threads": "Create Public Threads",
    "embed_links": "Embed Links",
    "read_message_history": "Read Message History",
}
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


def missing_permissions(permissions: discord.Permissions) -> list[str]:
    """The permissions the bot needs that `permissions` lacks, by their names in the server settings."""
    return [label for name, label in PERMISSION_NAMES.items() if not getattr(permissions, name)]


def queue_note(ahead: int) -> str:
    """What a waiting asker is told in their deferred reply."""
    if ahead <= 0:
        return "Waiting for a free moment: your question is next."
    return f"Waiting for a free moment: {ahead} question{'s' if ahead != 1 else ''} ahead of yours."


def context_turn(text: str) -> Turn:
    """A message's text as the conversation so far (the turn a follow-up question can lean on)."""
    return Turn(" ".join(text.split())[:MAX_QUESTION_CHARS])


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
        **options: Any,
    ) -> None:
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False  # text only: no voice libraries needed
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents or intents_for(discord_settings),
            allowed_mentions=no_mentions(),
            help_command=None,
            **options,
        )
        self.settings = settings
        self.discord_settings = discord_settings
        self.engine = engine
        self.store = store
        self.sync_global = sync_global
        seconds = discord_settings.cooldown_s
        self.cooldowns = commands.CooldownMapping.from_cooldown(1, seconds, _by_user) if seconds > 0 else None
        self.queue = FairQueue(discord_settings.max_concurrency)
        self.engine_pool = concurrent.futures.ThreadPoolExecutor(
            discord_settings.max_concurrency, thread_name_prefix="ragbot-engine"
        )  # its own workers: answers never take the default pool's threads (DNS lookups, /about)
        self.stream_edit_s = STREAM_EDIT_S
        self._announce = announce
        self._checked_guilds: set[int] = set()
        self.purger = tasks.loop(hours=24)(self.purge)

    # -- lifecycle --------------------------------------------------------------------------
    async def setup_hook(self) -> None:
        for name in COGS:
            await self.load_extension(f"{__package__}.cogs.{name}")
        self.add_dynamic_items(AnswerButton)
        self.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]
        await self.purge()
        if self.discord_settings.guild_id:
            guild = discord.Object(id=self.discord_settings.guild_id)
            self.tree.copy_global_to(guild=guild)
            try:
                synced = await self.tree.sync(guild=guild)
            except discord.Forbidden as exc:  # 50001: not a server the bot is in, or no applications.commands
                raise ConfigError(
                    f"RAGBOT_DISCORD_GUILD_ID={guild.id}: Discord refused to sync the commands there ({exc.text}); "
                    "set it to the id of a server the bot is in (Copy Server ID, not a channel id), and invite "
                    "the bot with the applications.commands scope (the URL in docs/discord.md)"
                ) from None
            log.info("synced %d command(s) to server %s", len(synced), guild.id)
        if self.sync_global:
            synced = await self.tree.sync()
            log.info("synced %d command(s) globally (they can take up to an hour to appear)", len(synced))

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: mentions, threads and DMs are handled by the mentions cog."""

    async def on_ready(self) -> None:
        for guild in self.guilds:
            self.check_permissions(guild)
        if not self.purger.is_running() and self.discord_settings.retention_days > 0:
            self.purger.start()
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

    async def on_guild_join(self, guild: discord.Guild) -> None:
        self.check_permissions(guild)

    def check_permissions(self, guild: discord.Guild) -> list[str]:
        """Log, once per server, which of the permissions the bot needs it lacks there; returns them."""
        me = guild.me
        missing = missing_permissions(me.guild_permissions) if me is not None else []
        if missing and guild.id not in self._checked_guilds:
            log.warning(
                "in server %s (%s) the bot lacks %s: grant them to its role (without Embed Links answers are "
                "plain text)",
                guild.name,
                guild.id,
                ", ".join(missing),
            )
        self._checked_guilds.add(guild.id)
        return missing

    async def purge(self) -> None:
        """Delete stored answers and votes older than RAGBOT_DISCORD_RETENTION_DAYS (at start, then daily)."""
        days = self.discord_settings.retention_days
        try:
            purged = await asyncio.to_thread(self.store.purge, days)
        except RagbotError:
            log.warning("could not purge old answers", exc_info=True)
            return
        if purged:
            log.info("purged %d stored answer(s) older than %d days", purged, days)

    async def close(self) -> None:
        self.purger.cancel()
        await super().close()
        self.store.close()
        self.engine_pool.shutdown(wait=False, cancel_futures=True)

    # -- asking -----------------------------------------------------------------------------
    def retry_after(self, user_id: int, *, now: float | None = None) -> float:
        """0 when the user may ask now (and the question is counted), else the seconds left to wait."""
        if self.cooldowns is None:
            return 0.0
        return self.cooldowns.update_rate_limit(user_id, now) or 0.0

    def cooldown_notice(self, user_id: int, *, now: float | None = None) -> str | None:
        """None when the user may ask now, else what to tell them (the wait rounded up)."""
        wait = self.retry_after(user_id, now=now)
        if wait <= 0:
            return None
        seconds = max(math.ceil(wait), 1)
        return f"One question every {self.discord_settings.cooldown_s:g} s, please: try again in {seconds} s."

    def admit(self, user_id: int) -> str | None:
        """None when the user may ask now (they then have a question in flight until `respond` ends),
        else what to tell them: their last question is still being answered, or the cooldown."""
        if user_id in self.queue.asking:
            return BUSY
        notice = self.cooldown_notice(user_id)
        if notice is None:
            self.queue.claim(user_id)
        return notice

    async def ask_by_interaction(
        self,
        interaction: discord.Interaction,
        raw: str,
        *,
        private: bool = False,
        history: Sequence[Turn] = (),
        note: str | None = None,
    ) -> None:
        """A question from a slash command or a modal: check it and the asker, defer, answer in place.
        Refusals before deferring are ephemeral; in one of the bot's threads or a DM, what was said
        there before is the conversation."""
        try:
            question = clean_question(strip_mentions(raw))
        except InputError as exc:
            await interaction.response.send_message(str(exc), ephemeral=True, allowed_mentions=no_mentions())
            return
        notice = self.admit(interaction.user.id)
        if notice:
            await interaction.response.send_message(notice, ephemeral=True, allowed_mentions=no_mentions())
            return
        try:
            await interaction.response.defer(thinking=True, ephemeral=private)
            if not history and self.is_our_conversation(interaction.channel):
                history = await self.conversation(interaction.channel)  # type: ignore[arg-type]
        except BaseException:
            self.queue.release(interaction.user.id)
            raise
        await self.respond(InInteraction(interaction, private=private), question, history, note=note)

    def is_our_conversation(self, channel: object) -> bool:
        """One of the bot's own threads, or a DM: places whose earlier answers are the conversation."""
        me = self.user
        if isinstance(channel, discord.DMChannel):
            return True
        return isinstance(channel, discord.Thread) and me is not None and channel.owner_id == me.id

    async def conversation(
        self, channel: discord.abc.Messageable, *, before: discord.abc.Snowflake | None = None
    ) -> list[Turn]:
        """Earlier turns in a thread or DM, from the bot's own answers there (none when the history is unreadable)."""
        bot_id = self.user.id if self.user else 0
        return await read_conversation(channel, bot_id, self.store, self.settings.history_turns, before=before)

    # -- answering --------------------------------------------------------------------------
    async def answer(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        show: Show | None = None,
        status: Status | None = None,
    ) -> Answer:
        """Run the blocking engine on its own worker threads; at most RAGBOT_DISCORD_MAX_CONCURRENCY at once,
        the others wait in order (`status(questions ahead)` is awaited when a question has to wait, and as it
        moves up).

        With `show` and an engine that streams, `show(text so far)` is awaited while an LLM writes, at most
        once every `stream_edit_s` seconds (Discord rate-limits edits); the verified answer is returned."""
        log.debug("question: %r (%d earlier turn(s))", question, len(history))
        async with self.queue.turn(status):
            if show is not None and hasattr(self.engine, "stream"):
                answer = await self._stream(question, list(history), show)
            else:
                loop = asyncio.get_running_loop()
                answer = await loop.run_in_executor(self.engine_pool, self.engine.answer, question, list(history))
        log.info(
            "answered (%s, answerable=%s) in %.0f ms", answer.mode, answer.answerable, answer.timings_ms.get("total", 0)
        )
        return answer

    async def work(self, call: Callable[[], T], status: Status | None = None) -> T:
        """Other engine work (a claim check, the quotes list) on the engine's workers, in the same fair
        queue as answers."""
        async with self.queue.turn(status):
            return await asyncio.get_running_loop().run_in_executor(self.engine_pool, call)

    async def _stream(self, question: str, history: list[Turn], show: Show) -> Answer:
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[Any] = asyncio.Queue()

        def produce() -> None:  # on a worker thread: the engine never runs on the event loop
            try:
                for event in self.engine.stream(question, history):
                    loop.call_soon_threadsafe(events.put_nowait, event)
            except BaseException as exc:  # noqa: BLE001 - handed to the loop and raised there
                loop.call_soon_threadsafe(events.put_nowait, exc)

        worker = loop.run_in_executor(self.engine_pool, produce)
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

    async def respond(
        self, place: Place, question: str, history: Sequence[Turn] = (), *, note: str | None = None
    ) -> None:
        """Answer a question at `place`: typing (or its place in the queue), the answer as an LLM writes it,
        then the verified answer with `note` above it. A failure before the answer is shown becomes the
        question's error or the apology, in place of any draft; after it, failures are logged and the
        answer stays. The asker's question is no longer in flight when this returns."""

        async def show(text: str) -> None:
            if place.embeds:
                await place.show(content=None, embed=draft_embed(question, text))
            else:
                await place.show(content=draft_text(question, text), embed=None)

        async def status(ahead: int) -> None:
            try:
                await place.status(queue_note(ahead))
            except discord.HTTPException:
                log.info("could not show the queue position", exc_info=True)

        try:
            async with place.typing():
                answer = await self.answer(question, history, show=show, status=status)
            sent = await self.show_answer(place, answer, note=note)
        except Exception as exc:  # noqa: BLE001 - the asker gets one short message, the log the trace
            try:
                await place.show(content=self.failure_text(exc), embed=None, view=None)
            except discord.HTTPException:
                log.warning("could not deliver the failure notice", exc_info=True)
            return
        finally:
            self.queue.release(place.user_id)
        await self.finish_answer(place, sent)

    async def post_answer(self, place: Place, answer: Answer, *, note: str | None = None) -> discord.Message | None:
        """The one send path: keep the answer and show it (replacing any draft), then note the message and send
        any text that did not fit. Returns the message (None when a private answer had nowhere to go)."""
        sent = await self.show_answer(place, answer, note=note)
        await self.finish_answer(place, sent)
        return sent.message

    async def show_answer(self, place: Place, answer: Answer, *, note: str | None = None) -> Shown:
        """Keep the answer, then show its embed (or plain text) and buttons: up to here a failure is the
        asker's to hear about; nothing after this may take the answer back."""
        answer_id = self.store.add(answer, user_id=place.user_id, guild_id=place.guild_id, channel_id=place.channel_id)
        view = answer_buttons(answer_id, self.store.store_id)
        if place.embeds:
            reply = answer_reply(answer, self.engine.thresholds)
            message = await place.show(content=note, embed=reply.embed, view=view)
            overflow = list(reply.overflow)
        else:
            first, *overflow = plain_answer(answer, self.engine.thresholds)
            if note and len(note) + 1 + len(first) <= MESSAGE_LIMIT:
                first = f"{note}\n{first}"
            elif note:
                overflow.insert(0, first)
                first = note
            message = await place.show(content=first, embed=None, view=view)
        return Shown(answer_id, message, overflow)

    async def finish_answer(self, place: Place, shown: Shown) -> None:
        """After an answer is shown: note the message that shows it and send the text that did not fit.
        Failures are logged; a lost part of the answer is said in a separate message when possible."""
        if shown.message is None:
            log.info("answer %d was not delivered (nowhere to send it)", shown.answer_id)
            return
        try:
            self.store.set_message(shown.answer_id, shown.message.id, shown.message.channel.id)
        except Exception:  # noqa: BLE001 - the answer is shown: its buttons still work by its id
            log.warning("could not note the message of answer %d", shown.answer_id, exc_info=True)
        for i, text in enumerate(shown.overflow):
            try:
                await place.add(text)
            except discord.HTTPException:
                log.warning(
                    "could not send the rest of the answer (%d of %d parts)", i, len(shown.overflow), exc_info=True
                )
                try:
                    await place.add(OVERFLOW_LOST)
                except discord.HTTPException:
                    log.warning("could not say that the rest of the answer was lost", exc_info=True)
                return

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


class ShardedRagBot(RagBot, commands.AutoShardedBot):
    """RagBot over several gateway connections (RAGBOT_DISCORD_SHARDS), for bots in many servers."""


@dataclass(frozen=True)
class Shown:
    """An answer just shown: its stored id, the message showing it (None: nowhere), the text still to send."""

    answer_id: int
    message: discord.Message | None
    overflow: list[str]


def bot_class(shards: str) -> tuple[type[RagBot], dict[str, Any]]:
    """RagBot, or a sharded one for RAGBOT_DISCORD_SHARDS=auto (Discord picks the count) or a number."""
    if shards == "off":
        return RagBot, {}
    return ShardedRagBot, ({} if shards == "auto" else {"shard_count": int(shards)})


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
    cls, sharding = bot_class(discord_settings.shards)
    bot = cls(settings, discord_settings, engine, store, sync_global=sync_global, announce=announce, **sharding)

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
