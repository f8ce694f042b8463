"""Query embeddings kept on disk between eval runs.

An eval run asks the same questions every time (the retrieval queries, and the searches a
deterministic model makes), and embedding a query with the multilingual models costs far
more than the rest of a turn on a small machine. Vectors are cached by embedder and text
hash, so a cached vector is exactly the one the model would compute.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ingest.embed_cache import EmbeddingCache
from shop.embedders import Embedder

Vectors = npt.NDArray[np.float32]
QUERY_SUFFIX = "#query"
"""Query vectors differ from document vectors (e5 prefixes ``query:``), so they are kept apart."""


class CachedQueryEmbedder:
    """``embedder`` with its query vectors read from and written to ``cache``."""

    def __init__(self, embedder: Embedder, cache: EmbeddingCache) -> None:
        self.inner = embedder
        self.cache = cache

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> Vectors:
        key = self.inner.name + QUERY_SUFFIX
        found = self.cache.get_many(key, [text], self.inner.dim)
        if found:
            return next(iter(found.values()))
        vector = self.inner.embed_query(text)
        self.cache.put_many(key, [text], np.asarray([vector], dtype=np.float32))
        return vector
