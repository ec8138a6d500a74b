"""The test suite's network guard (tests/conftest.py): loopback works, everything else fails loudly.

Addresses are from TEST-NET-1 (192.0.2.0/24, RFC 5737), reserved for documentation: never routed.
If the guard were missing, these calls would time out or fail with an OSError, not NetworkBlocked.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from tests.helpers import network as conftest
from tests.helpers.network import NetworkBlocked

OUTSIDE = ("192.0.2.1", 80)


@pytest.fixture
def guard():
    """The guard's record of blocked attempts, emptied afterwards (these tests block on purpose)."""
    yield conftest.blocked
    conftest.take_blocked()


def test_the_guard_is_installed_for_the_session():
    assert socket.socket.connect is conftest._connect
    assert socket.socket.connect_ex is conftest._connect_ex
    assert socket.socket.sendto is conftest._sendto
    assert socket.getaddrinfo is conftest._getaddrinfo
    assert socket.gethostbyname is conftest._gethostbyname


def test_a_tcp_connection_outside_loopback_fails(guard):
    with pytest.raises(NetworkBlocked, match="resolve '192.0.2.1'"):
        socket.create_connection(OUTSIDE, timeout=2)  # stopped at its address lookup
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s, pytest.raises(NetworkBlocked, match="outside"):
        s.settimeout(2)
        s.connect(OUTSIDE)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s, pytest.raises(NetworkBlocked):
        s.settimeout(2)
        s.connect_ex(OUTSIDE)
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s, pytest.raises(NetworkBlocked):
        s.connect(("2001:db8::1", 443, 0, 0))  # IPv6 documentation prefix
    assert len(guard) == 4


def test_name_resolution_and_datagrams_outside_loopback_fail(guard):
    with pytest.raises(NetworkBlocked, match="resolve"):
        socket.getaddrinfo("example.com", 443)
    with pytest.raises(NetworkBlocked):
        socket.gethostbyname("discord.com")
    with pytest.raises(NetworkBlocked):
        socket.gethostbyname_ex("api.openai.com")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, pytest.raises(NetworkBlocked):
        s.sendto(b"\x00" * 12, ("192.0.2.53", 53))  # a DNS query by hand
    assert len(guard) == 4


def test_http_clients_and_asyncio_are_blocked_too(guard):
    import httpx

    with pytest.raises(NetworkBlocked):
        httpx.get("http://192.0.2.1/", timeout=2)

    async def open_outside() -> None:
        await asyncio.wait_for(asyncio.open_connection(*OUTSIDE), timeout=2)

    with pytest.raises(NetworkBlocked):
        asyncio.run(open_outside())
    assert len(guard) == 2


def test_threads_are_guarded(guard):
    errors: list[BaseException] = []

    def reach_out() -> None:
        try:
            socket.create_connection(OUTSIDE, timeout=2)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion below
            errors.append(exc)

    worker = threading.Thread(target=reach_out)
    worker.start()
    worker.join()
    assert len(errors) == 1 and isinstance(errors[0], NetworkBlocked)


def test_a_swallowed_attempt_is_still_recorded_for_the_check_after_the_test(guard):
    """The autouse check reads this record, so a library that catches NetworkBlocked cannot hide it."""
    try:
        socket.create_connection(OUTSIDE, timeout=2)
    except Exception:  # noqa: BLE001 - what a careless library would do
        pass
    assert conftest.take_blocked() == ["test tried to resolve '192.0.2.1'"]
    assert conftest.take_blocked() == []


def test_loopback_connections_work():
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            conn, _ = server.accept()
            with conn:
                client.sendall(b"ping")
                assert conn.recv(4) == b"ping"
        with socket.create_connection(("localhost", port), timeout=5):
            server.accept()[0].close()
    assert socket.getaddrinfo("localhost", 80)
