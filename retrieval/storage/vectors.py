"""The vector store: one Chroma collection, local (`PersistentClient`) or on a server (`HttpClient`).

chromadb is used directly rather than through langchain-chroma: ragbot needs exact ids, batched
upserts with precomputed vectors, deletes by id and the collection's metadata (which embedding model
and dimension built it), and nothing else. Our embedding function is always passed (Chroma's default
one downloads a model) and telemetry is off. Texts and visibility live in the catalog
(`catalog.py`); Chroma holds vectors plus enough metadata to rebuild a catalog (server clients
fetch passages from it). The text is metadata, not a Chroma document: Chroma indexes documents for
its own full-text search, which ragbot never uses and which made every write about 1.6x slower.
How a passage is written is the collection's passage layout (`passage_metadata`; the collection's
`passage_layout`, 1 when absent); every layout ever written is read (`stored_passage`).

With a server, a second collection `<name>.ragbot-log` holds the change log (`ChangeLog`): one
record per published or removed document, numbered 1, 2, 3... Every client replays it into its
local catalog (see `sync.py`). Every chromadb failure leaves this module as a StoreError.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.documents.embed import Embedder
from retrieval.errors import StoreError
from retrieval.root import ingest_hint
from retrieval.schema import Passage
from retrieval.settings import Settings
from retrieval.storage.folder import StorePathError, path_error, set_aside, unusable

log = logging.getLogger(__name__)

WRITE_BATCH = 1000
PASSAGE_KEY = "passage"  # the metadata key holding a passage's fields (passage_metadata)
LAYOUT_KEY = "passage_layout"  # collection metadata: how its passages are written (absent: 1)
PASSAGE_LAYOUT = 2  # what new collections use, and the newest this version reads
LOG_SUFFIX = ".ragbot-log"  # the change log collection beside each collection (changelog.py)


class CollectionGone(StoreError):
    """The collection was deleted (or rebuilt) since this process opened it."""


def passage_metadata(p: Passage, layout: int = PASSAGE_LAYOUT) -> dict[str, str | int]:
    """A passage's Chroma metadata in a collection's layout. Layout 2: its source, and its other fields
    as one JSON list under `passage`. Chroma's local write costs about the same per metadata key
    whatever the value's size, so this writes ~35% faster than layout 1, a key per field, which
    collections made before layout 2 keep (ragbot versions that predate it read only that one)."""
    if layout >= 2:
        fields = [p.title, p.paragraph, p.start, p.end, p.text, p.date, p.page, p.line]
        return {"source": p.source, PASSAGE_KEY: json.dumps(fields, ensure_ascii=False)}
    keys: dict[str, str | int] = {
        "source": p.source,
        "title": p.title,
        "paragraph": p.paragraph,
        "start": p.start,
        "end": p.end,
        "text": p.text,
        "date": p.date,
    }
    return keys | {k: v for k, v in (("page", p.page), ("line", p.line)) if v is not None}


def stored_passage(pid: str, m: Mapping[str, Any], document: str | None) -> Passage:
    """The Passage a Chroma record holds, in any layout ragbot has written: `passage` (JSON list);
    a key per field with the text in metadata; or the text as Chroma's document (the oldest)."""
    packed = m.get(PASSAGE_KEY)
    if packed is not None:
        title, paragraph, start, end, text, date, page, line = json.loads(str(packed))
        return Passage(pid, str(m["source"]), title, paragraph, start, end, text, page, line, date)
    page, line = m.get("page"), m.get("line")  # absent: not a PDF / Markdown, or an older store
    return Passage(
        pid,
        str(m["source"]),
        str(m["title"]),
        int(m["paragraph"]),
        int(m["start"]),
        int(m["end"]),
        str(m.get("text", document)),
        None if page is None else int(page),
        None if line is None else int(line),
        str(m.get("date", "")),
    )


def _where(settings: Settings) -> str:
    if settings.chroma_host:
        where = f"{settings.chroma_host}:{settings.chroma_port}" + (" (HTTPS)" if settings.chroma_ssl else "")
        if (settings.chroma_tenant, settings.chroma_database) != ("default_tenant", "default_database"):
            where += f" (tenant {settings.chroma_tenant!r}, database {settings.chroma_database!r})"
        return f"the Chroma server at {where}"
    return f"the store at {settings.chroma_path}"


@contextmanager
def _guard(what: str) -> Iterator[None]:
    """Turn chromadb's and the HTTP client's exceptions into StoreError."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:  # chromadb raises ValueError, httpx errors, its own errors...
        if type(exc).__name__ in {"NotFoundError", "InvalidCollectionException"}:
            raise CollectionGone(f"the collection was removed while {what}: run `ragbot ingest`") from exc
        if _unreachable(exc):
            raise StoreError(
                f"lost the Chroma server while {what} ({exc}): check that it is running; the next request tries again"
            ) from exc
        raise StoreError(f"Chroma failed while {what}: {exc}") from exc


def _unreachable(exc: BaseException) -> bool:
    """A connection failure (the HTTP client's transport errors, refused or reset sockets)."""
    return any(kind.__name__ in {"TransportError", "ConnectionError"} for kind in type(exc).__mro__)


def _chroma_ef(embedder: Embedder) -> Any:
    from chromadb.api.types import EmbeddingFunction

    class RagbotEmbeddingFunction(EmbeddingFunction):  # type: ignore[type-arg]
        def __init__(self, inner: Embedder) -> None:
            self._inner = inner

        def __call__(self, input: Any) -> Any:  # noqa: A002 - Chroma's parameter name
            return list(self._inner.embed_array(list(input)))

        @staticmethod
        def name() -> str:
            return "ragbot-onnx"

        def get_config(self) -> dict[str, Any]:
            return {"model": self._inner.name}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> Any:
            return RagbotEmbeddingFunction(Embedder(config.get("model", "")))

        def default_space(self) -> Any:
            return "cosine"

        def is_legacy(self) -> bool:
            return False

    return RagbotEmbeddingFunction(embedder)


def server_settings(settings: Settings) -> dict[str, Any]:
    """chromadb Settings fields for the server in `settings`: TLS verification and token auth.

    The token goes through chromadb's own token provider (`Authorization: Bearer` or `X-Chroma-Token`);
    it is read from the SecretStr here only, and never appears in a message."""
    fields: dict[str, Any] = {}
    if settings.chroma_ssl:
        ca, verify = settings.chroma_ca_file, settings.chroma_ssl_verify
        fields["chroma_server_ssl_verify"] = str(ca) if ca and verify else verify
    if settings.chroma_auth_token is not None:
        fields.update(
            chroma_client_auth_provider="chromadb.auth.token_authn.TokenAuthClientProvider",
            chroma_client_auth_credentials=settings.chroma_auth_token.get_secret_value(),
            chroma_auth_token_transport_header=settings.chroma_auth_header,
        )
    return fields


def _server_client(settings: Settings, chroma_settings: Any, *, create: bool) -> Any:
    """An HttpClient on the settings' tenant and database; with `create`, made when missing (where the
    server lets this client make them)."""
    import chromadb

    try:
        if create:
            _ensure_database(settings, chroma_settings)
        return chromadb.HttpClient(
            host=settings.chroma_host or "",
            port=settings.chroma_port,
            ssl=settings.chroma_ssl,
            settings=chroma_settings,
            tenant=settings.chroma_tenant,
            database=settings.chroma_database,
        )
    except Exception as exc:  # chromadb raises ValueError, ConnectionError, its own errors...
        raise StoreError(f"cannot reach {_where(settings)} ({_server_problem(exc)})") from exc


def _server_problem(exc: BaseException) -> str:
    """What went wrong with the server connection and which settings to check (no secret: chromadb's
    messages name the tenant and database, never the token)."""
    cause = exc.__cause__ or exc.__context__
    text = f"{exc} ({cause})" if cause is not None and str(cause) and str(cause) not in str(exc) else str(exc)
    lowered = text.lower()
    if any(word in lowered for word in ("401", "403", "unauthorized", "forbidden", "authoriz", "permission")):
        return (
            f"{text}: the server refused the credentials; check RAGBOT_CHROMA_AUTH_TOKEN and RAGBOT_CHROMA_AUTH_HEADER"
        )
    if any(word in lowered for word in ("certificate", "ssl", "tls", "wrong version number")):
        return f"{text}: check RAGBOT_CHROMA_SSL, RAGBOT_CHROMA_SSL_VERIFY and RAGBOT_CHROMA_CA_FILE"
    if "tenant" in lowered or "database" in lowered:
        return (
            f"{text}: check RAGBOT_CHROMA_TENANT and RAGBOT_CHROMA_DATABASE (`ragbot ingest` makes them on a "
            "server that allows it)"
        )
    hint = "; a server that speaks HTTPS needs RAGBOT_CHROMA_SSL=true" if "reset" in lowered else ""
    return f"{text}: check that it is running and that RAGBOT_CHROMA_HOST and RAGBOT_CHROMA_PORT point at it{hint}"


def _ensure_database(settings: Settings, chroma_settings: Any) -> None:
    """Make the tenant and database when the server has not got them."""
    import chromadb

    chroma_settings.chroma_server_host = settings.chroma_host
    chroma_settings.chroma_server_http_port = settings.chroma_port
    chroma_settings.chroma_server_ssl_enabled = settings.chroma_ssl
    chroma_settings.chroma_api_impl = "chromadb.api.fastapi.FastAPI"
    admin = chromadb.AdminClient(chroma_settings)
    try:
        admin.get_tenant(settings.chroma_tenant)
    except Exception as exc:
        if not _missing(exc):
            raise
        admin.create_tenant(settings.chroma_tenant)
    try:
        admin.get_database(settings.chroma_database, tenant=settings.chroma_tenant)
    except Exception as exc:
        if not _missing(exc):
            raise
        admin.create_database(settings.chroma_database, tenant=settings.chroma_tenant)


def make_client(settings: Settings, *, create: bool = False) -> Any:
    """The chromadb client of the settings: an HttpClient on a server, else a PersistentClient.
    With `create`, a server's tenant and database are made when missing."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    if settings.chroma_host:
        chroma = ChromaSettings(anonymized_telemetry=False, allow_reset=False, **server_settings(settings))
        return _server_client(settings, chroma, create=create)
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_path.exists() and not settings.chroma_path.is_dir():
        raise StoreError(f"the store path {settings.chroma_path} is a file: set RAGBOT_CHROMA_PATH to a folder")
    problem = unusable(settings.chroma_path)
    if problem and not settings.chroma_path.is_dir():
        raise path_error(settings.chroma_path, problem)
    try:
        return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
    except Exception as exc:  # chromadb raises ValueError, its own errors...
        _forget_client(settings.chroma_path)
        if problem:  # an existing folder that cannot be written: not damage
            raise path_error(settings.chroma_path, problem) from exc
        raise StoreError(
            f"cannot open {_where(settings)} ({exc}): if it is damaged, run `ragbot ingest --rebuild` "
            "(the damaged files are set aside, not deleted)"
        ) from exc


def _forget_client(path: Path) -> None:
    """chromadb keeps one client per folder for the process, even one that failed to start: forget it,
    so that the next open (say, after `ingest --rebuild` set a damaged store aside) starts afresh."""
    try:
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient._identifier_to_system.pop(str(path), None)
    except (ImportError, AttributeError):  # another chromadb layout: nothing cached to forget
        pass


def _missing(exc: Exception) -> bool:
    return type(exc).__name__ in {"NotFoundError", "InvalidCollectionException", "ValueError"}


class VectorStore:
    """Vectors of passages, keyed by passage id."""

    def __init__(self, client: Any, collection: Any, embedder: Embedder, layout: int = PASSAGE_LAYOUT) -> None:
        self.client = client
        self.collection = collection
        self.embedder = embedder
        self.layout = layout  # how passages are written: the collection's own layout (passage_metadata)

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder, *, create: bool, client: Any = None) -> VectorStore:
        """Open the collection; with `create`, make it when missing. Model mismatch -> StoreError."""
        client = client or make_client(settings, create=create)
        ef = _chroma_ef(embedder)
        try:
            if create:
                collection = client.get_or_create_collection(
                    settings.collection,
                    embedding_function=ef,
                    metadata={
                        "embedding_model": embedder.name,
                        "embedding_dim": embedder.dim(),
                        "hnsw:space": "cosine",
                        LAYOUT_KEY: PASSAGE_LAYOUT,  # kept by an existing collection: it keeps its layout
                    },
                )
            else:
                collection = client.get_collection(settings.collection, embedding_function=ef)
        except Exception as exc:
            if not create and _missing(exc):
                raise StoreError(
                    f"the collection {settings.collection!r} does not exist yet: {ingest_hint(settings.seeds_dir)}"
                ) from None
            raise StoreError(
                f"cannot open the collection {settings.collection!r} on {_where(settings)}: {exc}. "
                "If the store is damaged, run `ragbot ingest --rebuild`."
            ) from exc
        meta = collection.metadata or {}
        model, dim = meta.get("embedding_model"), meta.get("embedding_dim")
        if model != embedder.name or (dim is not None and int(dim) != embedder.dim()):
            raise StoreError(
                f"the collection {settings.collection!r} was built with the embedding model {model!r} "
                f"(dimension {dim}), not {embedder.name!r}: run `ragbot ingest --rebuild`"
            )
        layout = int(meta.get(LAYOUT_KEY, 1))
        if layout > PASSAGE_LAYOUT:
            raise StoreError(
                f"the collection {settings.collection!r} was written by a newer ragbot (passage layout {layout}; "
                f"this one reads up to {PASSAGE_LAYOUT}): upgrade ragbot, or run `ragbot ingest --rebuild` "
                "to make it again with this one"
            )
        return cls(client, collection, embedder, layout)

    @staticmethod
    def drop(settings: Settings) -> None:
        """Delete the collection and its change log (when present). A local store that cannot be opened
        (damaged files) is set aside whole instead (see `set_aside`), so that a new one can be made."""
        try:
            client = make_client(settings)
        except StorePathError:
            raise  # not damage: setting the folder aside would not help (and could not be done)
        except StoreError:
            if settings.chroma_host or not settings.chroma_path.is_dir():
                raise
            set_aside(settings.chroma_path)
            _forget_client(settings.chroma_path)
            return
        for name in (settings.collection, settings.collection + LOG_SUFFIX):
            try:
                client.delete_collection(name)
            except Exception as exc:  # missing collection: nothing to drop
                log.debug("drop %s: %s", name, exc)

    @property
    def id(self) -> str:
        return str(self.collection.id)

    def count(self) -> int:
        with _guard("counting vectors"):
            return int(self.collection.count())

    def upsert(self, passages: Sequence[Passage], vectors: np.ndarray) -> None:
        with _guard("writing vectors"):
            for b in range(0, len(passages), WRITE_BATCH):
                batch = passages[b : b + WRITE_BATCH]
                self.collection.upsert(
                    ids=[p.id for p in batch],
                    embeddings=vectors[b : b + WRITE_BATCH],
                    metadatas=[passage_metadata(p, self.layout) for p in batch],
                )

    def delete(self, ids: Sequence[str]) -> None:
        with _guard("deleting vectors"):
            for b in range(0, len(ids), WRITE_BATCH):
                self.collection.delete(ids=list(ids[b : b + WRITE_BATCH]))

    def existing(self, ids: Sequence[str]) -> set[str]:
        out: set[str] = set()
        with _guard("reading ids"):
            for b in range(0, len(ids), WRITE_BATCH):
                out.update(self.collection.get(ids=list(ids[b : b + WRITE_BATCH]), include=[])["ids"])
        return out

    def fetch(self, ids: Sequence[str]) -> list[Passage]:
        """The stored passages among `ids` (texts and offsets from Chroma's metadata)."""
        out: list[Passage] = []
        with _guard("reading passages"):
            for b in range(0, len(ids), WRITE_BATCH):
                got = self.collection.get(ids=list(ids[b : b + WRITE_BATCH]), include=["metadatas", "documents"])
                out.extend(
                    stored_passage(pid, m, doc)
                    for pid, m, doc in zip(got["ids"], got["metadatas"], got["documents"], strict=True)
                )
        return out

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """(passage id, cosine similarity) of the k nearest passages, best first.

        Chroma returns fewer than k when the collection is smaller, so no count() round trip is needed.
        """
        with _guard("searching vectors"):
            res = self.collection.query(query_embeddings=[vector], n_results=k, include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0], strict=True)]

    def similarities(self, vector: np.ndarray, ids: Sequence[str]) -> dict[str, float]:
        """Cosine similarity of `vector` to the stored vectors of `ids` (unknown ids are left out)."""
        if not ids:
            return {}
        with _guard("reading vectors"):
            got = self.collection.get(ids=list(ids), include=["embeddings"])
        if not len(got["ids"]):
            return {}
        matrix = np.asarray(got["embeddings"], dtype=np.float32)
        return dict(zip(got["ids"], (matrix @ np.asarray(vector, dtype=np.float32)).tolist(), strict=True))
