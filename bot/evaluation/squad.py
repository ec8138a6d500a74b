"""SQuAD v2.0 input for `ragbot eval`: questions mapped to units, contexts in a temporary collection.

Each paragraph's `context` becomes one .txt document in a temporary folder, ingested into a
separate collection named `ragbot-eval-<random>` (a temporary local store, or on the configured
Chroma server) that is dropped, with the folder, when the run ends, even when it fails. The
configured store is never written. Mapping: `id` and `question` as given; an answerable question's
`answers[].text` (deduplicated) are both its gold answers and its evidence strings, type `squad`;
`is_impossible` questions get no answers and type `unanswerable`. `plausible_answers` and
`answer_start` are not used. Does not download SQuAD: pass a file.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from retrieval.documents.ingest import ingest
from retrieval.engine import Engine
from retrieval.errors import InputError
from retrieval.settings import Settings
from retrieval.storage.index import Index

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
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"no such Q&A file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the Q&A file {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return parse_squad(data, str(path))


def temporary_settings(settings: Settings, folder: Path) -> Settings:
    """The settings of a fresh collection: under `folder` for a local store, on the server otherwise."""
    update: dict[str, Any] = {"collection": f"ragbot-eval-{uuid.uuid4().hex[:12]}"}
    if not settings.chroma_host:
        update["chroma_path"] = folder / "store"
    return settings.model_copy(update=update)


@contextmanager
def temporary_engine(settings: Settings, contexts: list[str], *, embedder=None) -> Iterator[Engine]:
    """An Engine over `contexts` alone; the collection and its files are removed on exit."""
    folder = Path(tempfile.mkdtemp(prefix="ragbot-squad-"))
    temp = temporary_settings(settings, folder)
    docs = folder / "contexts"
    docs.mkdir()
    width = len(str(len(contexts)))
    for i, context in enumerate(contexts, start=1):
        (docs / f"context-{i:0{width}d}.txt").write_text(context, encoding="utf-8")
    index = None
    try:
        index = Index.open(temp, create=True, embedder=embedder)
        ingest(temp, [docs], index=index)
        yield Engine(temp, index)
    finally:
        if index is not None:
            index.close()
        Index.drop(temp)
        shutil.rmtree(folder, ignore_errors=True)
