"""ragbot's settings: one frozen msgspec Struct, built once at an entry point and passed down.

Read from the environment and from `.env` in the root folder (retrieval/root.py: the nearest folder
holding `.ragbot/`, else the working directory); the environment wins, names are not case-sensitive,
and the store and seeds paths not set explicitly resolve against that root. Values are converted and
checked by msgspec (a few milliseconds to import, where a pydantic-settings model cost a cold command
about 150 ms); a bad one raises ConfigError naming its variable. An empty value of a setting that may
be unset (`RAGBOT_CHROMA_HOST=`) means unset. Keys without the `RAGBOT_` prefix are ignored here
(provider keys such as `OPENAI_API_KEY` are left for litellm to read from the environment);
`RAGBOT_*` names that no settings model reads are reported by `warn_unknown_settings`, for the entry
point to call once its logging is set up. Nothing reads the environment at import time.
`EnvSettings` is the base of the core's `Settings` and of the Discord bot's own model.
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
import re
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import msgspec
from msgspec import Meta

from retrieval.errors import ConfigError
from retrieval.root import root_folder

log = logging.getLogger(__name__)

BUNDLED_EMBEDDING_MODEL = "all-MiniLM-L6-v2-int8"
S = TypeVar("S", bound="EnvSettings")
_COLLECTION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")
# booleans as pydantic-settings read them, beside msgspec's true/false/1/0
_BOOLEAN_WORDS = dict.fromkeys(("yes", "y", "on", "t"), "true") | dict.fromkeys(("no", "n", "off", "f"), "false")


class Secret:
    """A secret (an API key, a token): `**********` in every repr, str and message; the value only
    through `get_secret_value()`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class EnvSettings(msgspec.Struct, frozen=True, kw_only=True):
    """A settings model read from `<ENV_PREFIX><FIELD>` variables (or the names in `ENV_ALIASES`);
    the path fields in `ROOT_PATHS` that are not set resolve against the root folder."""

    ENV_PREFIX: ClassVar[str] = "RAGBOT_"
    ENV_ALIASES: ClassVar[Mapping[str, str]] = {}
    ROOT_PATHS: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def of(cls: type[S], **values: Any) -> S:
        """The settings `values` give, checked and converted as the environment's are (no environment
        read); ConfigError naming a bad one."""
        return build_settings(cls, values)

    def replace(self: S, **changes: Any) -> S:
        """A copy with `changes` (values of the fields' own types; not checked again)."""
        return msgspec.structs.replace(self, **changes)

    def problem(self) -> tuple[str, str] | None:
        """(field, what is wrong) for a value the field types cannot express; None when there is none."""
        return None


class Settings(EnvSettings, frozen=True, kw_only=True):
    ROOT_PATHS: ClassVar[tuple[str, ...]] = ("chroma_path", "seeds_dir")

    # answering
    llm_model: str = ""  # litellm model string; empty = offline extractive answers
    llm_api_base: str | None = None  # base URL of an OpenAI-compatible server
    llm_api_key: Secret | None = None  # API key for llm_api_base (else provider env keys)
    llm_timeout: Annotated[float, Meta(gt=0, le=600)] = 60.0  # seconds for a whole LLM answer, retries included
    llm_fallbacks: str = ""  # comma-separated litellm model strings tried in order
    history_turns: Annotated[int, Meta(ge=0, le=50)] = 6  # earlier turns kept for follow-ups
    top_k: Annotated[int, Meta(ge=1, le=50)] = 5  # passages retrieved per question
    # judge probability below which the answer is a refusal; unset = the judge file's calibrated value
    refusal_threshold: Annotated[float, Meta(ge=0, le=1)] | None = None
    # LLM mode: judge probability from which a model's refusal is overridden
    confident_threshold: Annotated[float, Meta(ge=0, le=1)] | None = None

    # storage
    embedding_model: str = BUNDLED_EMBEDDING_MODEL  # bundled MiniLM or a folder with model.onnx + tokenizer.json
    chroma_path: Path = Path(".ragbot/chroma")  # local Chroma folder
    chroma_host: str | None = None  # Chroma server host; set = use the server
    chroma_port: Annotated[int, Meta(ge=1, le=65535)] = 8000
    chroma_tenant: Annotated[str, Meta(min_length=1)] = "default_tenant"  # the server's tenant
    chroma_database: Annotated[str, Meta(min_length=1)] = "default_database"  # the server's database
    chroma_auth_token: Secret | None = None  # token sent to the server (a secret: never shown)
    # how the token is sent: `Authorization: Bearer <token>` or `X-Chroma-Token`
    chroma_auth_header: Literal["Authorization", "X-Chroma-Token"] = "Authorization"
    chroma_ssl: bool = False  # reach the server over HTTPS
    chroma_ssl_verify: bool = True  # check the server's certificate (HTTPS)
    chroma_ca_file: Path | None = None  # CA bundle that signed the server's certificate (HTTPS)
    # seconds a superseded change-log entry is kept on the server before compaction
    chroma_log_keep_s: Annotated[float, Meta(ge=0)] = 3600.0
    collection: str = "ragbot"
    seeds_dir: Path = Path("seeds")  # what `ingest` reads when given no path

    fetch_timeout: Annotated[float, Meta(gt=0, le=300)] = 15.0  # seconds to connect to, and between bytes of, a URL
    fetch_max_bytes: Annotated[int, Meta(ge=1000)] = 10_000_000  # largest web page `ingest URL` reads, in bytes
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "WARNING"

    def problem(self) -> tuple[str, str] | None:
        if not _COLLECTION_RE.match(self.collection) or ".." in self.collection:
            return "collection", (
                "must be 3-512 characters of letters, digits, '.', '_' or '-', starting and ending "
                "with a letter or digit"
            )
        return None

    @property
    def fallback_models(self) -> list[str]:
        return [m.strip() for m in self.llm_fallbacks.split(",") if m.strip()]


# -- building ---------------------------------------------------------------------------------
def field_names(model: type[EnvSettings]) -> tuple[str, ...]:
    return model.__struct_fields__


def env_name(model: type[EnvSettings], name: str) -> str:
    """The environment variable that sets field `name` of a settings model."""
    return model.ENV_ALIASES.get(name) or f"{model.ENV_PREFIX}{name.upper()}"


@functools.cache
def _hints(model: type[EnvSettings]) -> dict[str, Any]:
    return typing.get_type_hints(model, include_extras=True)


def _optional(model: type[EnvSettings], name: str) -> bool:
    """Whether field `name` may be unset (None)."""
    hint = _hints(model)[name]
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint)


def read_environment(model: type[EnvSettings], env_file: Path | None) -> dict[str, str]:
    """The values of `model`'s fields set in `env_file` or the environment (which wins), by field name."""
    names = {env_name(model, f).upper(): f for f in field_names(model)}
    sources: list[Mapping[str, str | None]] = []
    if env_file is not None and env_file.is_file():
        from dotenv import dotenv_values

        sources.append(dotenv_values(env_file, encoding="utf-8"))
    sources.append(os.environ)
    found: dict[str, str] = {}
    for source in sources:
        for key, value in source.items():
            name = names.get(key.upper())
            if name is not None and value is not None:
                found[name] = value
    return found


def _decode(kind: type, value: Any) -> Any:
    if isinstance(value, kind):
        return value
    if kind is Path and isinstance(value, str):
        return Path(value)
    if kind is Secret and isinstance(value, str):
        return Secret(value)
    raise NotImplementedError


def _prepared(model: type[EnvSettings], values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` as msgspec converts them: text without surrounding spaces, an empty value of a setting
    that may be unset unset, a choice in any case (`debug` for `DEBUG`), yes/no/on/off as booleans."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, str) and name in field_names(model):
            value = value.strip()
            hint = _hints(model)[name]
            if not value and _optional(model, name):
                value = None
            elif hint is bool:
                value = _BOOLEAN_WORDS.get(value.lower(), value)
            elif typing.get_origin(hint) is Literal:
                value = next((c for c in typing.get_args(hint) if c.lower() == value.lower()), value)
        out[name] = value
    return out


def build_settings(model: type[S], values: Mapping[str, Any]) -> S:
    """`model` from `values` (strings from the environment, or values of the fields' types); a bad value
    raises ConfigError naming its variable."""
    try:
        settings = msgspec.convert(_prepared(model, values), model, strict=False, dec_hook=_decode)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).rpartition(" - at `$.")
        name = where.rstrip("`").split(".")[0].split("[")[0]
        if name not in field_names(model):
            raise ConfigError(f"invalid setting: {exc}") from None
        if typing.get_origin(_hints(model)[name]) is Literal:
            message += f" (one of {', '.join(typing.get_args(_hints(model)[name]))})"
        raise ConfigError(f"invalid setting: {env_name(model, name)}: {message}") from None
    problem = settings.problem()
    if problem is not None:
        raise ConfigError(f"invalid setting: {env_name(model, problem[0])}: {problem[1]}")
    return settings


def load_model(model: type[S], *, root: Path | None = None, env_file: Path | None = None, **overrides: Any) -> S:
    """`model` from the environment and `root`/.env (`env_file` instead when given), `overrides` winning;
    its ROOT_PATHS not set anywhere and relative resolve against `root` (default: found from the
    working directory). A bad value raises ConfigError naming it."""
    root = root or root_folder()
    values = {**read_environment(model, env_file or root / ".env"), **overrides}
    settings = build_settings(model, values)
    relative = {
        name: root / getattr(settings, name)
        for name in model.ROOT_PATHS
        if name not in values and not getattr(settings, name).is_absolute()
    }
    return settings.replace(**relative) if relative else settings


def load_settings(*, root: Path | None = None, env_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the core's Settings from the environment and `root`/.env (ConfigError naming a bad value).

    `root` defaults to the root folder found from the working directory; the store and seeds folders
    resolve against it unless set (in the environment, `.env` or `overrides`), which are used as given."""
    return load_model(Settings, root=root, env_file=env_file, **overrides)


# -- names that are not settings --------------------------------------------------------------
def unknown_settings(
    env_file: Path | None, models: Iterable[type[EnvSettings]] = ()
) -> list[tuple[str, str, str | None]]:
    """`RAGBOT_*` names set in the environment or in `env_file` that neither Settings nor `models` read:
    (name, where it is set, the closest real name or None), each name once."""
    prefix = Settings.ENV_PREFIX
    every: list[type[EnvSettings]] = [Settings, *models]
    known = {env_name(m, f).upper() for m in every for f in field_names(m)}
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


def warn_unknown_settings(env_file: Path | None, models: Iterable[type[EnvSettings]] = ()) -> list[str]:
    """Log one warning per `RAGBOT_*` name that is not a setting (a misspelling is otherwise silently
    ignored), naming the closest real one; return the names."""
    found = unknown_settings(env_file, models)
    for name, where, close in found:
        hint = f"did you mean {close}?" if close else "the settings are listed in docs/settings.md"
        log.warning("%s (set in %s) is not a ragbot setting and is ignored: %s", name, where, hint)
    return [name for name, _, _ in found]
