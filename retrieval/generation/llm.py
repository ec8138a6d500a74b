"""The one seam to language models: chat completions through litellm, whole or streamed.

`LiteLLM(settings).complete(messages, deadline=...) -> Completion(text, usage, model)` and its
streaming twin `stream(messages, deadline=...)`, which yields `Delta`s and then one `Completion`.
The configured model is tried first, then each of `RAGBOT_LLM_FALLBACKS` in order. A 429 or 5xx is
retried with exponential backoff, honouring `retry-after` / `retry-after-ms` only when the wait
fits in what is left of the deadline (`RAGBOT_LLM_TIMEOUT` for the whole answer, retries
included); anything else moves on to the next model. When every model fails, `LLMError` says why,
in words fit for a user. A stream that breaks after some text was sent is retried like any failure,
and the first `Delta` of the new attempt has `restart=True` (discard what was shown).

litellm is imported when the first LiteLLM is built (its import takes seconds), with
`LITELLM_LOCAL_MODEL_COST_MAP=True` so importing never reaches the internet. Provider keys
(`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, ...) reach litellm through the environment.
Does not build prompts or judge answers (see generate.py); does not cache or count cost.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any, Protocol

from retrieval.errors import LLMError
from retrieval.settings import Settings

log = logging.getLogger("ragbot.llm")

Message = dict[str, str]

MAX_ATTEMPTS = 3  # per model
BACKOFF_S = 0.5  # first wait; doubles each retry
MAX_BACKOFF_S = 8.0
MIN_CALL_S = 1.0  # a retry is only worth it with at least this much time left after the wait


@dataclass(frozen=True)
class Completion:
    """A whole reply: its text, token usage when the provider reports it, and the model that wrote it."""

    text: str
    usage: dict[str, int] | None = None
    model: str = ""


@dataclass(frozen=True)
class Delta:
    """A piece of a streamed reply; `restart` means: discard the text received so far."""

    text: str
    restart: bool = False


class ChatModel(Protocol):
    """What the engine needs from a language model (LiteLLM here, a fake in tests)."""

    def complete(self, messages: Sequence[Message], *, deadline: float | None = None) -> Completion: ...

    def stream(self, messages: Sequence[Message], *, deadline: float | None = None) -> Iterator[Delta | Completion]: ...


_LITELLM_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy")


@lru_cache(maxsize=1)
def _litellm() -> Any:
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    loggers = [logging.getLogger(name) for name in _LITELLM_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:  # importing litellm logs DEBUG lines through its own handler, on stdout
        logger.setLevel(logging.WARNING)
    try:
        import litellm
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
    litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banners on stdout
    litellm.telemetry = False
    _use_our_logging(loggers)
    return litellm


def _use_our_logging(loggers: list[logging.Logger]) -> None:
    """litellm's loggers have their own handler, which prints INFO and DEBUG on stdout (where `ask --json`
    prints answers). Their records go through the application's logging instead (the CLI: stderr); the
    handler's filters, secret redaction among them, move to the loggers so that they still apply."""
    for logger in loggers:
        for handler in list(logger.handlers):
            for kept in handler.filters:
                if kept not in logger.filters:
                    logger.addFilter(kept)
            logger.removeHandler(handler)
        logger.propagate = True


class _Failure(Exception):
    """One attempt failed: `reason` is for users, `retry` says whether the same model may help."""

    def __init__(self, reason: str, *, retry: bool, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry
        self.wait = wait


def retry_after(headers: Any) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds or an HTTP date), if given."""
    if not headers:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, kind):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False


def _classify(exc: BaseException, api_base: str | None) -> _Failure:
    """Turn a litellm/openai exception into a reason a user can read, and whether to retry."""
    import httpx  # a dependency of litellm, loaded with it

    litellm = _litellm()
    status = getattr(exc, "status_code", None)
    headers = getattr(getattr(exc, "response", None), "headers", None) or getattr(exc, "litellm_response_headers", None)
    if isinstance(exc, litellm.Timeout):
        return _Failure("timed out", retry=False)
    if re.search(r"missing credentials|api_key client option must be set|no api key", str(exc), re.I):
        return _Failure("no API key: set the provider's key (e.g. OPENAI_API_KEY) or RAGBOT_LLM_API_KEY", retry=False)
    if _caused_by(exc, json.JSONDecodeError):
        return _Failure("malformed reply (not JSON)", retry=False)
    if isinstance(exc, getattr(litellm, "MidStreamFallbackError", ())):
        return _Failure("the reply broke off", retry=True)
    if isinstance(exc, litellm.APIConnectionError) or _caused_by(exc, httpx.ConnectError):
        where = f" to {api_base}" if api_base else ""
        return _Failure(f"no connection{where}", retry=False)
    if isinstance(exc, litellm.RateLimitError) or status == 429:
        return _Failure("rate limited (HTTP 429)", retry=True, wait=retry_after(headers))
    if isinstance(exc, litellm.AuthenticationError) or status in (401, 403):
        return _Failure(f"the provider refused the API key (HTTP {status})", retry=False)
    if isinstance(exc, litellm.NotFoundError) or status == 404:
        return _Failure("model not found (HTTP 404): check RAGBOT_LLM_MODEL", retry=False)
    if isinstance(exc, litellm.ContextWindowExceededError):
        return _Failure("the prompt is too long for this model", retry=False)
    if isinstance(exc, litellm.BadRequestError) or status == 400:
        return _Failure("the provider rejected the request (HTTP 400)", retry=False)
    if isinstance(status, int) and status >= 500:
        return _Failure(f"server error (HTTP {status})", retry=True, wait=retry_after(headers))
    return _Failure(f"unexpected error ({type(exc).__name__})", retry=False)


def _usage(raw: Any) -> dict[str, int] | None:
    if raw is None:
        return None
    prompt = getattr(raw, "prompt_tokens", None)
    completion = getattr(raw, "completion_tokens", None)
    if prompt is None and completion is None:
        return None
    return {"prompt_tokens": int(prompt or 0), "completion_tokens": int(completion or 0)}


class LiteLLM:
    """Chat completions through litellm with retries, a deadline and fallback models."""

    def __init__(self, settings: Settings) -> None:
        self.models = [settings.llm_model, *settings.fallback_models]
        self.api_base = settings.llm_api_base or None
        self._api_key = settings.llm_api_key
        self.timeout = settings.llm_timeout
        _litellm()  # import now (seconds, once per process), not inside an answer's deadline

    # -- public -----------------------------------------------------------------------------
    def complete(self, messages: Sequence[Message], *, deadline: float | None = None) -> Completion:
        """The whole reply of the first model that answers; LLMError when none does."""
        result = None
        for item in self._run(messages, deadline, whole=True):
            result = item
        assert isinstance(result, Completion)
        return result

    def stream(self, messages: Sequence[Message], *, deadline: float | None = None) -> Iterator[Delta | Completion]:
        """Deltas of the reply as they arrive, then its Completion; LLMError when every model fails."""
        yield from self._run(messages, deadline, whole=False)

    # -- models, attempts, waits ------------------------------------------------------------
    def _run(self, messages: Sequence[Message], deadline: float | None, *, whole: bool) -> Iterator[Delta | Completion]:
        deadline = deadline if deadline is not None else time.monotonic() + self.timeout
        failures: list[str] = []
        shown = False  # some text of a failed attempt was already yielded
        for model in self.models:
            attempt = 0
            while True:
                attempt += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    failures.append(f"{model}: timed out" if attempt > 1 else f"{model}: not tried, no time left")
                    raise LLMError(self._summary(failures))
                try:
                    if whole:
                        yield self._call_whole(model, messages, left)
                        return
                    restart = shown
                    for piece in self._call_stream(model, messages, left, deadline):
                        if isinstance(piece, Completion):
                            yield piece
                            return
                        yield Delta(piece, restart=restart)
                        restart = False
                        shown = True
                except _Failure as failure:
                    reason = failure
                except Exception as exc:  # noqa: BLE001 - every provider error is classified, none escapes
                    log.debug("%s attempt %d raised %s", model, attempt, self._redact(repr(exc)))
                    reason = _classify(exc, self.api_base)
                left = deadline - time.monotonic()
                if reason.wait is not None:
                    wait = reason.wait
                else:
                    wait = min(MAX_BACKOFF_S, BACKOFF_S * 2 ** (attempt - 1)) * (1 + 0.25 * random.random())
                if reason.retry and attempt < MAX_ATTEMPTS and wait + MIN_CALL_S <= left:
                    log.info(
                        "%s: %s; retrying in %.1f s (attempt %d of %d)",
                        model,
                        reason.reason,
                        wait,
                        attempt + 1,
                        MAX_ATTEMPTS,
                    )
                    time.sleep(wait)
                    continue
                if reason.retry and reason.wait is not None and wait + MIN_CALL_S > left:
                    log.warning(
                        "%s: %s; retry-after %.1f s does not fit the %.1f s left", model, reason.reason, wait, left
                    )
                    failures.append(f"{model}: {reason.reason}, asked to wait {wait:.0f} s")
                else:
                    tries = f" after {attempt} attempts" if attempt > 1 else ""
                    log.warning("%s: %s%s", model, reason.reason, tries)
                    failures.append(f"{model}: {reason.reason}{tries}")
                break
        raise LLMError(self._summary(failures))

    # -- one attempt ------------------------------------------------------------------------
    def _kwargs(self, model: str, messages: Sequence[Message], left: float) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": list(messages),
            "timeout": left,
            "max_retries": 0,  # retries are ours, bounded by the deadline
            "num_retries": 0,
            "temperature": 0.0,
            "drop_params": True,
        }
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self._api_key is not None and self._api_key.get_secret_value():
            kwargs["api_key"] = self._api_key.get_secret_value()
        elif self.api_base and model.startswith("openai/") and not os.environ.get("OPENAI_API_KEY"):
            kwargs["api_key"] = "no-key"  # local servers (llama.cpp, vLLM) need none; the OpenAI client insists
        return kwargs

    def _call_whole(self, model: str, messages: Sequence[Message], left: float) -> Completion:
        response = _litellm().completion(**self._kwargs(model, messages, left))
        choices = getattr(response, "choices", None) or []
        text = (getattr(getattr(choices[0], "message", None), "content", None) or "") if choices else ""
        if not text.strip():
            raise _Failure("empty or malformed reply", retry=False)
        return Completion(text, _usage(getattr(response, "usage", None)), model)

    def _call_stream(
        self, model: str, messages: Sequence[Message], left: float, deadline: float
    ) -> Iterator[str | Completion]:
        kwargs = self._kwargs(model, messages, left)
        kwargs.update(stream=True, stream_options={"include_usage": True})
        response = _litellm().completion(**kwargs)
        parts: list[str] = []
        usage = None
        try:
            for chunk in response:
                if time.monotonic() > deadline:
                    raise _Failure("timed out while streaming", retry=False)
                usage = _usage(getattr(chunk, "usage", None)) or usage
                choices = getattr(chunk, "choices", None) or []
                piece = getattr(getattr(choices[0], "delta", None), "content", None) if choices else None
                if piece:
                    parts.append(piece)
                    yield piece
        finally:
            close = getattr(response, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:  # noqa: BLE001 - closing a broken stream must not hide the real error
                    log.debug("closing the stream failed", exc_info=True)
        text = "".join(parts)
        if not text.strip():
            raise _Failure("empty or malformed reply", retry=False)
        yield Completion(text, usage, model)

    # -- messages ---------------------------------------------------------------------------
    def _redact(self, text: str) -> str:
        secret = self._api_key.get_secret_value() if self._api_key is not None else ""
        return text.replace(secret, "***") if secret else text

    def _summary(self, failures: list[str]) -> str:
        shown = "; ".join(failures) if failures else "no model configured"
        return self._redact(f"the language model did not answer ({shown})")
