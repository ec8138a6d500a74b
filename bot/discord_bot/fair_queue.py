"""The fair queue in front of the engine: one question in flight per user, at most `slots` answered at once,
the rest waiting in the order they came and told their place whenever it changes.

Pure asyncio, no Discord: `claim(user)`/`release(user)` keep the one-per-user rule; `async with
queue.turn(status)` waits for a slot, awaiting `status(questions ahead)` when the question has to wait
and again each time it moves up (in the waiter's own task, so its updates arrive in order; moves that
come while one is shown are folded into the next). A waiter cancelled or failing gives up its place,
or passes on the slot it was just handed. Leaves out what a status says and where (app.py, replies.py).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

Status = Callable[[int], Awaitable[None]]


@dataclass(eq=False)
class _Waiter:
    granted: asyncio.Future[None]
    moved: asyncio.Event = field(default_factory=asyncio.Event)


class FairQueue:
    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.running = 0
        self.waiting: deque[_Waiter] = deque()
        self.asking: set[int] = set()  # users with a question in flight

    # -- one question in flight per user ------------------------------------------------------
    def claim(self, user_id: int) -> bool:
        """Mark the user's question in flight; False when one already is."""
        if user_id in self.asking:
            return False
        self.asking.add(user_id)
        return True

    def release(self, user_id: int) -> None:
        self.asking.discard(user_id)

    # -- slots ----------------------------------------------------------------------------------
    @asynccontextmanager
    async def turn(self, status: Status | None = None) -> AsyncIterator[None]:
        """Hold one of the slots for the body; wait in order for it when all are taken."""
        await self._enter(status)
        try:
            yield
        finally:
            self._leave()

    async def _enter(self, status: Status | None) -> None:
        if self.running < self.slots and not self.waiting:
            self.running += 1
            return
        waiter = _Waiter(asyncio.get_running_loop().create_future())
        self.waiting.append(waiter)
        waiter.moved.set()  # its first place
        try:
            while not waiter.granted.done():
                if waiter.moved.is_set():
                    waiter.moved.clear()
                    if status is not None and waiter in self.waiting:
                        await status(self.waiting.index(waiter))
                    continue
                moved: asyncio.Future[object] = asyncio.ensure_future(waiter.moved.wait())
                pending: set[asyncio.Future[object]] = {waiter.granted, moved}  # type: ignore[arg-type]
                try:
                    await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    moved.cancel()
        except BaseException:
            if waiter.granted.done() and not waiter.granted.cancelled():
                self._leave()  # handed a slot on the way out: pass it on
            else:
                waiter.granted.cancel()
                self.waiting.remove(waiter)
                self._moved()
            raise

    def _leave(self) -> None:
        """A slot is free: hand it to the first waiter (the others move up), else count it free."""
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.granted.done():
                waiter.granted.set_result(None)  # the slot passes on; `running` stays
                self._moved()
                return
        self.running -= 1

    def _moved(self) -> None:
        for waiter in self.waiting:
            waiter.moved.set()
