"""The Discord bot's settings: a settings model of its own, and the bot token check.

Read from the environment and from `.env` in the root folder (the nearest folder holding `.ragbot/`,
as the core finds it), under the names the bot has always used: `DISCORD_TOKEN` and `RAGBOT_DISCORD_*`
(guild id, message content, DMs, cooldown, concurrency, store path, retention, shards); the default database path
resolves against that root, a path that is set is used as given. Built once by `ragbot discord`
beside the core's Settings and passed down; nothing reads the environment at import time. Leaves
out the core's settings (retrieval.Settings) and anything that talks to Discord.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, ClassVar

from msgspec import Meta

from retrieval import ConfigError, EnvSettings, Secret, load_model

ENV_PREFIX = "RAGBOT_DISCORD_"
_TOKEN = re.compile(r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+$")


class DiscordSettings(EnvSettings, frozen=True, kw_only=True):
    ENV_PREFIX: ClassVar[str] = ENV_PREFIX
    ENV_ALIASES: ClassVar[dict[str, str]] = {"token": "DISCORD_TOKEN"}
    ROOT_PATHS: ClassVar[tuple[str, ...]] = ("db_path",)

    token: Secret | None = None
    guild_id: int | None = None  # a dev server that gets the slash commands at every start
    message_content: bool = False  # read thread follow-ups without a mention (privileged)
    dms: bool = True  # answer direct messages
    cooldown_s: Annotated[float, Meta(ge=0)] = 10.0  # seconds between one user's questions; 0 = no limit
    max_concurrency: Annotated[int, Meta(ge=1, le=64)] = 4  # answers worked on at once; others wait
    db_path: Path = Path(".ragbot/discord.sqlite3")  # the store of posted answers and votes
    retention_days: Annotated[int, Meta(ge=0)] = 90  # days answers and votes are kept; 0 = until /forget
    shards: Annotated[str, Meta(pattern=r"^(off|auto|[1-9][0-9]*)$")] = "off"  # off, auto or a shard count


def load_discord_settings(*, root: Path | None = None, **overrides: Any) -> DiscordSettings:
    """Build DiscordSettings from the environment and `root`/.env (root: found from the working directory);
    a bad value raises ConfigError naming it."""
    return load_model(DiscordSettings, root=root, **overrides)


def check_token(token: Secret | None) -> str:
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
