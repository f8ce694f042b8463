"""Embeddings kept between runs: query vectors are cached exactly, run caches merge in."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from evals.embedding import CachedQueryEmbedder
from evals.workspace import _save_cache
from ingest.embed_cache import EmbeddingCache, merge_into
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


_WORKER = """
import sys
from pathlib import Path
import numpy as np
from ingest.embed_cache import EmbeddingCache, merge_into

shared, private, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
cache = EmbeddingCache(shared)
mine = EmbeddingCache(private)
for i in range(60):
    texts = [f"{name}-{i}-{j}" for j in range(5)] + [f"common-{i}"]
    vectors = np.full((len(texts), 8), float(i), dtype=np.float32)
    cache.put_many("e", texts, vectors)
    mine.put_many("e", [f"{name}-run-{i}"], vectors[:1])
    assert len(cache.get_many("e", texts, 8)) == len(texts)
    if i % 10 == 9:
        merge_into(private, shared)
cache.close()
mine.close()
"""


def test_two_processes_write_one_shared_cache_without_losing_or_breaking_it(tmp_path: Path) -> None:
    shared = tmp_path / "shared.sqlite"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(shared), str(tmp_path / f"{name}.sqlite"), name],
            cwd=Path(__file__).resolve().parents[2],
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    conn = sqlite3.connect(str(shared))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        count = conn.execute("SELECT count(*) FROM embeddings").fetchone()[0]
    finally:
        conn.close()
    assert count == 2 * 60 * 5 + 60 + 2 * 60  # every row of both writers, shared texts once


def test_a_damaged_cache_file_is_set_aside_and_replaced(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"this is not a database, a half-written copy perhaps " * 200)
    cache = EmbeddingCache(path)
    cache.put_many("e", ["a"], np.ones((1, 4), dtype=np.float32))
    assert list(cache.get_many("e", ["a"], 4).values())[0].tolist() == [1.0] * 4
    cache.close()
    aside = list(tmp_path.glob("cache.sqlite.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")


def test_merging_into_a_damaged_shared_cache_starts_it_again(tmp_path: Path) -> None:
    shared, run = tmp_path / "shared.sqlite", tmp_path / "run.sqlite"
    shared.write_bytes(b"\x00garbage" * 500)
    new = EmbeddingCache(run)
    new.put_many("e", ["a", "b"], np.zeros((2, 4), dtype=np.float32))
    new.close()
    assert merge_into(run, shared) == 2
    merged = EmbeddingCache(shared)
    assert len(merged.get_many("e", ["a", "b"], 4)) == 2
    merged.close()
