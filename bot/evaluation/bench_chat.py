"""`ragbot bench`'s `chat_ready_s`: seconds from starting `ragbot chat` until its prompt is printed.

The chat runs on a pseudo-terminal, not a pipe, so it starts as it does for a person at a terminal
(line editing, Rich's terminal output); the clock stops when "you> " arrives, and the chat is then
told `quit`. POSIX only (the `pty` module). Leaves out how long the first answer then takes (the
engine may still be loading in the background; `cold_ask_s` covers a whole cold answer).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

PROMPT = b"you> "


def _read(fd: int, deadline: float) -> bytes:
    """The next output from the terminal, b"" once the child has closed it; TimeoutError past `deadline`."""
    import select

    ready, _, _ = select.select([fd], [], [], max(deadline - time.perf_counter(), 0))
    if not ready:
        raise TimeoutError
    try:
        return os.read(fd, 4096)
    except OSError:  # EIO: every process holding the terminal has closed it
        return b""


def chat_ready_seconds(command: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout: float = 120.0) -> float:
    """Wall seconds from starting `command chat` on a new pseudo-terminal until it prints its prompt."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 x 100 characters
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [*command, "chat"], stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=dict(env), start_new_session=True
    )
    os.close(slave)
    seen = b""
    try:
        deadline = t0 + timeout
        while PROMPT not in seen:
            try:
                chunk = _read(master, deadline)
            except TimeoutError:
                raise RuntimeError(f"`ragbot chat` printed no prompt within {timeout:.0f} s") from None
            if not chunk:
                tail = seen.decode(errors="replace")[-2000:].strip()
                raise RuntimeError(f"`ragbot chat` ended before its prompt (exit code {proc.wait()}): {tail}")
            seen += chunk
        ready = time.perf_counter() - t0
        os.write(master, b"quit\n")
        try:
            while _read(master, deadline):  # drain, so the chat never blocks on a full terminal
                pass
        except TimeoutError:
            pass
        proc.wait(timeout=max(deadline - time.perf_counter(), 1))
        return ready
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
