"""Secrets stay secret: the Discord token and API keys are Secret values and appear in no log, output or error.

Fake secrets are set the way a user sets them (environment); every run here captures all logs at
DEBUG (ragbot's and the libraries': litellm with LITELLM_LOG=DEBUG, discord.py, aiohttp, httpx) and
stdout/stderr, in-process and from real `ragbot` processes, then looks for each secret and for any
8-character piece of it. Runs cover `ask`, `ask --json` and `ask --json -` with a model on the
loopback server (answers, failures and fallbacks), and `ragbot discord` with a malformed token and
with a well-formed one that a loopback stand-in for Discord's API rejects.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec
import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.discord_bot import DiscordSettings, load_discord_settings
from retrieval.settings import Secret, Settings, load_settings
from tests.helpers import ROOT
from tests.helpers.llm_server import LLMServer

pytestmark = pytest.mark.filterwarnings("ignore:Item .* is using the `ReadOnly` qualifier:UserWarning")

RAGBOT_KEY = "sk-hardening-RAGBOTKEY-7d1f0c9a2b64e1"
OPENAI_KEY = "sk-hardening-OPENAIKEY-4e8b1a6c3d90f2"
DISCORD_TOKEN = "MTAxMjM0NTY3ODkwMTIzNDU2.Gx1y2z.SECRETdiscordTOKENabcdefghijklmnopqrstuvw"
CHROMA_TOKEN = "ck-hardening-CHROMATOKEN-5a2e9d7b13c8f0"
SECRETS = {
    "RAGBOT_LLM_API_KEY": RAGBOT_KEY,
    "OPENAI_API_KEY": OPENAI_KEY,
    "DISCORD_TOKEN": DISCORD_TOKEN,
    "RAGBOT_CHROMA_AUTH_TOKEN": CHROMA_TOKEN,
}
QUESTION = "From which city did Interfax report Lavrov's comments about the Geneva talks?"


def pieces(secret: str, size: int = 8) -> set[str]:
    """The secret and every `size`-character piece of it (a masked or cut secret still leaks a piece)."""
    tail = secret.split(".", 1)[1] if secret == DISCORD_TOKEN else secret  # a token's first part is the bot id
    return {secret} | {tail[i : i + size] for i in range(len(tail) - size + 1)}


def assert_no_secret(*texts: str) -> None:
    joined = "\n".join(texts)
    assert joined.strip(), "nothing was captured: the check would pass vacuously"
    for name, secret in SECRETS.items():
        leaked = sorted(p for p in pieces(secret) if p in joined)
        assert not leaked, f"{name} leaked: {leaked[:3]}"


# -- settings -----------------------------------------------------------------------------------
def test_secret_settings_are_secrets_and_never_printed(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    settings, discord_settings = load_settings(), load_discord_settings()
    assert isinstance(settings.llm_api_key, Secret) and isinstance(discord_settings.token, Secret)
    assert settings.llm_api_key.get_secret_value() == RAGBOT_KEY
    assert discord_settings.token.get_secret_value() == DISCORD_TOKEN
    fields = [f for m in (Settings, DiscordSettings) for f in msgspec.structs.fields(m)]
    assert {f.name for f in fields if "Secret" in str(f.type)} == {"llm_api_key", "chroma_auth_token", "token"}
    assert settings.chroma_auth_token is not None and settings.chroma_auth_token.get_secret_value() == CHROMA_TOKEN
    assert "openai_api_key" not in Settings.__struct_fields__  # provider keys stay in the environment, for litellm
    for s in (settings, discord_settings):
        as_json = msgspec.json.encode(s, enc_hook=str).decode()
        assert_no_secret(repr(s), str(s), as_json, str(msgspec.to_builtins(s, enc_hook=str)))


def test_a_bad_setting_beside_secrets_names_the_setting_not_the_secrets(monkeypatch, tmp_path):
    from retrieval.errors import ConfigError

    monkeypatch.chdir(tmp_path)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("RAGBOT_LLM_TIMEOUT", "-1")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "RAGBOT_LLM_TIMEOUT" in str(info.value)
    assert_no_secret(str(info.value), repr(info.value))


def test_dot_env_is_ignored_by_git():
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=30)

    assert git("check-ignore", "-q", ".env").returncode == 0
    assert git("check-ignore", "-q", "bot/.env").returncode == 0  # anywhere in the tree
    assert git("ls-files", "--error-unmatch", ".env").returncode != 0  # and never committed
    assert git("check-ignore", "-q", ".env.example").returncode == 1  # the example is committed


# -- in-process CLI runs ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def server():
    with LLMServer() as running:
        yield running


@pytest.fixture
def run(server, store_copy, tmp_path, monkeypatch, caplog):
    """Invoke ragbot in-process with every secret set; return (result, all logs as text)."""
    import retrieval.generation.llm as llm_module

    server.reset()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(llm_module, "BACKOFF_S", 0.01)
    caplog.set_level(logging.DEBUG)
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "httpx", "httpcore", "openai", "discord", "aiohttp"):
        caplog.set_level(logging.DEBUG, logger=name)

    def invoke(args: list[str], model: str = "grounded", stdin: str | None = None, **env: str):
        environ = {
            **SECRETS,
            "RAGBOT_CHROMA_PATH": str(store_copy),
            "RAGBOT_SEEDS_DIR": str(ROOT / "seeds"),
            "RAGBOT_DISCORD_DB_PATH": str(tmp_path / "discord.sqlite3"),
            "RAGBOT_LLM_MODEL": f"openai/{model}",
            "RAGBOT_LLM_API_BASE": server.base_url,
            "RAGBOT_LLM_TIMEOUT": "3",
            "RAGBOT_LOG_LEVEL": "DEBUG",
            **env,
        }
        caplog.clear()
        result = CliRunner().invoke(cli, args, input=stdin, env=environ)
        logs = "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
        return result, logs

    return invoke


CASES = [
    (["ask", "--json", QUESTION], "grounded", {}),
    (["ask", QUESTION], "grounded", {}),  # streamed
    (["ask", "--json", QUESTION], "error500", {"RAGBOT_LLM_FALLBACKS": "openai/malformed, openai/slow429"}),
    (["ask", QUESTION], "cut", {}),
    (["ask", "--json", QUESTION], "hang", {"RAGBOT_LLM_TIMEOUT": "1"}),
    (["ask", "--json", QUESTION], "grounded", {"RAGBOT_LLM_API_KEY": ""}),  # the key comes from OPENAI_API_KEY
    (["ask", "--json", QUESTION], "error500", {"RAGBOT_LLM_API_KEY": ""}),
    (["ask", "--json", "-"], "invent", {}),
    (["ask", "--json", "x" * 2001], "grounded", {}),  # a bad question: exit 2
]


@pytest.mark.parametrize(("args", "model", "env"), CASES, ids=[f"{c[1]}-{' '.join(c[0])[:24]}" for c in CASES])
def test_cli_runs_leak_no_secret(run, server, args, model, env):
    stdin = f"{QUESTION}\n\nWho blocked the resolution?\n" if args[-1] == "-" else None
    result, logs = run(args, model, stdin, **env)
    assert result.exit_code in (0, 2) and "Traceback" not in result.output, result.output
    assert server.requests or result.exit_code == 2
    assert_no_secret(result.output, result.stderr, logs, repr(result.exception))
    if "RAGBOT_LLM_API_KEY" in env:  # the key litellm took from the environment did reach the server
        assert {r.headers.get("authorization") for r in server.requests} == {f"Bearer {OPENAI_KEY}"}
    else:
        assert all(r.headers.get("authorization") == f"Bearer {RAGBOT_KEY}" for r in server.requests)


def test_a_malformed_discord_token_is_refused_without_repeating_it(run):
    malformed = DISCORD_TOKEN.replace(".", " ")
    result, logs = run(["discord"], DISCORD_TOKEN=malformed)
    assert result.exit_code == 2 and "DISCORD_TOKEN does not look like a bot token" in result.output
    assert_no_secret(result.output, logs)
    assert malformed not in result.output + logs


class _FakeDiscordAPI(BaseHTTPRequestHandler):
    """Discord's REST API as far as a login with a revoked token goes: 401 on every route."""

    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self.seen.append(f"{self.path} {self.headers.get('authorization', '')}")
        body = json.dumps({"message": "401: Unauthorized", "code": 0}).encode()
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture
def fake_discord(monkeypatch):
    import discord.http

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _FakeDiscordAPI)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _FakeDiscordAPI.seen = []
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{httpd.server_address[1]}/api/v10")
    yield _FakeDiscordAPI.seen
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_a_rejected_discord_token_is_a_clear_error_that_never_repeats_it(run, fake_discord):
    result, logs = run(["discord"], RAGBOT_LLM_MODEL="")
    assert fake_discord == [f"/api/v10/users/@me Bot {DISCORD_TOKEN}"]  # the real login reached the stand-in
    assert result.exit_code == 2, result.output
    assert "DISCORD_TOKEN was rejected by Discord" in result.output and "Traceback" not in result.output
    assert_no_secret(result.output, logs, repr(result.exception))


# -- real processes -----------------------------------------------------------------------------
def ragbot_process(args: list[str], env: dict[str, str], cwd, stdin: str | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_") and k not in SECRETS}
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        env={**base, "PYTHONPATH": str(ROOT), "LITELLM_LOG": "DEBUG", "RAGBOT_LOG_LEVEL": "DEBUG", **SECRETS, **env},
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_ragbot_processes_print_no_secret(server, store_copy, tmp_path):
    """Real processes: every log at DEBUG (litellm's too) on stderr, the provider key read by litellm itself."""
    server.reset()
    answered = ragbot_process(
        ["ask", "--json", "-"],
        {
            "RAGBOT_CHROMA_PATH": str(store_copy),
            "RAGBOT_SEEDS_DIR": str(ROOT / "seeds"),
            "RAGBOT_LLM_API_BASE": server.base_url,
            "RAGBOT_LLM_TIMEOUT": "5",
            "RAGBOT_LLM_API_KEY": "",  # litellm takes OPENAI_API_KEY from the environment
            "RAGBOT_LLM_MODEL": "openai/error500",
            "RAGBOT_LLM_FALLBACKS": "openai/grounded",
        },
        tmp_path,
        stdin=f"{QUESTION}\n{'y' * 2001}\n",
    )
    assert answered.returncode == 2, answered.stderr  # the second line is too long: its own error object
    first, second = (json.loads(line) for line in answered.stdout.splitlines())  # stdout: answers only
    assert first["mode"] == "llm" and first["model"] == "openai/grounded" and "limit is 2000" in second["error"]
    assert "DEBUG LiteLLM" in answered.stderr and "DEBUG ragbot" in answered.stderr  # the logs were at DEBUG
    assert {r.headers.get("authorization") for r in server.requests} == {f"Bearer {OPENAI_KEY}"}
    bot = ragbot_process(["discord"], {"DISCORD_TOKEN": DISCORD_TOKEN + " extra"}, tmp_path)
    assert bot.returncode == 2 and "DISCORD_TOKEN does not look like a bot token" in bot.stderr
    for done in (answered, bot):  # (at DEBUG a failed command's trace is logged, by design)
        assert_no_secret(done.stdout, done.stderr)
