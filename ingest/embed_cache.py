"""An on-disk cache of embeddings keyed by (embedder, hash of the text).

Rebuilding a lost vector collection, moving a row between files, or renumbering the chunks
of an edited document then costs a lookup instead of a model call.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ingest.records import text_hash

_CHUNK = 500  # SQLite's bound-parameter limit is far above this; keeps statements small


class EmbeddingCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS embeddings ("
                " embedder TEXT NOT NULL, text_hash TEXT NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL,"
                " PRIMARY KEY (embedder, text_hash))"
            )

    def get_many(self, embedder: str, texts: Sequence[str], dim: int) -> dict[str, npt.NDArray[np.float32]]:
        """``text hash -> vector`` for the texts already embedded by ``embedder``."""
        hashes = list({text_hash(t) for t in texts})
        found: dict[str, npt.NDArray[np.float32]] = {}
        with self._lock:
            for start in range(0, len(hashes), _CHUNK):
                part = hashes[start : start + _CHUNK]
                marks = ",".join("?" * len(part))
                rows = self._conn.execute(
                    f"SELECT text_hash, vector FROM embeddings WHERE embedder = ? AND dim = ? AND text_hash IN ({marks})",
                    [embedder, dim, *part],
                )
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32).copy()
        return found

    def put_many(self, embedder: str, texts: Sequence[str], vectors: npt.NDArray[np.float32]) -> None:
        rows = [
            (embedder, text_hash(t), int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes())
            for t, v in zip(texts, vectors, strict=True)
        ]
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?)", rows)
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
