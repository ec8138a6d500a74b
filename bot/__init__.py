"""ragbot's front-ends: the command line (ingest, ask, chat, ...) and the Discord bot."""

__version__ = "0.1.0"
