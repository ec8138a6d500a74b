"""ragbot's settings: one pydantic-settings object, built once at an entry point and passed down.

Read from the environment and from `.env` in the root folder (retrieval/root.py: the nearest folder
holding `.ragbot/`, else the working directory); the store and seeds paths not set explicitly resolve
against that root. Keys without the `RAGBOT_` prefix are ignored here (provider keys such as
`OPENAI_API_KEY` are left for litellm to read from the environment); `RAGBOT_*` names that no settings
model reads are reported by `warn_unknown_settings`, for the entry point to call once its logging is
set up. Nothing reads the environment at import time.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from retrieval.errors import ConfigError
from retrieval.root import root_folder

log = logging.getLogger(__name__)

BUNDLED_EMBEDDING_MODEL = "all-MiniLM-L6-v2-int8"
S = TypeVar("S", bound=BaseSettings)
_COLLECTION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAGBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # answering
    llm_model: str = Field("", description="litellm model string; empty = offline extractive answers")
    llm_api_base: str | None = Field(None, description="base URL of an OpenAI-compatible server")
    llm_api_key: SecretStr | None = Field(None, description="API key for llm_api_base (else provider env keys)")
    llm_timeout: float = Field(60.0, gt=0, le=600, description="seconds for a whole LLM answer, retries included")
    llm_fallbacks: str = Field("", description="comma-separated litellm model strings tried in order")
    history_turns: int = Field(6, ge=0, le=50, description="earlier turns kept for follow-ups")
    top_k: int = Field(5, ge=1, le=50, description="passages retrieved per question")
    refusal_threshold: float | None = Field(
        None, ge=0, le=1, description="judge probability below which the answer is a refusal; unset = calibrated"
    )
    confident_threshold: float | None = Field(
        None, ge=0, le=1, description="LLM mode: judge probability from which a model's refusal is overridden"
    )

    # storage
    embedding_model: str = Field(
        BUNDLED_EMBEDDING_MODEL, description="bundled MiniLM or a folder with model.onnx + tokenizer.json"
    )
    chroma_path: Path = Field(Path(".ragbot/chroma"), description="local Chroma folder")
    chroma_host: str | None = Field(None, description="Chroma server host; set = use the server")
    chroma_port: int = Field(8000, ge=1, le=65535)
    chroma_tenant: str = Field("default_tenant", min_length=1, description="the server's tenant")
    chroma_database: str = Field("default_database", min_length=1, description="the server's database")
    chroma_auth_token: SecretStr | None = Field(None, description="token sent to the server (a secret: never shown)")
    chroma_auth_header: Literal["Authorization", "X-Chroma-Token"] = Field(
        "Authorization", description="how the token is sent: `Authorization: Bearer <token>` or `X-Chroma-Token`"
    )
    chroma_ssl: bool = Field(False, description="reach the server over HTTPS")
    chroma_ssl_verify: bool = Field(True, description="check the server's certificate (HTTPS)")
    chroma_ca_file: Path | None = Field(None, description="CA bundle that signed the server's certificate (HTTPS)")
    chroma_log_keep_s: float = Field(
        3600.0, ge=0, description="seconds a superseded change-log entry is kept on the server before compaction"
    )
    collection: str = Field("ragbot")
    seeds_dir: Path = Field(Path("seeds"), description="what `ingest` reads when given no path")

    fetch_timeout: float = Field(15.0, gt=0, le=300, description="seconds to connect to, and between bytes of, a URL")
    fetch_max_bytes: int = Field(10_000_000, ge=1000, description="largest web page `ingest URL` reads, in bytes")
    log_level: str = Field("WARNING")

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, v: str) -> str:
        if not _COLLECTION_RE.match(v) or ".." in v:
            raise ValueError(
                "must be 3-512 characters of letters, digits, '.', '_' or '-', starting and ending "
                "with a letter or digit"
            )
        return v

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, v: str) -> str:
        v = v.upper()
        if v not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return v

    @field_validator("llm_model", "llm_fallbacks")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.strip()

    @property
    def fallback_models(self) -> list[str]:
        return [m.strip() for m in self.llm_fallbacks.split(",") if m.strip()]


def env_name(model: type[BaseSettings], name: str) -> str:
    """The environment variable that sets field `name` of a settings model."""
    field = model.model_fields.get(name)
    if field is not None and field.validation_alias:
        return str(field.validation_alias)
    prefix = str(model.model_config.get("env_prefix", ""))
    return name if name.isupper() else f"{prefix}{name.upper()}"


def build_settings(model: type[S], **overrides: Any) -> S:
    """Build a settings model from the environment and `.env`; a bad value raises ConfigError naming it."""
    try:
        return model(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{env_name(model, str(e['loc'][0]) if e['loc'] else '?')}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid setting: {problems}") from None


def with_root_defaults(settings: S, root: Path, names: Iterable[str]) -> S:
    """`settings` with the path fields among `names` that were not set and are relative resolved against `root`."""
    update = {}
    for name in names:
        value = getattr(settings, name)
        if name not in settings.model_fields_set and isinstance(value, Path) and not value.is_absolute():
            update[name] = root / value
    return settings.model_copy(update=update)


def load_settings(*, root: Path | None = None, **overrides: Any) -> Settings:
    """Build the core's Settings from the environment and `root`/.env (ConfigError naming a bad value).

    `root` defaults to the root folder found from the working directory; the store and seeds folders
    resolve against it unless set (in the environment, `.env` or `overrides`), which are used as given."""
    root = root or root_folder()
    overrides.setdefault("_env_file", root / ".env")
    return with_root_defaults(build_settings(Settings, **overrides), root, ("chroma_path", "seeds_dir"))


def unknown_settings(
    env_file: Path | None, models: Iterable[type[BaseSettings]] = ()
) -> list[tuple[str, str, str | None]]:
    """`RAGBOT_*` names set in the environment or in `env_file` that neither Settings nor `models` read:
    (name, where it is set, the closest real name or None), each name once."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    every: list[type[BaseSettings]] = [Settings, *models]
    known = {env_name(m, f).upper() for m in every for f in m.model_fields}
    stems = {name[len(prefix) :]: name for name in known if name.startswith(prefix)}
    seen: list[tuple[str, str]] = []
    if env_file is not None and env_file.is_file():  # first: the CLI also copies .env into the environment
        from dotenv import dotenv_values

        seen += [(name, str(env_file)) for name in dotenv_values(env_file)]
    seen += [(name, "the environment") for name in os.environ]
    found: list[tuple[str, str, str | None]] = []
    for name, where in seen:
        upper = name.upper()
        if not upper.startswith(prefix) or upper in known or any(upper == f[0].upper() for f in found):
            continue
        close = difflib.get_close_matches(upper[len(prefix) :], list(stems), n=1, cutoff=0.6)
        found.append((name, where, stems[close[0]] if close else None))
    return found


def warn_unknown_settings(env_file: Path | None, models: Iterable[type[BaseSettings]] = ()) -> list[str]:
    """Log one warning per `RAGBOT_*` name that is not a setting (a misspelling is otherwise silently
    ignored), naming the closest real one; return the names."""
    found = unknown_settings(env_file, models)
    for name, where, close in found:
        hint = f"did you mean {close}?" if close else "the settings are listed in docs/settings.md"
        log.warning("%s (set in %s) is not a ragbot setting and is ignored: %s", name, where, hint)
    return [name for name, _, _ in found]
