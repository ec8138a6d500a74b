"""ragbot on Discord: slash commands, a message context menu, mentions, threads and DMs answered with cited quotes.

    settings.py      DiscordSettings (DISCORD_TOKEN, RAGBOT_DISCORD_*) and the token check
    app.py           RagBot: intents, the fair queue, the engine's workers, the one send path, failures,
                     start-up checks (sync, permissions, retention), run() (sharded on request)
    fair_queue.py    one question in flight per user, `slots` answered at once, the rest in order, told their place
    conversation.py  the conversation so far in a thread or DM, from the bot's own answers; a message as context
    replies.py       where an answer goes: a channel, thread or DM, or an interaction's response (or, once it
                     expired, the channel or a DM); embeds or plain text
    buttons.py       the persistent Sources / 👍 / 👎 buttons under every answer
    embeds.py        pure renderings: embeds, 2,000-character messages, defused mentions, thread names
    sources.py       the Sources message: each cited passage in full, in 2,000-character messages
    feedback.py      the SQLite store of posted answers and votes (schema versions, /forget, retention)
    cogs/            /ask, /about, /help, /forget, "Ask about this message", and questions by message,
                     one cog per file

`ragbot discord` builds the settings, checks the token, builds the engine and calls `run()`. The core
is reached only through `retrieval`'s public face. Leaves out the answering itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .settings import DiscordSettings, check_token, load_discord_settings

if TYPE_CHECKING:
    from .app import run

__all__ = ["DiscordSettings", "check_token", "load_discord_settings", "run"]


def __getattr__(name: str) -> Any:
    """`run` (and with it discord.py) is imported on first use: every command reads DiscordSettings' names."""
    if name == "run":
        from .app import run

        return run
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
