"""Shared fixtures, hypothesis profiles, and a guard: no test may open a connection outside loopback.

The guard wraps socket connect, datagram sends and name resolution for the whole session (threads
included), so a library that tries to reach the internet fails the test loudly instead of hanging or
passing; a test during which an attempt was blocked fails even when a library swallowed the error.
It covers this process only (a subprocess a test starts is not guarded).

Hypothesis: the bounded "ci" profile is loaded unless HYPOTHESIS_PROFILE names another ("long").
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "seeds" / "000_7f696d753bde9fea.txt"

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


class NetworkBlocked(RuntimeError):
    pass


def _is_loopback(host: object) -> bool:
    if host is None:
        return True
    host = str(host)
    if host in {"localhost", "localhost.localdomain", "", "ip6-localhost"}:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


_real_sendto = socket.socket.sendto
_real_sendmsg = getattr(socket.socket, "sendmsg", None)  # not on Windows
_real_gethostbyname = socket.gethostbyname
_real_gethostbyname_ex = socket.gethostbyname_ex
blocked: list[str] = []  # every attempt the guard stopped, for the check after each test


def _block(what: str) -> None:
    blocked.append(what)
    raise NetworkBlocked(what)


def _guard_address(sock: socket.socket, address: object) -> None:
    if sock.family == getattr(socket, "AF_UNIX", None):
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _is_loopback(host):
        _block(f"test tried to connect outside loopback: {address!r}")


def _connect(self, address):
    _guard_address(self, address)
    return _real_connect(self, address)


def _connect_ex(self, address):
    _guard_address(self, address)
    return _real_connect_ex(self, address)


def _sendto(self, data, *args):
    _guard_address(self, args[-1])  # sendto(data, address) or sendto(data, flags, address)
    return _real_sendto(self, data, *args)


def _sendmsg(self, buffers, ancdata=(), flags=0, address=None):
    if address is not None:
        _guard_address(self, address)
        return _real_sendmsg(self, buffers, ancdata, flags, address)
    return _real_sendmsg(self, buffers, ancdata, flags)


def _guard_name(host) -> None:
    if not _is_loopback(host if not isinstance(host, bytes) else host.decode()):
        _block(f"test tried to resolve {host!r}")


def _getaddrinfo(host, *args, **kwargs):
    _guard_name(host)
    return _real_getaddrinfo(host, *args, **kwargs)


def _gethostbyname(host):
    _guard_name(host)
    return _real_gethostbyname(host)


def _gethostbyname_ex(host):
    _guard_name(host)
    return _real_gethostbyname_ex(host)


def pytest_configure(config: pytest.Config) -> None:
    socket.socket.connect = _connect
    socket.socket.connect_ex = _connect_ex
    socket.socket.sendto = _sendto
    if _real_sendmsg is not None:
        socket.socket.sendmsg = _sendmsg
    socket.getaddrinfo = _getaddrinfo
    socket.gethostbyname = _gethostbyname
    socket.gethostbyname_ex = _gethostbyname_ex


def take_blocked() -> list[str]:
    """The attempts blocked since the last call, forgotten as they are returned."""
    attempts, blocked[:] = list(blocked), []
    return attempts


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
def make_settings(tmp_path: Path):
    """Settings that ignore the developer's .env and keep every file under tmp_path."""
    from retrieval.settings import Settings

    def make(**overrides):
        base = {
            "chroma_path": tmp_path / "store",
            "seeds_dir": ROOT / "seeds",
            "discord_db_path": tmp_path / "discord.sqlite3",
        }
        base.update(overrides)
        return Settings(_env_file=None, **base)

    return make


@pytest.fixture(scope="session")
def article_store(tmp_path_factory, embedder) -> Path:
    """A store with the article ingested once per session; copy it before writing to it."""
    from retrieval.documents.ingest import ingest
    from retrieval.settings import Settings

    path = tmp_path_factory.mktemp("article-store") / "store"
    settings = Settings(_env_file=None, chroma_path=path, seeds_dir=ROOT / "seeds")
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

    settings = Settings(_env_file=None, chroma_path=article_store, seeds_dir=ROOT / "seeds")
    return Engine(settings, Index.open(settings, embedder=embedder))


@pytest.fixture
def store_copy(article_store, tmp_path) -> Path:
    """A private copy of the ingested article store, safe to modify."""
    dest = tmp_path / "store"
    shutil.copytree(article_store, dest)
    return dest


@pytest.fixture(scope="module")
def server():
    """The scripted OpenAI-compatible server (tests/llm_server.py) on a loopback port."""
    from tests.llm_server import LLMServer

    with LLMServer() as running:
        yield running


@pytest.fixture
def loopback(server, monkeypatch):
    """The loopback LLM server with its request log cleared and retry backoff cut to 10 ms."""
    from retrieval.generation import llm as llm_module

    server.reset()
    monkeypatch.setattr(llm_module, "BACKOFF_S", 0.01)
    return server
