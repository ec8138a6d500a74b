"""ragbot's front-ends: the command line (ingest, ask, chat, eval, bench, ...) and the Discord bot.

`bot.__version__` is read from the installed package's metadata on first use (importlib.metadata
costs ~40 ms to import, which a cold `ragbot ask` should not pay), so pyproject.toml holds the one
version literal.
"""

from __future__ import annotations


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import version

        return version("ragbot")
    raise AttributeError(f"module 'bot' has no attribute {name!r}")
