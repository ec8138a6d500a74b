"""The prompts a language model is sent: numbered sources for an answer, a conversation to condense.

Templates are files in `prompts/`, filled in one pass (inserted text is never re-read as a
placeholder). Passage n is `<source id="n">`; citations.py reads `[n]` back against the same order.
Does not call a model (llm.py) or check its reply (citations.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import prompts
from retrieval.schema import Passage, Turn
from retrieval.text import strip_markers

Message = dict[str, str]
MAX_STANDALONE_CHARS = 500
MAX_HISTORY_ANSWER_CHARS = 600
_SOURCE_TAG = re.compile(r"<(/?)(source)", re.I)


# -- prompts ----------------------------------------------------------------------------------
def fill(template: str, **values: str) -> str:
    """Replace `{name}` placeholders in one pass (inserted text is never re-read as a placeholder)."""
    pattern = re.compile(r"\{(" + "|".join(map(re.escape, values)) + r")\}")
    return pattern.sub(lambda m: values[m.group(1)], template)


def format_sources(passages: Sequence[Passage]) -> str:
    """The numbered source blocks the model sees; passage n is `<source id="n">`."""
    blocks = []
    for n, p in enumerate(passages, start=1):
        title = p.title.replace('"', "'")
        text = _SOURCE_TAG.sub(r"‹\1\2", p.text)  # a passage cannot close its own block
        blocks.append(f'<source id="{n}" title="{title}">\n{text}\n</source>')
    return "\n\n".join(blocks)


def answer_messages(question: str, passages: Sequence[Passage]) -> list[Message]:
    """System and user messages asking `question` over `passages`, numbered 1..k in this order."""
    user = fill(prompts.load("answer_user"), sources=format_sources(passages), question=question)
    return [{"role": "system", "content": prompts.load("answer").strip()}, {"role": "user", "content": user.strip()}]


def condense_messages(question: str, turns: Sequence[Turn]) -> list[Message]:
    """Messages asking for `question` rewritten to stand alone, given the earlier turns."""
    lines = []
    for turn in turns:
        lines.append(f"User: {' '.join(turn.question.split())}")
        answer = strip_markers(turn.answer)
        if answer:
            if len(answer) > MAX_HISTORY_ANSWER_CHARS:
                answer = answer[:MAX_HISTORY_ANSWER_CHARS].rsplit(" ", 1)[0] + " ..."
            lines.append(f"Assistant: {answer}")
    user = fill(prompts.load("condense_user"), conversation="\n".join(lines), question=question)
    return [{"role": "system", "content": prompts.load("condense").strip()}, {"role": "user", "content": user.strip()}]


def standalone_question(reply: str, fallback: str) -> str:
    """The condensed question from the model's reply; `fallback` when the reply is unusable."""
    for line in reply.splitlines():
        line = re.sub(r"^\s*(?:standalone|rewritten|last)?\s*question\s*:\s*", "", line, flags=re.I)
        line = " ".join(line.strip().strip("\"'“”‘’`").split())
        if line:
            return line if len(line) <= MAX_STANDALONE_CHARS else fallback
    return fallback


def check_messages(claim: str, passages: Sequence[Passage]) -> list[Message]:
    """System and user messages asking for a verdict on `claim` over `passages`, numbered 1..k in this order."""
    user = fill(prompts.load("check_user"), sources=format_sources(passages), claim=claim)
    return [{"role": "system", "content": prompts.load("check").strip()}, {"role": "user", "content": user.strip()}]
