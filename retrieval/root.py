"""Where ragbot's files live: the root folder, found the way git finds its repository.

The root is the nearest folder, from the working directory up through its parents, that holds a
`.ragbot/` folder; when none does, the working directory itself (where `ragbot ingest` would then
create the store). The default store (`.ragbot/chroma`), `seeds/`, `.env` and the Discord database
resolve against the root, and document sources are recorded relative to it (absolute when outside
it), so a file has one id from any subfolder.

Leaves out paths set explicitly (RAGBOT_CHROMA_PATH, RAGBOT_SEEDS_DIR are used as given, relative to
the working directory) and creating anything: finding a root never writes.
"""

from __future__ import annotations

from pathlib import Path

STORE_FOLDER = ".ragbot"  # the folder that marks a root, as `.git/` marks a repository


def find_root(start: Path | None = None) -> Path | None:
    """The nearest folder from `start` (default: the working directory) up that holds `.ragbot/`, or None."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / STORE_FOLDER).is_dir():
            return folder
    return None


def root_folder(start: Path | None = None) -> Path:
    """The root: the folder `find_root` finds, else `start` (default: the working directory), resolved."""
    return find_root(start) or (start or Path.cwd()).resolve()


def source_id(path: Path, root: Path | None = None) -> str:
    """A document's source as recorded: relative to the root when under it, else absolute; POSIX separators."""
    resolved = path.resolve()
    try:
        return resolved.relative_to((root or root_folder()).resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def source_path(source: str, root: Path | None = None) -> Path:
    """The file a recorded source names (the inverse of `source_id`): an absolute path stays as it is."""
    path = Path(source)
    return path if path.is_absolute() else (root or root_folder()) / path


def ingest_hint(seeds_dir: Path) -> str:
    """What to run to fill a store: `ragbot ingest` only where its default, the seeds folder, exists."""
    if seeds_dir.is_dir():
        return f"run `ragbot ingest` (it reads {seeds_dir}) or `ragbot ingest PATH` with a folder or file of documents"
    return "run `ragbot ingest PATH` with a folder or file of your documents (.txt, .md, .html, .pdf, .docx) or a URL"
