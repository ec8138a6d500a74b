"""Shared fixtures, hypothesis profiles, and the network guard (tests/helpers/network.py) installed.

The guard wraps socket connect, datagram sends and name resolution for the whole session (threads
included), so a library that tries to reach the internet fails the test loudly instead of hanging or
passing; a test during which an attempt was blocked fails even when a library swallowed the error.
It covers this process only (a subprocess a test starts is not guarded).

Hypothesis: the bounded "ci" profile is loaded unless HYPOTHESIS_PROFILE names another ("long").
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests.helpers import ROOT
from tests.helpers.network import install, take_blocked

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

# "ci": bounded, so the whole suite fuzzes a few thousand examples; "long": HYPOTHESIS_PROFILE=long
hypothesis_settings.register_profile(
    "ci", max_examples=100, deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.register_profile(
    "long", max_examples=5000, deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config: pytest.Config) -> None:
    install()


@pytest.fixture(autouse=True)
def _no_network_attempts():
    """Fail a test during which the guard blocked anything, even if a library caught the error."""
    take_blocked()
    yield
    attempts = take_blocked()
    assert not attempts, f"blocked network access outside loopback: {attempts}"


@pytest.fixture(scope="session")
def embedder():
    """The real bundled ONNX MiniLM, loaded once per session."""
    from retrieval.documents.embed import Embedder

    return Embedder()


@pytest.fixture
def clean(monkeypatch, tmp_path):
    """In an empty working folder (no developer .env in sight), with no RAGBOT_* variable set."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.upper().startswith("RAGBOT_"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture
def make_settings(tmp_path: Path):
    """Settings that ignore the developer's .env and keep every file under tmp_path."""
    from retrieval.settings import Settings

    def make(**overrides):
        base = {
            "chroma_path": tmp_path / "store",
            "seeds_dir": ROOT / "seeds",
        }
        base.update(overrides)
        return Settings.of(**base)

    return make


@pytest.fixture
def make_discord_settings(tmp_path: Path):
    """The Discord bot's settings, ignoring the developer's .env, with its store under tmp_path."""
    from bot.discord_bot import DiscordSettings

    def make(**overrides):
        return DiscordSettings.of(**{"db_path": tmp_path / "discord.sqlite3", **overrides})

    return make


@pytest.fixture
async def make_bot(make_settings, make_discord_settings):
    """`make(engine, **discord_overrides)`: an offline RagBot (tests/helpers/discord_fakes.py) with every cog
    loaded and no cooldown unless overridden; its answers file is closed after the test."""
    from tests.helpers.discord_fakes import offline_bot

    bots = []

    async def make(engine, **overrides):
        bot = await offline_bot(make_settings(), make_discord_settings(**{"cooldown_s": 0, **overrides}), engine)
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        bot.store.close()


@pytest.fixture(scope="session")
def article_store(tmp_path_factory, embedder) -> Path:
    """A store with the article ingested once per session; copy it before writing to it."""
    from retrieval.documents.ingest import ingest
    from retrieval.settings import Settings

    path = tmp_path_factory.mktemp("article-store") / "store"
    settings = Settings.of(chroma_path=path, seeds_dir=ROOT / "seeds")
    from retrieval.storage.index import Index

    index = Index.open(settings, create=True, embedder=embedder)
    ingest(settings, [ROOT / "seeds"], index=index)
    index.close()
    return path


@pytest.fixture(scope="session")
def engine(article_store, embedder):
    """A read-only Engine over the ingested article (shared: do not ingest through it)."""
    from retrieval.engine import Engine
    from retrieval.settings import Settings
    from retrieval.storage.index import Index

    settings = Settings.of(chroma_path=article_store, seeds_dir=ROOT / "seeds")
    return Engine(settings, Index.open(settings, embedder=embedder))


@pytest.fixture
def store_copy(article_store, tmp_path) -> Path:
    """A private copy of the ingested article store, safe to modify."""
    dest = tmp_path / "store"
    shutil.copytree(article_store, dest)
    return dest


@pytest.fixture(scope="module")
def server():
    """The scripted OpenAI-compatible server (tests/helpers/llm_server.py) on a loopback port."""
    from tests.helpers.llm_server import LLMServer

    with LLMServer() as running:
        yield running


@pytest.fixture
def loopback(server, monkeypatch):
    """The loopback LLM server with its request log cleared and retry backoff cut to 10 ms."""
    from retrieval.generation import llm as llm_module

    server.reset()
    monkeypatch.setattr(llm_module, "BACKOFF_S", 0.01)
    return server


@pytest.fixture
def run_cli(store_copy, tmp_path, monkeypatch):
    """Invoke the CLI in-process, in an empty folder, against a private copy of the ingested article."""
    from click.testing import CliRunner

    from bot.cli import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAGBOT_CHROMA_PATH", str(store_copy))
    monkeypatch.setenv("RAGBOT_SEEDS_DIR", str(ROOT / "seeds"))

    def invoke(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke
