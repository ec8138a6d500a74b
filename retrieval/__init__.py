"""ragbot's core: ingest documents and answer questions about them with exact cited quotes.

This module is the core's public face; front-ends (CLI, chat, Discord, evaluation, bench) import
only from here. Names are resolved lazily (PEP 562 `__getattr__`), so `import retrieval` costs
nothing and a cold `ragbot ask` pays only for the modules its answer uses.

Inside, the core is grouped by flow:
    documents/   find, read, split, embed and ingest files
    storage/     Chroma vectors, the SQLite catalog and the index that joins them
    answering/   the question as a query, hybrid retrieval, evidence scoring, extractive answers
    generation/  the language-model seam, prompts and citation verification
    engine.py    orchestration: question -> evidence -> extract or generate -> Answer
Nothing here prints, reads the environment at import, or imports a front-end.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    # answering
    "Engine": "retrieval.engine",
    "Event": "retrieval.engine",
    "Final": "retrieval.engine",
    "TextDelta": "retrieval.engine",
    "Retrieval": "retrieval.answering.query",
    "clean_question": "retrieval.answering.query",
    "MAX_QUESTION_CHARS": "retrieval.answering.query",
    "refusal_text": "retrieval.text",
    "analyse_question": "retrieval.answering.question:analyse",
    "judge_features": "retrieval.answering.features:of_retrieval",
    "Judge": "retrieval.answering.judge",
    "JUDGE_PATH": "retrieval.answering.judge:DEFAULT_PATH",
    "JudgeFileError": "retrieval.answering.judge",
    "refusal_thresholds": "retrieval.answering.judge:thresholds",
    "confidence_word": "retrieval.answering.judge",
    "ShortAnswer": "retrieval.schema",
    "sentence_spans": "retrieval.text",
    "Check": "retrieval.schema",
    "Attribution": "retrieval.schema",
    "CLAIM_VERDICTS": "retrieval.answering.claims:VERDICTS",
    "key_facts_missing": "retrieval.answering.claims",
    # documents and storage
    "ingest": "retrieval.documents.ingest",
    "open_index": "retrieval.documents.ingest",
    "IngestReport": "retrieval.documents.ingest",
    "Progress": "retrieval.documents.ingest",
    "Skipped": "retrieval.documents.load",
    "SkipReason": "retrieval.documents.load",
    "find_root": "retrieval.root",
    "root_folder": "retrieval.root",
    "source_path": "retrieval.root",
    "ingest_hint": "retrieval.root",
    "read_text": "retrieval.documents.load",
    "find_files": "retrieval.documents.load",
    "load_document": "retrieval.documents.load",
    "split": "retrieval.documents.split",
    "Embedder": "retrieval.documents.embed",
    "Index": "retrieval.storage.index",
    "preload_embedder": "retrieval.storage.preload",
    "temporary_index": "retrieval.documents.ingest",
    "remove": "retrieval.documents.ingest",
    "document_text": "retrieval.documents.stored_text",
    "open_citation": "retrieval.documents.stored_text",
    "OpenedCitation": "retrieval.documents.stored_text",
    "write_synthetic": "retrieval.storage.synthetic",
    "now_utc": "retrieval.storage.catalog",
    "STOPWORDS": "retrieval.text",
    "strip_markers": "retrieval.text",
    # settings, data, errors
    "Settings": "retrieval.settings",
    "load_settings": "retrieval.settings",
    "build_settings": "retrieval.settings",
    "load_model": "retrieval.settings",
    "EnvSettings": "retrieval.settings",
    "Secret": "retrieval.settings",
    "warn_unknown_settings": "retrieval.settings",
    "Answer": "retrieval.schema",
    "Citation": "retrieval.schema",
    "Document": "retrieval.schema",
    "Hit": "retrieval.schema",
    "Passage": "retrieval.schema",
    "Span": "retrieval.schema",
    "Turn": "retrieval.schema",
    "SCHEMA_VERSION": "retrieval.schema",
    "RagbotError": "retrieval.errors",
    "InputError": "retrieval.errors",
    "ConfigError": "retrieval.errors",
    "StoreError": "retrieval.errors",
    "StoreVersionError": "retrieval.errors",
    "EmbeddingError": "retrieval.errors",
    "LLMError": "retrieval.errors",
    "ChatModel": "retrieval.generation.llm",
    "Completion": "retrieval.generation.llm",
    "Delta": "retrieval.generation.llm",
}

__all__ = [
    "Answer",
    "Attribution",
    "CLAIM_VERDICTS",
    "ChatModel",
    "Check",
    "Citation",
    "Completion",
    "ConfigError",
    "Delta",
    "Document",
    "Embedder",
    "EmbeddingError",
    "EnvSettings",
    "Engine",
    "Event",
    "Final",
    "Hit",
    "Index",
    "preload_embedder",
    "IngestReport",
    "InputError",
    "JUDGE_PATH",
    "Judge",
    "JudgeFileError",
    "LLMError",
    "MAX_QUESTION_CHARS",
    "OpenedCitation",
    "Passage",
    "Progress",
    "RagbotError",
    "Retrieval",
    "SCHEMA_VERSION",
    "STOPWORDS",
    "Secret",
    "Settings",
    "SkipReason",
    "Skipped",
    "ShortAnswer",
    "Span",
    "StoreError",
    "StoreVersionError",
    "TextDelta",
    "Turn",
    "analyse_question",
    "build_settings",
    "clean_question",
    "confidence_word",
    "document_text",
    "find_files",
    "find_root",
    "ingest",
    "ingest_hint",
    "judge_features",
    "key_facts_missing",
    "load_document",
    "load_model",
    "load_settings",
    "now_utc",
    "open_citation",
    "open_index",
    "read_text",
    "refusal_text",
    "remove",
    "root_folder",
    "refusal_thresholds",
    "sentence_spans",
    "source_path",
    "split",
    "strip_markers",
    "temporary_index",
    "warn_unknown_settings",
    "write_synthetic",
]


def __getattr__(name: str) -> Any:
    where = _EXPORTS.get(name)
    if where is None:
        raise AttributeError(f"module 'retrieval' has no attribute {name!r}")
    module, _, attr = where.partition(":")
    value = getattr(import_module(module), attr or name)
    globals()[name] = value  # resolved once
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and editors; never executed
    from retrieval.answering.claims import VERDICTS as CLAIM_VERDICTS
    from retrieval.answering.claims import key_facts_missing
    from retrieval.answering.features import of_retrieval as judge_features
    from retrieval.answering.judge import DEFAULT_PATH as JUDGE_PATH
    from retrieval.answering.judge import Judge, JudgeFileError, confidence_word
    from retrieval.answering.judge import thresholds as refusal_thresholds
    from retrieval.answering.query import MAX_QUESTION_CHARS, Retrieval, clean_question
    from retrieval.answering.question import analyse as analyse_question
    from retrieval.documents.embed import Embedder
    from retrieval.documents.ingest import IngestReport, Progress, ingest, open_index, remove, temporary_index
    from retrieval.documents.load import Skipped, SkipReason, find_files, load_document, read_text
    from retrieval.documents.split import split
    from retrieval.documents.stored_text import OpenedCitation, document_text, open_citation
    from retrieval.engine import Engine, Event, Final, TextDelta
    from retrieval.errors import (
        ConfigError,
        EmbeddingError,
        InputError,
        LLMError,
        RagbotError,
        StoreError,
        StoreVersionError,
    )
    from retrieval.generation.llm import ChatModel, Completion, Delta
    from retrieval.root import find_root, ingest_hint, root_folder, source_path
    from retrieval.schema import (
        SCHEMA_VERSION,
        Answer,
        Attribution,
        Check,
        Citation,
        Document,
        Hit,
        Passage,
        ShortAnswer,
        Span,
        Turn,
    )
    from retrieval.settings import (
        EnvSettings,
        Secret,
        Settings,
        build_settings,
        load_model,
        load_settings,
        warn_unknown_settings,
    )
    from retrieval.storage.catalog import now_utc
    from retrieval.storage.index import Index
    from retrieval.storage.preload import preload_embedder
    from retrieval.storage.synthetic import write_synthetic
    from retrieval.text import STOPWORDS, refusal_text, sentence_spans, strip_markers
