"""Embeddings kept between runs: query vectors are cached exactly, run caches merge in."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from evals.embedding import CachedQueryEmbedder
from evals.workspace import _save_cache
from ingest.embed_cache import EmbeddingCache
from shop.embedders import HashEmbedder


class CountingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__(dim=16)
        self.queries = 0

    def embed_query(self, text: str) -> np.ndarray:  # type: ignore[override]
        self.queries += 1
        return super().embed_query(text)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:  # type: ignore[override]
        return super().embed_documents(texts)


def test_query_vectors_come_from_the_cache_the_second_time(tmp_path: Path) -> None:
    inner = CountingEmbedder()
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    embedder = CachedQueryEmbedder(inner, cache)
    first = embedder.embed_query("warm sleeping bag")
    again = CachedQueryEmbedder(inner, cache).embed_query("warm sleeping bag")
    assert inner.queries == 1
    np.testing.assert_array_equal(first, again)
    # document vectors of the same text are a different thing and are not served from it
    assert cache.get_many(inner.name, ["warm sleeping bag"], inner.dim) == {}
    cache.close()


def test_run_cache_is_merged_into_the_shared_one(tmp_path: Path) -> None:
    shared, run = tmp_path / "shared.sqlite", tmp_path / "run.sqlite"
    old = EmbeddingCache(shared)
    old.put_many("e", ["a"], np.ones((1, 4), dtype=np.float32))
    old.close()
    new = EmbeddingCache(run)
    new.put_many("e", ["a", "b"], np.zeros((2, 4), dtype=np.float32))
    new.close()
    _save_cache(run, shared)
    _save_cache(run, shared)  # idempotent
    merged = EmbeddingCache(shared)
    found = merged.get_many("e", ["a", "b"], 4)
    merged.close()
    assert len(found) == 2
    assert sorted(float(v.sum()) for v in found.values()) == [0.0, 4.0]  # the existing row is kept
    conn = sqlite3.connect(str(shared))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()
