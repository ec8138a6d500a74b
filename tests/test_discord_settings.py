"""bot/discord_bot/settings.py: the bot's own settings, read under the names it has always used, and
the token check; the core's Settings no longer know anything of Discord."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from bot.discord_bot import DiscordSettings, check_token, load_discord_settings
from retrieval.errors import ConfigError
from retrieval.settings import Secret, Settings, load_settings

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GAbcde.abcdefghijklmnopqrstuvwxyz0123456789ab"
NAMES = (
    "DISCORD_TOKEN",
    "RAGBOT_DISCORD_GUILD_ID",
    "RAGBOT_DISCORD_MESSAGE_CONTENT",
    "RAGBOT_DISCORD_DMS",
    "RAGBOT_DISCORD_COOLDOWN_S",
    "RAGBOT_DISCORD_MAX_CONCURRENCY",
    "RAGBOT_DISCORD_DB_PATH",
    "RAGBOT_DISCORD_RETENTION_DAYS",
    "RAGBOT_DISCORD_SHARDS",
)


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No Discord variable set and no developer .env in sight."""
    monkeypatch.chdir(tmp_path)
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults(clean_env):
    s = load_discord_settings()
    assert s.token is None and s.guild_id is None
    assert (s.message_content, s.dms, s.cooldown_s, s.max_concurrency) == (False, True, 10.0, 4)
    assert (s.retention_days, s.shards) == (90, "off")
    assert s.db_path == Path.cwd().resolve() / ".ragbot" / "discord.sqlite3"  # the root: here, no .ragbot/ above


def test_every_variable_is_read_from_the_environment(clean_env):
    values = dict(zip(NAMES, (TOKEN, "555", "true", "false", "2.5", "8", "bot.sqlite3", "30", "auto"), strict=True))
    for name, value in values.items():
        clean_env.setenv(name, value)
    s = load_discord_settings()
    assert s.token.get_secret_value() == TOKEN and s.guild_id == 555
    assert (s.message_content, s.dms, s.cooldown_s, s.max_concurrency) == (True, False, 2.5, 8)
    assert s.db_path == Path("bot.sqlite3") and (s.retention_days, s.shards) == (30, "auto")


def test_dotenv_is_read_and_the_environment_wins(clean_env, tmp_path):
    (tmp_path / ".env").write_text(
        f"DISCORD_TOKEN={TOKEN}\nRAGBOT_DISCORD_COOLDOWN_S=3\nRAGBOT_LLM_MODEL=ignored/here\n", encoding="utf-8"
    )
    clean_env.setenv("RAGBOT_DISCORD_COOLDOWN_S", "7")
    s = load_discord_settings()
    assert s.token.get_secret_value() == TOKEN and s.cooldown_s == 7
    assert DiscordSettings.of().token is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RAGBOT_DISCORD_COOLDOWN_S", "-1"),
        ("RAGBOT_DISCORD_MAX_CONCURRENCY", "0"),
        ("RAGBOT_DISCORD_MAX_CONCURRENCY", "65"),
        ("RAGBOT_DISCORD_GUILD_ID", "my server"),
        ("RAGBOT_DISCORD_DMS", "perhaps"),
        ("RAGBOT_DISCORD_RETENTION_DAYS", "-1"),
        ("RAGBOT_DISCORD_SHARDS", "many"),
        ("RAGBOT_DISCORD_SHARDS", "0"),
    ],
)
def test_a_bad_value_is_a_config_error_naming_the_variable(clean_env, name, value):
    clean_env.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_discord_settings()
    assert str(err.value).startswith(f"invalid setting: {name}: ") and err.value.exit_code == 2


def test_the_token_is_a_secret_never_shown(clean_env):
    clean_env.setenv("DISCORD_TOKEN", TOKEN)
    s = load_discord_settings()
    assert isinstance(s.token, Secret)
    assert TOKEN not in repr(s) and TOKEN not in str(msgspec.to_builtins(s, enc_hook=str))
    assert check_token(s.token) == TOKEN


def test_the_core_settings_know_nothing_of_discord(clean_env):
    tokens = [name for name in Settings.__struct_fields__ if "token" in name]
    assert tokens == ["chroma_auth_token"]  # the Chroma server's, never Discord's
    assert not [name for name in Settings.__struct_fields__ if "discord" in name]
    clean_env.setenv("RAGBOT_DISCORD_COOLDOWN_S", "-1")  # the bot's bad value is not the core's problem
    clean_env.setenv("DISCORD_TOKEN", TOKEN)
    assert TOKEN not in repr(load_settings())
