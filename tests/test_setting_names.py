"""A misspelt setting is not silently ignored: every `RAGBOT_*` name in the environment or `.env` that
no settings model reads (the core's or the Discord bot's) gets one warning naming the closest real one."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

from bot.discord_bot import DiscordSettings


def test_unknown_names_get_the_closest_real_one(clean, tmp_path, caplog):
    from retrieval.settings import unknown_settings, warn_unknown_settings

    clean.setenv("RAGBOT_TOPK", "3")
    clean.setenv("RAGBOT_TOP_K", "4")  # a real one: never reported
    clean.setenv("RAGBOT_DISCORD_COOLDOWN", "3")
    clean.setenv("RAGBOT_DISCORD_DMS", "false")  # real, for the Discord bot
    clean.setenv("RAGBOT_NOTHING_LIKE_IT", "1")
    env = tmp_path / ".env"
    env.write_text("RAGBOT_LLM_MODLE=gpt-4o-mini\nOPENAI_API_KEY=sk-x\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="retrieval.settings"):
        names = warn_unknown_settings(env, [DiscordSettings])
    assert sorted(names) == ["RAGBOT_DISCORD_COOLDOWN", "RAGBOT_LLM_MODLE", "RAGBOT_NOTHING_LIKE_IT", "RAGBOT_TOPK"]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 4
    assert any("RAGBOT_TOPK" in m and "did you mean RAGBOT_TOP_K?" in m for m in messages)
    assert any("RAGBOT_LLM_MODLE" in m and str(env) in m and "RAGBOT_LLM_MODEL" in m for m in messages)
    assert any("RAGBOT_DISCORD_COOLDOWN " in m and "RAGBOT_DISCORD_COOLDOWN_S" in m for m in messages)
    assert any("RAGBOT_NOTHING_LIKE_IT" in m and "docs/settings.md" in m for m in messages)
    # without the Discord model, its names are not known to the core
    assert "RAGBOT_DISCORD_DMS" in [n for n, _, _ in unknown_settings(None)]


def test_the_cli_warns_once_on_stderr(clean, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("RAGBOT_")}
    env.update(RAGBOT_TOPK="3", RAGBOT_DISCORD_COOLDOWN_S="2")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "sources"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120
    )
    warnings = [line for line in result.stderr.splitlines() if "not a ragbot setting" in line]
    assert len(warnings) == 1, result.stderr
    assert "WARNING" in warnings[0] and "RAGBOT_TOPK" in warnings[0] and "did you mean RAGBOT_TOP_K?" in warnings[0]
