"""Loading the embedding model early: in a background thread from the moment a front-end knows it will
answer, so the load (native code, mostly without the GIL) overlaps the imports and the store's opening.

`preload_embedder(settings)` starts it; the next `Index.open` with these settings and no embedder of
its own takes that embedder over (`take_preloaded`), loaded or still loading. A preload nobody takes
(the question was refused first) is reused by the next preload. Imports only the embedder's module.
"""

from __future__ import annotations

import atexit
import threading

from retrieval.documents.embed import Embedder
from retrieval.settings import Settings

_PRELOADED: dict[str, Embedder] = {}
_LOCK = threading.Lock()


def _warm(embedder: Embedder) -> None:
    """Load the ONNX session; a failure is left for the caller's first embed to raise again."""
    try:
        embedder.dim()
    except Exception:  # noqa: BLE001 - reported by the next call on the main thread
        pass


def start_loading(embedder: Embedder) -> None:
    """Load `embedder`'s model in a background thread (the process waits for it at exit: ending while
    native code is still loading aborts the process)."""
    loader = threading.Thread(target=_warm, args=(embedder,), name="ragbot-embedder-load", daemon=True)
    loader.start()
    atexit.register(loader.join, 10)


def preload_embedder(settings: Settings) -> None:
    """Start loading the embedding model of `settings` for the next `Index.open` to take over."""
    with _LOCK:
        if settings.embedding_model not in _PRELOADED:
            embedder = _PRELOADED[settings.embedding_model] = Embedder(settings.embedding_model)
            start_loading(embedder)


def take_preloaded(settings: Settings) -> Embedder | None:
    """The embedder `preload_embedder` started for these settings, once; None when there is none."""
    with _LOCK:
        return _PRELOADED.pop(settings.embedding_model, None)
