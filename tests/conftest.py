"""Shared fixtures, and a guard: no test may open a connection outside loopback.

The guard wraps socket connect and name resolution for the whole session (threads included), so a
library that tries to reach the internet fails the test loudly instead of hanging or passing.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "seeds" / "000_7f696d753bde9fea.txt"

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"


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


def _guard_address(sock: socket.socket, address: object) -> None:
    if sock.family == getattr(socket, "AF_UNIX", None):
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _is_loopback(host):
        raise NetworkBlocked(f"test tried to connect outside loopback: {address!r}")


def _connect(self, address):
    _guard_address(self, address)
    return _real_connect(self, address)


def _connect_ex(self, address):
    _guard_address(self, address)
    return _real_connect_ex(self, address)


def _getaddrinfo(host, *args, **kwargs):
    if not _is_loopback(host if not isinstance(host, bytes) else host.decode()):
        raise NetworkBlocked(f"test tried to resolve {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    socket.socket.connect = _connect
    socket.socket.connect_ex = _connect_ex
    socket.getaddrinfo = _getaddrinfo


@pytest.fixture(scope="session")
def embedder():
    """The real bundled ONNX MiniLM, loaded once per session."""
    from retrieval.embed import OnnxEmbeddings

    return OnnxEmbeddings()


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
    from retrieval.ingest import ingest
    from retrieval.settings import Settings

    path = tmp_path_factory.mktemp("article-store") / "store"
    settings = Settings(_env_file=None, chroma_path=path, seeds_dir=ROOT / "seeds")
    from retrieval.index import Index

    index = Index.open(settings, create=True, embedder=embedder)
    ingest(settings, [ROOT / "seeds"], index=index)
    index.close()
    return path


@pytest.fixture(scope="session")
def engine(article_store, embedder):
    """A read-only Engine over the ingested article (shared: do not ingest through it)."""
    from retrieval.answer import Engine
    from retrieval.index import Index
    from retrieval.settings import Settings

    settings = Settings(_env_file=None, chroma_path=article_store, seeds_dir=ROOT / "seeds")
    return Engine(settings, Index.open(settings, embedder=embedder))


@pytest.fixture
def store_copy(article_store, tmp_path) -> Path:
    """A private copy of the ingested article store, safe to modify."""
    dest = tmp_path / "store"
    shutil.copytree(article_store, dest)
    return dest
