"""A claim checked by a language model, its verdict kept only when its quotes verify.

The model sees the claim and the numbered passages retrieved for it (prompts/check.txt) and replies
with a verdict line and one sentence citing `[n]`. That sentence goes through the same verification
as an answer (citations.py): each `[n]` must point to a passage holding a span that supports it. A
"supported" verdict must also have every name, number and date of the claim in its quotes
(claims.key_facts_missing). A verdict that fails, a reply that cannot be read, or a model that fails
gives the offline verdict with a `note` saying why; "not_mentioned" needs no quote. No passage
found, no model call. Does not retrieve or judge offline (answering/claims.py).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from retrieval.answering.claims import NOT_MENTIONED, VERDICTS, key_facts_missing
from retrieval.answering.query import Retrieval
from retrieval.errors import LLMError
from retrieval.generation.citations import verify
from retrieval.generation.generate import model_text
from retrieval.generation.llm import ChatModel
from retrieval.generation.prompting import check_messages
from retrieval.schema import Check
from retrieval.settings import Settings

log = logging.getLogger("ragbot.check")
FALLBACK = "showing the offline verdict"
_VERDICT = re.compile(r"verdict\s*[:=-]?\s*\**\s*(not[ _-]mentioned|supported|contradicted)", re.I)


def parse_verdict(reply: str) -> tuple[str | None, str]:
    """(verdict or None, the explanation: the reply's other lines) of a model's reply."""
    m = _VERDICT.search(reply)
    if m is None:
        return None, reply.strip()
    verdict = m.group(1).lower().replace(" ", "_").replace("-", "_")
    rest = (reply[: m.start()] + reply[m.end() :]).strip()
    return (verdict if verdict in VERDICTS else None), " ".join(rest.split())


def llm_check(
    llm: ChatModel,
    settings: Settings,
    claim: str,
    found: Retrieval,
    offline: Check,
    *,
    weigh: Callable[[str], dict[str, float]],
    embed: Callable[[list[str]], np.ndarray],
) -> Check:
    """The model's verdict on `claim` when its quotes verify, else `offline` with a note."""
    if not found.sentences:
        return offline
    passages = [h.passage for h in found.hits]
    try:
        completion = llm.complete(check_messages(claim, passages), deadline=time.monotonic() + settings.llm_timeout)
    except LLMError as exc:
        return replace(offline, note=f"{exc}; {FALLBACK}")
    model = completion.model or None
    verdict, sentence = parse_verdict(model_text(completion.text))
    if verdict is None:
        log.warning("no verdict in the reply of %s", model)
        return replace(offline, note=f"the model's reply held no verdict; {FALLBACK}")
    if verdict == NOT_MENTIONED:
        confidence = offline.confidence if offline.verdict == NOT_MENTIONED else 0.5
        return Check(
            offline.claim, NOT_MENTIONED, "The documents don't mention this.", confidence=confidence,
            mode="llm", model=model, closest=offline.closest,
        )  # fmt: skip
    checked = verify(sentence, passages, claim, weigh, embed)
    if not checked.citations:
        log.warning("the %s verdict of %s cited no supporting passage (%d dropped)", verdict, model, checked.dropped)
        return replace(offline, note=f"the model's {verdict} verdict cited no passage that supports it; {FALLBACK}")
    if verdict == "supported" and (missing := key_facts_missing(claim, [c.quote for c in checked.citations])):
        note = f"the model's quotes do not hold {', '.join(missing)} of the claim; {FALLBACK}"
        return replace(offline, note=note)
    return Check(
        offline.claim,
        verdict,
        checked.text,
        checked.citations,
        confidence=offline.confidence if offline.verdict == verdict else 0.5,
        note=f"removed {checked.dropped} citation(s) that did not verify" if checked.dropped else None,
        mode="llm",
        model=model,
    )
