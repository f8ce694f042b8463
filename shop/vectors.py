"""The vector store: Chroma, embedded under ``SHOPAGENT_HOME`` or a server at ``SHOPAGENT_CHROMA_URL``.

Isolation is structural: every (merchant, kind, embedder) triple has its own collection, so a
query can only ever see one merchant's vectors; the merchant id is also written into every
record's metadata and checked again when vectors are loaded. The embedder is part of the
collection name because vectors of two models are not comparable: switching models starts
an empty collection, which the next ingest fills.

Records carry ``embed_hash`` (hash of the embedded text) and ``content_hash`` (hash of the
whole relational row) so ingest can reconcile this store with the database after a crash.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlparse

import numpy as np
import numpy.typing as npt
from chromadb.errors import ChromaError, NotFoundError

from shop.errors import ConfigError
from shop.settings import Settings

Kind = Literal["products", "chunks"]
Metadata = Mapping[str, str | int | float | bool]
PAGE = 5000
_SLUG = re.compile(r"[^a-zA-Z0-9]+")


@dataclass(frozen=True)
class Match:
    id: str
    score: float
    metadata: dict[str, Any]


def collection_name(merchant_id: str, kind: Kind, embedder: str) -> str:
    """A valid Chroma name (3-512 chars of ``[a-zA-Z0-9._-]``) unique to the triple."""
    digest = hashlib.sha256(f"{merchant_id}\0{kind}\0{embedder}".encode()).hexdigest()[:12]
    slug = _SLUG.sub("-", merchant_id).strip("-")[:40] or "m"
    return f"sa-{kind}-{slug}-{digest}"


class VectorStore:
    def __init__(self, client: Any, where: str) -> None:
        self._client = client
        self.where = where
        self._collections: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._max_batch = int(client.get_max_batch_size())

    def _writable(self, merchant_id: str, kind: Kind, embedder: str) -> Any:
        collection = self._collection(merchant_id, kind, embedder, create=True)
        assert collection is not None  # get_or_create never returns None
        return collection

    def _collection(self, merchant_id: str, kind: Kind, embedder: str, create: bool = True) -> Any | None:
        name = collection_name(merchant_id, kind, embedder)
        with self._lock:
            found = self._collections.get(name)
            if found is not None:
                return found
            try:
                if create:
                    found = self._client.get_or_create_collection(
                        name,
                        embedding_function=None,
                        metadata={"merchant_id": merchant_id, "kind": kind, "embedder": embedder},
                        configuration={"hnsw": {"space": "cosine"}},
                    )
                else:
                    found = self._client.get_collection(name, embedding_function=None)
            except NotFoundError:
                return None
            except ChromaError as exc:
                raise ConfigError(f"vector store at {self.where} failed: {exc}") from exc
            self._collections[name] = found
            return found

    def upsert(
        self,
        merchant_id: str,
        kind: Kind,
        embedder: str,
        ids: Sequence[str],
        vectors: npt.NDArray[np.float32],
        metadatas: Sequence[Metadata],
    ) -> None:
        collection = self._writable(merchant_id, kind, embedder)
        for start in range(0, len(ids), self._max_batch):
            end = start + self._max_batch
            collection.upsert(
                ids=list(ids[start:end]),
                embeddings=np.asarray(vectors[start:end], dtype=np.float32),
                metadatas=[{**m, "merchant_id": merchant_id} for m in metadatas[start:end]],
            )

    def update_metadata(
        self, merchant_id: str, kind: Kind, embedder: str, ids: Sequence[str], metadatas: Sequence[Metadata]
    ) -> None:
        collection = self._writable(merchant_id, kind, embedder)
        for start in range(0, len(ids), self._max_batch):
            end = start + self._max_batch
            collection.update(
                ids=list(ids[start:end]),
                metadatas=[{**m, "merchant_id": merchant_id} for m in metadatas[start:end]],
            )

    def delete(self, merchant_id: str, kind: Kind, embedder: str, ids: Sequence[str]) -> None:
        collection = self._collection(merchant_id, kind, embedder, create=False)
        if collection is None:
            return
        for start in range(0, len(ids), self._max_batch):
            collection.delete(ids=list(ids[start : start + self._max_batch]))

    def stamps(self, merchant_id: str, kind: Kind, embedder: str) -> dict[str, dict[str, Any]]:
        """``id -> metadata`` of every record (hashes included), without the vectors."""
        collection = self._collection(merchant_id, kind, embedder, create=False)
        if collection is None:
            return {}
        out: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            page = collection.get(include=["metadatas"], limit=PAGE, offset=offset)
            for record_id, meta in zip(page["ids"], page["metadatas"] or [], strict=False):
                if meta and meta.get("merchant_id") == merchant_id:
                    out[record_id] = dict(meta)
            if len(page["ids"]) < PAGE:
                return out
            offset += PAGE

    def load(
        self, merchant_id: str, kind: Kind, embedder: str, dim: int
    ) -> tuple[list[str], npt.NDArray[np.float32], list[dict[str, Any]]]:
        """All ids, vectors and metadata of one collection (for the in-memory search index)."""
        collection = self._collection(merchant_id, kind, embedder, create=False)
        ids: list[str] = []
        blocks: list[npt.NDArray[np.float32]] = []
        metas: list[dict[str, Any]] = []
        offset = 0
        while collection is not None:
            page = collection.get(include=["embeddings", "metadatas"], limit=PAGE, offset=offset)
            page_ids = list(page["ids"])
            if page_ids:
                matrix = np.asarray(page["embeddings"], dtype=np.float32).reshape(len(page_ids), -1)
                keep = [
                    i
                    for i, m in enumerate(page["metadatas"] or [])
                    if m and m.get("merchant_id") == merchant_id
                ]
                ids.extend(page_ids[i] for i in keep)
                blocks.append(matrix[keep])
                metas.extend(dict(page["metadatas"][i]) for i in keep)
            if len(page_ids) < PAGE:
                break
            offset += PAGE
        matrix = np.concatenate(blocks) if blocks else np.zeros((0, dim), dtype=np.float32)
        return ids, np.ascontiguousarray(matrix, dtype=np.float32), metas

    def query(
        self,
        merchant_id: str,
        kind: Kind,
        embedder: str,
        vector: npt.NDArray[np.float32],
        limit: int,
        where: Mapping[str, Any] | None = None,
    ) -> list[Match]:
        """Chroma's own nearest-neighbour search (HNSW), optionally with a metadata ``where`` filter."""
        collection = self._collection(merchant_id, kind, embedder, create=False)
        if collection is None:
            return []
        result = collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=limit,
            where=dict(where) if where else None,
            include=["metadatas", "distances"],
        )
        return [
            Match(record_id, 1.0 - float(distance), dict(meta or {}))
            for record_id, distance, meta in zip(
                result["ids"][0], result["distances"][0], result["metadatas"][0], strict=True
            )
        ]

    def count(self, merchant_id: str, kind: Kind, embedder: str) -> int:
        collection = self._collection(merchant_id, kind, embedder, create=False)
        return int(collection.count()) if collection is not None else 0

    def drop_merchant(self, merchant_id: str) -> None:
        """Remove every collection of this merchant (all kinds, all embedders)."""
        for collection in self._client.list_collections():
            meta = collection.metadata or {}
            if meta.get("merchant_id") == merchant_id:
                self._client.delete_collection(collection.name)
        with self._lock:
            self._collections.clear()


_STORES: dict[str, VectorStore] = {}
_STORES_LOCK = threading.Lock()


def open_vector_store(settings: Settings) -> VectorStore:
    """The process-wide store for these settings (Chroma clients are meant to be shared)."""
    key = settings.chroma_url or str(settings.chroma_path.resolve())
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None:
            store = _STORES[key] = _connect(settings)
        return store


def _connect(settings: Settings) -> VectorStore:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(
            settings.chroma_url if "://" in settings.chroma_url else f"http://{settings.chroma_url}"
        )
        if not url.hostname:
            raise ConfigError(
                f"SHOPAGENT_CHROMA_URL {settings.chroma_url!r} has no host (e.g. http://127.0.0.1:8001)"
            )
        try:
            client = chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as exc:
            raise ConfigError(
                f"cannot reach the Chroma server at {settings.chroma_url} ({type(exc).__name__}): "
                "start it (chroma run --path DIR --port PORT) or unset SHOPAGENT_CHROMA_URL to use the embedded store"
            ) from None
        return VectorStore(client, settings.chroma_url)
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    client = chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
    return VectorStore(client, str(settings.chroma_path))


def forget_vector_stores() -> None:
    """Drop cached clients (tests that delete a home folder, or a server that restarted)."""
    with _STORES_LOCK:
        _STORES.clear()
