"""The documents an evaluation answers from: a temporary store built from them, and their fingerprint.

A JSONL set is answered from a temporary store holding only its documents (the seeds folder, or the
`--docs` paths), never from the configured store, so what else a user ingested cannot move the
numbers. `fingerprint` lists those documents (and each SQuAD file, whose contexts are its documents)
as `{"path", "sha256"}` of the file's bytes, for summary.json's `meta.documents`; `differences` says
how a run's documents differ from a baseline's, for `--compare`. Paths are shown relative to the
working directory when under it. Does not ingest into, or read, the configured store.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from retrieval import Embedder, Engine, InputError, Settings, find_files, temporary_index

Fingerprint = list[dict[str, str]]


def document_files(paths: Sequence[Path]) -> list[Path]:
    """The documents under `paths`; InputError when a path is missing or holds no document."""
    for path in paths:
        if not path.exists():
            raise InputError(f"no such documents folder or file: {path} (pass the documents with --docs)")
    files, _ = find_files(paths)
    if not files:
        where = ", ".join(map(str, paths))
        raise InputError(f"no .txt, .md, .html, .pdf or .docx document in {where} to evaluate against")
    return files


def shown(path: Path) -> str:
    """`path` relative to the working directory when under it, else absolute; POSIX separators."""
    absolute = path.absolute()
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return absolute.as_posix()


def fingerprint(files: Sequence[Path]) -> Fingerprint:
    """`[{"path", "sha256"}]` of each file's bytes, sorted by path."""
    return sorted(
        ({"path": shown(f), "sha256": hashlib.sha256(f.read_bytes()).hexdigest()} for f in files),
        key=lambda d: d["path"],
    )


def differences(current: Fingerprint, baseline: Mapping[str, Any]) -> str | None:
    """How `current` differs from the baseline's `meta.documents` (None when the contents are the same)."""
    recorded = (baseline.get("meta") or {}).get("documents")
    if not isinstance(recorded, list):
        return "the baseline does not record its documents, so it may have been measured on others"
    before = {d.get("path"): d.get("sha256") for d in recorded if isinstance(d, dict)}
    if Counter(before.values()) == Counter(d["sha256"] for d in current):
        return None  # the same contents (perhaps seen from another folder)
    now = {d["path"]: d["sha256"] for d in current}
    parts = []
    changed = [p for p in now if p in before and before[p] != now[p]]
    for label, names in (
        ("changed", changed),
        ("only in this run", [p for p in now if p not in before]),
        ("only in the baseline", [str(p) for p in before if p not in now]),
    ):
        if names:
            parts.append(f"{label}: {', '.join(names[:5])}{' …' if len(names) > 5 else ''}")
    return "the documents differ from the baseline's (" + "; ".join(parts) + ")"


@contextmanager
def document_engine(settings: Settings, paths: Sequence[Path], *, embedder: Embedder) -> Iterator[Engine]:
    """An Engine over `paths` alone, in a temporary store removed on exit (the core's `temporary_index`)."""
    with temporary_index(settings, list(paths), embedder=embedder) as index:
        yield Engine(index.settings, index)
