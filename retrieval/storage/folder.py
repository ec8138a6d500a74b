"""The local store's folder: whether it can be created and written, and setting a damaged one aside.

A folder that cannot be created or written (permissions, a read-only or virtual file system such as
/proc) is not a damaged store: it gets its own error (`StorePathError`) with advice that works
(another RAGBOT_CHROMA_PATH), and `ingest --rebuild` never tries to set it aside. Leaves out Chroma
itself (vectors.py) and telling whether the files inside are damaged (only Chroma can).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from retrieval.errors import StoreError

log = logging.getLogger(__name__)


class StorePathError(StoreError):
    """The local store's folder cannot be created or written: not damage, so a rebuild cannot fix it."""


def unusable(path: Path) -> str | None:
    """Why the store folder `path` cannot be used (creating it when missing), or None when it can."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parent = next((p for p in path.absolute().parents if p.is_dir()), None)
        return f"cannot create a folder in {parent}: {exc.strerror or exc}"
    if not os.access(path, os.W_OK):
        return "it is not writable"
    return None


def path_error(path: Path, problem: str) -> StorePathError:
    return StorePathError(
        f"the store folder {path} is unusable ({problem}): set RAGBOT_CHROMA_PATH to a folder you can write "
        "to, or run ragbot from a folder where it can create .ragbot/"
    )


def set_aside(path: Path) -> Path:
    """Move a damaged local store out of the way, to a sibling `<name>.damaged-<UTC time>`; return where."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    path.rename(target)
    log.warning("the store at %s could not be opened: moved it to %s", path, target)
    return target
