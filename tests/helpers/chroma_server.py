"""A real `chroma run` on a free loopback port, and a gate in front of it that asks for a token (and TLS).

`chroma run` (chromadb 1.5) reads a YAML config but has no authentication of its own: auth keys in
its config are ignored and every request is served. A hosted or distributed Chroma checks a token
(`Authorization: Bearer <token>` or `X-Chroma-Token`) in front of the same HTTP API, which is what
`TokenGate` does here: it refuses a request without the token with 401, as Chroma's token
authentication does, optionally over TLS with a test CA (trustme), and forwards the rest to the
real server unchanged. So the client side of token auth and TLS is tested end to end against a
real Chroma; the server side of either is Chroma's or the proxy's, not ragbot's.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

STARTUP_S = 60


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chroma_cli() -> str:
    beside = Path(sys.executable).parent / "chroma"
    found = str(beside) if beside.exists() else shutil.which("chroma")
    assert found, "the `chroma` console script (from the chromadb package) is not installed"
    return found


class ChromaRun:
    """`chroma run --path DIR` on a free loopback port; `stop()` ends it by its PID."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.logfile = open(base / "server.log", "wb")  # noqa: SIM115 - closed by stop()
        self.proc = subprocess.Popen(
            [chroma_cli(), "run", "--path", str(base / "data"), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self.logfile,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + STARTUP_S
        while True:
            assert self.proc.poll() is None, (base / "server.log").read_text(errors="replace")[-2000:]
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"chroma run did not listen on port {self.port} in {STARTUP_S} s"
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        self.logfile.close()


class TokenGate:
    """A loopback reverse proxy to `upstream` that serves only requests carrying `token`.

    `header` "Authorization" expects `Bearer <token>`; "X-Chroma-Token" the token itself. With
    `tls_context`, it speaks HTTPS. `refused` counts the requests it turned away, `served` the rest.
    """

    def __init__(self, upstream: int, token: str, header: str = "Authorization", tls_context: Any = None) -> None:
        gate = self
        self.refused = self.served = 0
        expected = f"Bearer {token}" if header == "Authorization" else token

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get(header) != expected:
                    gate.refused += 1
                    reply = b'{"error":"AuthError","message":"Unauthorized"}'
                    self.send_response(401)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                    return
                gate.served += 1
                conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "connection"}}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                got = conn.getresponse()
                data = got.read()
                self.send_response(got.status)
                for k, v in got.getheaders():
                    if k.lower() not in {"transfer-encoding", "connection", "content-length"}:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls_context is not None:
            self.server.socket = tls_context.wrap_socket(self.server.socket, server_side=True)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, name="token-gate", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def tls_context_and_ca(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 signed by a fresh test CA, and the CA's PEM file."""
    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    pem = folder / "test-ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    return context, pem
