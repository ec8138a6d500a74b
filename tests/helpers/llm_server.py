"""A loopback OpenAI-compatible chat server with scripted replies, for testing the litellm path.

It answers `POST /v1/chat/completions` (and `/chat/completions`), plain JSON or SSE when the request
says `"stream": true`. What it does is chosen by the model name the client sends (with litellm,
`openai/<name>` sends `<name>`), or by a reply queued for that name with `server.enqueue(name, ...)`:

    grounded     answers from the prompt: the first sentence of source [1], cited [1] (default);
                 a condense prompt ("Last question: ...") gets that question back unchanged
    refuse       "The article doesn't say."
    invent       the grounded answer plus a sentence cited [9]
    uncited      the grounded answer without any marker
    flaky429     429 with `retry-after-ms: 50` on the first request, then grounded
    slow429      429 with `retry-after: 30` every time
    error500     500 every time
    hang         never answers (until the server stops)
    malformed    200 with a body that is not JSON
    cut          streams half of the grounded answer, then drops the connection

Every request is recorded in `server.requests` (model, parsed body, headers). Binds 127.0.0.1 only.
Run by hand: `python -m tests.helpers.llm_server --port 8765` (Ctrl-C stops it).
Does not check API keys, count tokens exactly, or implement anything but chat completions.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_SOURCE = re.compile(r'<source id="1"[^>]*>\s*(.*?)\s*</source>', re.S)
_FIRST_SENTENCE = re.compile(r"^(.+?[.!?][”\"’]?)(?:\s|$)", re.S)
_LAST_QUESTION = re.compile(r"^Last question:\s*(.+)$", re.M)


@dataclass
class Request:
    model: str
    body: dict
    headers: dict[str, str]


@dataclass
class Reply:
    """One scripted response: a text (`None` = grounded in the prompt), or an HTTP failure."""

    text: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    malformed: bool = False
    cut: bool = False


def grounded_text(body: dict) -> str:
    """The first sentence of source [1] in the last user message, cited [1]."""
    prompt = str(body.get("messages", [{}])[-1].get("content", ""))
    condense = _LAST_QUESTION.search(prompt)
    if condense:
        return condense.group(1).strip()
    found = _SOURCE.search(prompt)
    if not found:
        return "The article doesn't say."
    passage = " ".join(found.group(1).split())
    first = _FIRST_SENTENCE.match(passage)
    sentence = (first.group(1) if first else passage).rstrip()
    if sentence[-1] in ".!?":
        return f"{sentence[:-1]} [1]{sentence[-1]}"
    return f"{sentence} [1]."


def _by_name(name: str, count: int) -> Reply:
    if name == "refuse":
        return Reply("The article doesn't say.")
    if name == "invent":
        return Reply("\0invent")
    if name == "uncited":
        return Reply("\0uncited")
    if name == "flaky429":
        return Reply(status=429, headers={"retry-after-ms": "50"}) if count == 1 else Reply()
    if name == "slow429":
        return Reply(status=429, headers={"retry-after": "30"})
    if name == "error500":
        return Reply(status=500)
    if name == "hang":
        return Reply(hang=True)
    if name == "malformed":
        return Reply(malformed=True)
    if name == "cut":
        return Reply(cut=True)
    return Reply()


class LLMServer:
    """Start with `with LLMServer() as server:`; `server.base_url` is the api_base to use."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.requests: list[Request] = []
        self._queued: dict[str, deque[Reply]] = defaultdict(deque)
        self._counts: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.verbose = False  # log each request on stderr (when run by hand)
        self._httpd = ThreadingHTTPServer((host, port), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="llm-server", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def enqueue(self, model: str, *replies: Reply | str) -> None:
        """Replies for the next requests naming `model`; a str is a reply text."""
        with self._lock:
            self._queued[model].extend(Reply(r) if isinstance(r, str) else r for r in replies)

    def models(self) -> list[str]:
        """The model name of each request received, in order."""
        return [r.model for r in self.requests]

    def reset(self) -> None:
        """Forget requests, per-model counts and queued replies."""
        with self._lock:
            self.requests.clear()
            self._counts.clear()
            self._queued.clear()

    def next_reply(self, model: str, body: dict, headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(Request(model, body, headers))
            self._counts[model] += 1
            queue = self._queued.get(model)
            return queue.popleft() if queue else _by_name(model, self._counts[model])

    def start(self) -> LLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _reply_text(reply: Reply, body: dict) -> str:
    grounded = grounded_text(body)
    if reply.text is None:
        return grounded
    if reply.text == "\0invent":
        return f"{grounded} The talks were later moved to Vienna [9]."
    if reply.text == "\0uncited":
        return re.sub(r"\s*\[\d+\]", "", grounded)
    return reply.text


def _usage(body: dict, text: str) -> dict[str, int]:
    prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    completion = len(text.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _handler(server: LLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            if server.verbose:
                super().log_message(format, *args)

        def _send_json(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                return
            length = int(self.headers.get("content-length", 0))
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                self._send_json(400, {"error": {"message": "request body is not JSON", "type": "invalid_request"}})
                return
            model = str(body.get("model", ""))
            reply = server.next_reply(model, body, {k.lower(): v for k, v in self.headers.items()})
            if server.verbose:
                what = "hang" if reply.hang else "malformed" if reply.malformed else f"HTTP {reply.status}"
                if reply.status == 200 and not (reply.hang or reply.malformed):
                    what = ("cut stream: " if reply.cut else "stream: " if body.get("stream") else "") + repr(
                        _reply_text(reply, body)
                    )
                print(f"[llm_server] model={model} -> {what}", file=sys.stderr, flush=True)
            if reply.hang:
                server.stopping.wait(600)
                self.close_connection = True
                return
            if reply.status != 200:
                error = {"error": {"message": f"scripted status {reply.status}", "type": "server_error", "code": None}}
                self._send_json(reply.status, error, reply.headers)
                return
            if reply.malformed:
                data = b'{"id": "x", "choices": [ this is not json'
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            text = _reply_text(reply, body)
            if body.get("stream"):
                self._stream(model, body, text, cut=reply.cut)
            else:
                self._send_json(200, _completion(model, text, _usage(body, text)))

        def _stream(self, model: str, body: dict, text: str, *, cut: bool) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("connection", "close")
            self.end_headers()
            self.close_connection = True
            pieces = re.findall(r"\S+\s*", text)
            if cut:
                pieces = pieces[: max(1, len(pieces) // 2)]
            base = {
                "id": "chatcmpl-loopback",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
            }

            def event(payload: dict) -> None:
                self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
                self.wfile.flush()

            event(
                {
                    **base,
                    "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
                }
            )
            for piece in pieces:
                event({**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
            if cut:
                self.wfile.flush()
                return  # the connection closes without [DONE]
            event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            if (body.get("stream_options") or {}).get("include_usage"):
                event({**base, "choices": [], "usage": _usage(body, text)})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

    return Handler


def _completion(model: str, text: str, usage: dict[str, int]) -> dict:
    return {
        "id": "chatcmpl-loopback",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": usage,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    server = LLMServer(port=args.port)
    server.verbose = True
    server.start()
    print(
        f"listening on {server.base_url} (models: grounded, refuse, invent, uncited, flaky429, slow429, "
        "error500, hang, malformed, cut)",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
