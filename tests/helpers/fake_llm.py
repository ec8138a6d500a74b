"""A scripted language model at our own seam (retrieval.llm.ChatModel), for the answer logic tests.

`enqueue(...)` queues replies: a str (streamed word by word), a list of str (the exact stream
pieces), a function of the messages returning a str (to cite sources by number), an LLMError
(the call fails, as when every model failed), or `Broken(pieces)` (the stream sends those pieces,
then restarts with the next queued reply, as a retried attempt would). `history` records every
call: (method, messages, deadline). A call with nothing queued fails the test.
Does not imitate retries or timing: those live in llm.py and its loopback tests.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from retrieval.errors import LLMError
from retrieval.generation.llm import Completion, Delta, Message


@dataclass(frozen=True)
class Broken:
    """A stream that breaks off after `pieces` (the next queued reply is the retry)."""

    pieces: list[str]


Reply = str | list[str] | LLMError | Broken | Callable[[list[Message]], str]


def source_number(messages: Sequence[Message], needle: str) -> int:
    """The number the prompt gives the source whose text contains `needle` (0 when none does)."""
    for m in re.finditer(r'<source id="(\d+)"[^>]*>\n(.*?)\n</source>', messages[-1]["content"], re.S):
        if needle in m.group(2):
            return int(m.group(1))
    return 0


class FakeLLM:
    def __init__(self, name: str = "fake/model", usage: dict[str, int] | None = None) -> None:
        self.name = name
        self.usage = usage if usage is not None else {"prompt_tokens": 11, "completion_tokens": 7}
        self._queue: deque[Reply] = deque()
        self.history: list[tuple[str, list[Message], float | None]] = []

    def enqueue(self, *replies: Reply) -> FakeLLM:
        self._queue.extend(replies)
        return self

    @property
    def pending(self) -> int:
        return len(self._queue)

    def prompts(self, method: str | None = None) -> list[str]:
        """The last user message of each call (optionally of one method)."""
        return [msgs[-1]["content"] for m, msgs, _ in self.history if method in (None, m)]

    def _next(self, messages: list[Message]) -> Reply:
        if not self._queue:
            raise AssertionError("FakeLLM was called with no reply queued")
        reply = self._queue.popleft()
        return reply(messages) if callable(reply) else reply

    def complete(self, messages: Sequence[Message], *, deadline: float | None = None) -> Completion:
        self.history.append(("complete", list(messages), deadline))
        reply = self._next(list(messages))
        if isinstance(reply, LLMError):
            raise reply
        if isinstance(reply, Broken):
            raise AssertionError("Broken replies are for stream()")
        text = reply if isinstance(reply, str) else "".join(reply)
        return Completion(text, self.usage, self.name)

    def stream(self, messages: Sequence[Message], *, deadline: float | None = None) -> Iterator[Delta | Completion]:
        self.history.append(("stream", list(messages), deadline))
        restart = False
        reply = self._next(list(messages))
        while isinstance(reply, Broken):
            for i, piece in enumerate(reply.pieces):
                yield Delta(piece, restart=restart and i == 0)
            restart = True
            reply = self._next(list(messages))
        if isinstance(reply, LLMError):
            raise reply
        pieces = re.findall(r"\S+\s*", reply) if isinstance(reply, str) else list(reply)
        for i, piece in enumerate(pieces):
            yield Delta(piece, restart=restart and i == 0)
        yield Completion("".join(pieces), self.usage, self.name)
