"""SQuAD v2.0 input for `ragbot eval`: questions mapped to units, contexts in a temporary collection.

Each paragraph's `context` becomes one .txt document in a temporary folder, ingested into a
temporary collection (the core's `temporary_index`: a temporary local store, or a separate
collection on the configured Chroma server) that is dropped, with the folder, when the run ends,
even when it fails. The configured store is never written. Mapping: `id` and `question` as given;
an answerable question's `answers[].text` (deduplicated) are both its gold answers and its
evidence strings, type `squad`; `is_impossible` questions get no answers and type `unanswerable`.
`plausible_answers` and `answer_start` are not used. Does not download SQuAD: pass a file.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from retrieval import Embedder, Engine, InputError, Settings, temporary_index

from .dataset import UNANSWERABLE, Item, Unit, check_unique

SQUAD_TYPE = "squad"


def is_squad(path: Path) -> bool:
    """A `.json` file (SQuAD's format) rather than our JSONL."""
    return path.suffix.lower() == ".json"


def parse_squad(data: Any, name: str) -> tuple[list[str], list[Item]]:
    """(contexts, items) of a parsed SQuAD v2.0 object; InputError when it is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise InputError(f"{name} is not a SQuAD file: expected an object with a 'data' list")
    contexts: list[str] = []
    items: list[Item] = []
    for a, article in enumerate(data["data"]):
        for p, paragraph in enumerate((article or {}).get("paragraphs") or []):
            where = f"{name}: data[{a}].paragraphs[{p}]"
            context = paragraph.get("context") if isinstance(paragraph, dict) else None
            if not isinstance(context, str) or not context.strip():
                raise InputError(f"{where}: 'context' must be non-empty text")
            contexts.append(context)
            for q, qa in enumerate(paragraph.get("qas") or []):
                items.append((_unit(qa, context, f"{where}.qas[{q}]"),))
    if not items:
        raise InputError(f"{name} holds no questions")
    check_unique(items, name)
    return contexts, items


def _unit(qa: Any, context: str, where: str) -> Unit:
    if not isinstance(qa, dict) or not isinstance(qa.get("id"), str) or not isinstance(qa.get("question"), str):
        raise InputError(f"{where}: each question needs an 'id' and a 'question'")
    if not qa["question"].strip():
        raise InputError(f"{where}: the question is empty")
    if qa.get("is_impossible", False):
        return Unit(qa["id"], UNANSWERABLE, qa["question"], (), ())
    texts = [x.get("text") for x in qa.get("answers") or [] if isinstance(x, dict)]
    golds = tuple(dict.fromkeys(t for t in texts if isinstance(t, str) and t.strip()))
    if not golds:
        raise InputError(f"{where}: an answerable question needs 'answers' (or 'is_impossible': true)")
    missing = [g for g in golds if g not in context]
    if missing:
        raise InputError(f"{where}: answer {missing[0]!r} is not in its context")
    return Unit(qa["id"], SQUAD_TYPE, qa["question"], golds, golds)


def load_squad(path: Path) -> tuple[list[str], list[Item]]:
    """(contexts, items) of a SQuAD v2.0 file; InputError when it cannot be read or is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"no such Q&A file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the Q&A file {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return parse_squad(data, str(path))


@contextmanager
def temporary_engine(
    settings: Settings, contexts: Sequence[str], *, embedder: Embedder | None = None
) -> Iterator[Engine]:
    """An Engine over `contexts` alone (one .txt file each, in a temporary folder), in a temporary
    collection (`temporary_index`); the collection and both folders are removed on exit."""
    with tempfile.TemporaryDirectory(prefix="ragbot-squad-", ignore_cleanup_errors=True) as tmp:
        docs = Path(tmp)
        width = len(str(len(contexts)))
        for i, context in enumerate(contexts, start=1):
            (docs / f"context-{i:0{width}d}.txt").write_text(context, encoding="utf-8")
        with temporary_index(settings, [docs], embedder=embedder) as index:
            yield Engine(index.settings, index)
