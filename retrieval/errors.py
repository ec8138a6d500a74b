"""Typed errors of the core. Each message says what happened and what the user can do about it.

Front-ends turn these into a user message once (CLI: exit code; Discord: an ephemeral reply).
"""


class RagbotError(Exception):
    """Base of every error the core raises on purpose."""

    exit_code = 1


class InputError(RagbotError):
    """The question or a path given by the user is not acceptable."""

    exit_code = 2


class ConfigError(RagbotError):
    """A setting is missing or invalid."""

    exit_code = 2


class StoreError(RagbotError):
    """The vector store cannot be opened, read or written."""

    exit_code = 1


class StoreVersionError(StoreError):
    """The store is in a format this ragbot cannot read or migrate; the message names the command that rebuilds it."""

    def __init__(self, path: object, why: str, sources: list[str]) -> None:
        import shlex

        command = "ragbot ingest --rebuild " + (" ".join(shlex.quote(s) for s in sources) if sources else "PATH ...")
        super().__init__(
            f"the store's catalog {path} cannot be used: {why}. Rebuild it from your documents: run `{command}` "
            "in the store's root folder (the one holding .ragbot/)"
        )
        self.command = command


class EmbeddingError(RagbotError):
    """The embedding model is missing or cannot run."""

    exit_code = 1


class LLMError(RagbotError):
    """Every configured language model failed (the caller falls back to extractive answers)."""

    exit_code = 1
