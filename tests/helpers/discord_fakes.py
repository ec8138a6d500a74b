"""Small fakes of Discord objects for the bot's tests: an Interaction, messages, channels and threads.

Each records what the bot sent (content, embed, view, ephemeral, allowed_mentions) and enforces the
one rule that matters for interactions: a response can be made once, and follow-ups only after it.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import discord

_ids = itertools.count(10_000)
MISSING = discord.utils.MISSING


@dataclass
class Sent:
    kind: str  # "response", "defer", "edit", "followup", "send"
    content: str | None = None
    embed: discord.Embed | None = None
    view: discord.ui.View | None = None
    ephemeral: bool = False
    allowed_mentions: discord.AllowedMentions | None = None
    reference: Any = None
    id: int = field(default_factory=lambda: next(_ids))


def http_error(
    cls: type[discord.HTTPException] = discord.HTTPException, status: int = 500, code: int = 0, message: str = "failed"
) -> discord.HTTPException:
    """A discord.py HTTP error as the library raises it (Forbidden 50001, NotFound 10015, ...)."""
    response = SimpleNamespace(status=status, reason=message)
    return cls(response, {"code": code, "message": message})  # type: ignore[arg-type]


def pings_nobody(am: discord.AllowedMentions | None) -> bool:
    return am is not None and (am.everyone, am.users, am.roles, am.replied_user) == (False, False, False, False)


class FakeResponse:
    def __init__(self, itx: FakeInteraction) -> None:
        self._itx = itx
        self._done = False

    def is_done(self) -> bool:
        return self._done

    def _respond(self) -> None:
        if self._done:
            raise discord.InteractionResponded(self._itx)  # type: ignore[arg-type]
        self._done = True

    async def send_message(self, content=None, *, embed=None, view=MISSING, ephemeral=False, allowed_mentions=None):
        self._respond()
        self._itx.sent.append(Sent("response", content, embed, view or None, ephemeral, allowed_mentions))

    async def send_modal(self, modal):
        self._respond()
        self._itx.sent.append(Sent("modal"))
        self._itx.modal = modal

    async def defer(self, *, thinking=False, ephemeral=False):
        self._respond()
        self._itx.sent.append(Sent("defer", ephemeral=ephemeral))
        self._itx.thinking = thinking


class FakeFollowup:
    def __init__(self, itx: FakeInteraction) -> None:
        self._itx = itx

    async def send(
        self, content=None, *, embed=MISSING, view=MISSING, ephemeral=False, allowed_mentions=None, wait=False
    ):
        assert self._itx.response.is_done(), "a follow-up before the response"
        if self._itx.followup_error is not None:
            raise self._itx.followup_error
        self._itx.sent.append(Sent("followup", content, embed or None, view or None, ephemeral, allowed_mentions))


class FakeInteraction:
    """What the bot touches of a `discord.Interaction`."""

    def __init__(
        self,
        client,
        user_id: int,
        *,
        guild_id: int | None = 1,
        channel_id: int = 2,
        channel=None,
        message=None,
        dm=None,
        app_permissions: discord.Permissions | None = None,
    ) -> None:
        self.client = client
        self.user = FakeUser(user_id, dm=dm)
        self.guild_id = guild_id
        self.channel = channel if channel is not None else FakeChannel(id=channel_id)
        self.channel_id = self.channel.id
        self.message = message  # the message a button sits under
        self.app_permissions = app_permissions or discord.Permissions.all()
        self.sent: list[Sent] = []
        self.thinking = False
        self.expired = False  # set to act as an interaction past its 15 minutes
        self.followup_error: Exception | None = None
        self.modal: Any = None
        self.response = FakeResponse(self)
        self.followup = FakeFollowup(self)

    def is_expired(self) -> bool:
        return self.expired

    async def edit_original_response(self, *, content=MISSING, embed=MISSING, view=MISSING, allowed_mentions=None):
        assert self.response.is_done(), "edit before the response"
        if self.expired:
            raise http_error(discord.HTTPException, 401, 50027, "Invalid Webhook Token")
        sent = Sent(
            "edit",
            None if content is MISSING else content,
            None if embed is MISSING else embed,
            None if view is MISSING else view,
            False,
            allowed_mentions,
        )
        self.sent.append(sent)
        return SimpleNamespace(id=sent.id, channel=SimpleNamespace(id=self.channel_id))

    def last(self) -> Sent:
        return self.sent[-1]


class FakeChannel:
    """A text channel, thread or DM that records sends and replays a history (oldest first)."""

    def __init__(
        self, *, id: int | None = None, history: list | None = None, perms: discord.Permissions | None = None
    ) -> None:
        self.id = id or next(_ids)
        self.sent: list[Sent] = []
        self.messages: list = list(history or [])
        self.perms = perms  # None: a DM-like channel with no permission checks
        if perms is not None:  # a server channel: the bot's permissions there are `perms`
            self.guild = SimpleNamespace(id=1, me=SimpleNamespace(id=BOT_ID))
        self.send_error: Exception | None = None

    def permissions_for(self, member):
        return self.perms if self.perms is not None else discord.Permissions.all()

    async def send(self, content=None, *, embed=None, view=None, reference=None, allowed_mentions=None):
        if self.send_error is not None:
            raise self.send_error
        sent = Sent("send", content, embed, view, False, allowed_mentions, reference)
        self.sent.append(sent)
        message = FakeMessage(
            content or "",
            author=SimpleNamespace(id=BOT_ID, bot=True),
            channel=self,
            id=sent.id,
            embeds=[embed] if embed else [],
        )
        self.messages.append(message)
        return message

    def typing(self):
        return _Typing()

    async def history(self, *, limit=100, before=None):
        messages = self.messages
        if before is not None:
            messages = [m for m in messages if m.id < before.id]
        for m in reversed(messages[-limit:]):  # newest first, as Discord returns them
            yield m


class _Typing:
    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return False


class FakeThread(FakeChannel, discord.Thread):
    """Passes `isinstance(x, discord.Thread)`; only what the bot reads is set."""

    def __init__(
        self,
        *,
        owner_id: int,
        id: int | None = None,
        history: list | None = None,
        perms: discord.Permissions | None = None,
    ) -> None:
        FakeChannel.__init__(self, id=id, history=history, perms=perms)
        self.owner_id = owner_id


class FakeDM(FakeChannel, discord.DMChannel):
    def __init__(self, *, id: int | None = None, history: list | None = None) -> None:
        FakeChannel.__init__(self, id=id, history=history)


class FakeTextChannel(FakeChannel, discord.TextChannel):
    def __init__(
        self,
        *,
        id: int | None = None,
        thread_error: Exception | None = None,
        perms: discord.Permissions | None = None,
    ) -> None:
        FakeChannel.__init__(self, id=id, perms=perms)
        self.thread_error = thread_error
        self.made_threads: list[FakeThread] = []


BOT_ID = 424242


class FakeMessage:
    def __init__(
        self,
        content: str,
        *,
        author,
        channel,
        id: int | None = None,
        mentions=(),
        embeds=(),
        guild=None,
        type: discord.MessageType = discord.MessageType.default,
        webhook_id: int | None = None,
        attachments=(),
        reference=None,
    ) -> None:
        self.id = id or next(_ids)
        self.type = type
        self.webhook_id = webhook_id
        self.attachments = list(attachments)
        self.reference = reference  # a SimpleNamespace(resolved=message or None, message_id=...) for a reply
        self.reply_error: Exception | None = None
        self.content = content
        self.author = author
        self.channel = channel
        self.mentions = list(mentions)
        self.role_mentions: list = []
        self.embeds = list(embeds)
        self.guild = guild
        self.replies: list[Sent] = []

    async def edit(self, *, content=MISSING, embed=MISSING, view=MISSING, allowed_mentions=None):
        sent = Sent(
            "edit",
            None if content is MISSING else content,
            None if embed is MISSING else embed,
            None if view is MISSING else view,
            False,
            allowed_mentions,
        )
        self.channel.sent.append(sent)
        if embed is not MISSING:
            self.embeds = [embed] if embed else []
        return self

    async def reply(self, content=None, *, allowed_mentions=None, **kwargs):
        if self.reply_error is not None:
            raise self.reply_error
        sent = Sent("reply", content, kwargs.get("embed"), None, False, allowed_mentions)
        self.replies.append(sent)
        return sent

    async def create_thread(self, *, name: str, auto_archive_duration: int = 1440):
        channel = self.channel
        if channel.thread_error:
            raise channel.thread_error
        thread = FakeThread(owner_id=BOT_ID, id=self.id, perms=channel.perms)
        thread.name = name
        channel.made_threads.append(thread)
        return thread


class FakeUser:
    """An interaction's user: `create_dm()` gives `dm` (a FakeDM), or raises Forbidden when DMs are closed."""

    def __init__(self, user_id: int, *, dm=None) -> None:
        self.id = user_id
        self.mention = f"<@{user_id}>"
        self.display_name = f"user{user_id}"
        self.bot = False
        self.dm = dm

    async def create_dm(self):
        if self.dm is None:
            raise http_error(discord.Forbidden, 403, 50007, "Cannot send messages to this user")
        return self.dm


def user(user_id: int, *, bot: bool = False) -> SimpleNamespace:
    return SimpleNamespace(id=user_id, bot=bot, display_name=f"user{user_id}")


async def offline_bot(settings, discord_settings, engine):
    """A RagBot with its cogs loaded and a bot user set, never connected (no sync: no guild id, no --sync)."""
    from bot.discord_bot.app import RagBot
    from bot.discord_bot.feedback import FeedbackStore

    bot = RagBot(settings, discord_settings, engine, FeedbackStore(discord_settings.db_path))
    await bot.setup_hook()
    bot._connection.user = SimpleNamespace(id=BOT_ID, display_name="ragbot", mention=f"<@{BOT_ID}>")
    return bot


class Recording:
    """The real engine, noting which thread ran each call and how many ran at once."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: list[tuple[str, list]] = []
        self.threads: list[int] = []
        self.active = self.peak = 0
        self._lock = threading.Lock()

    def describe(self):
        return self.inner.describe()

    @property
    def thresholds(self):
        return self.inner.thresholds

    def answer(self, question, history=(), **kwargs):
        with self._lock:
            self.calls.append((question, list(history)))
            self.threads.append(threading.get_ident())
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            return self.inner.answer(question, history, **kwargs)
        finally:
            with self._lock:
                self.active -= 1
