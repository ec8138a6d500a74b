"""The Discord bot's settings: a pydantic-settings model of its own, and the bot token check.

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
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from retrieval import ConfigError, build_settings, root_folder, with_root_defaults

ENV_PREFIX = "RAGBOT_DISCORD_"
_TOKEN = re.compile(r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+$")


class DiscordSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    token: SecretStr | None = Field(None, validation_alias="DISCORD_TOKEN")
    guild_id: int | None = Field(None, description="a dev server that gets the slash commands at every start")
    message_content: bool = Field(False, description="read thread follow-ups without a mention (privileged)")
    dms: bool = Field(True, description="answer direct messages")
    cooldown_s: float = Field(10.0, ge=0, description="seconds between one user's questions; 0 = no limit")
    max_concurrency: int = Field(4, ge=1, le=64, description="answers worked on at once; others wait")
    db_path: Path = Field(Path(".ragbot/discord.sqlite3"), description="the store of posted answers and votes")
    retention_days: int = Field(90, ge=0, description="days answers and votes are kept; 0 = until /forget")
    shards: str = Field(
        "off", pattern=r"^(off|auto|[1-9][0-9]*)$", description="off, auto (discord.py picks) or a shard count"
    )


def load_discord_settings(*, root: Path | None = None, **overrides: Any) -> DiscordSettings:
    """Build DiscordSettings from the environment and `root`/.env (root: found from the working directory);
    a bad value raises ConfigError naming it."""
    root = root or root_folder()
    overrides.setdefault("_env_file", root / ".env")
    return with_root_defaults(build_settings(DiscordSettings, **overrides), root, ("db_path",))


def check_token(token: SecretStr | None) -> str:
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
