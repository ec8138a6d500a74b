"""The network guard: no test may open a connection or resolve a name outside loopback.

`install()` (called once by conftest.py) wraps socket connect, datagram sends and name resolution;
each blocked attempt raises NetworkBlocked and is recorded for `take_blocked()`.
"""

from __future__ import annotations

import ipaddress
import socket


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


def install() -> None:
    """Wrap socket connect, datagram sends and name resolution for the whole process."""
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


