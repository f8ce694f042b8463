"""An on-disk cache of embeddings keyed by (embedder, hash of the text).

Rebuilding a lost vector collection, moving a row between files, or renumbering the chunks
of an edited document then costs a lookup instead of a model call.

Several processes may share one file (parallel eval runs share a cache in the user's cache
folder): the file is in WAL mode, every write is one ``BEGIN IMMEDIATE`` transaction, and a
busy file is waited for (``busy_timeout``) rather than failed on. The cache only ever saves
work, so it never stops a run: a file that is not a readable database (a crash on a
filesystem without working locks, a half-copied file) is moved aside as ``NAME.corrupt-PID``
and started afresh, and if even that fails the process keeps its vectors in memory.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ingest.records import text_hash

log = logging.getLogger(__name__)

_CHUNK = 500  # SQLite's bound-parameter limit is far above this; keeps statements small
BUSY_TIMEOUT_S = 30.0
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS embeddings ("
    " embedder TEXT NOT NULL, text_hash TEXT NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL,"
    " PRIMARY KEY (embedder, text_hash))"
)


def connect(path: Path, timeout_s: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """A connection to a cache file (created if missing) that waits for other writers."""
    conn = sqlite3.connect(str(path), timeout=timeout_s, check_same_thread=False, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(_SCHEMA)
        conn.execute("SELECT count(*) FROM embeddings WHERE rowid = 1").fetchone()
    except BaseException:
        conn.close()
        raise
    return conn


def damaged(exc: BaseException) -> bool:
    """Whether ``exc`` says the file is broken (not merely busy or locked)."""
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError)


class EmbeddingCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._conn = self._open()

    def _open(self) -> sqlite3.Connection:
        try:
            return connect(self.path)
        except sqlite3.DatabaseError as exc:
            if not damaged(exc):
                log.warning("embedding cache %s unavailable (%s): caching in memory", self.path, exc)
                return connect(Path(":memory:"))
        aside = self.path.with_name(f"{self.path.name}.corrupt-{os.getpid()}")
        log.warning("embedding cache %s is damaged: moved to %s, starting a new one", self.path, aside)
        try:
            for suffix in ("", "-wal", "-shm"):
                source = Path(str(self.path) + suffix)
                if source.exists():
                    source.replace(Path(str(aside) + suffix))
            return connect(self.path)
        except (OSError, sqlite3.DatabaseError) as exc:
            log.warning("embedding cache %s cannot be recreated (%s): caching in memory", self.path, exc)
            return connect(Path(":memory:"))

    def _recover(self, exc: sqlite3.DatabaseError) -> None:
        """After a failed statement: a damaged file is replaced, a busy one is left alone."""
        if damaged(exc):
            self._conn.close()
            self._conn = self._open()
        else:
            log.warning("embedding cache %s busy (%s): skipped", self.path, exc)

    def get_many(self, embedder: str, texts: Sequence[str], dim: int) -> dict[str, npt.NDArray[np.float32]]:
        """``text hash -> vector`` for the texts already embedded by ``embedder``."""
        hashes = list({text_hash(t) for t in texts})
        found: dict[str, npt.NDArray[np.float32]] = {}
        with self._lock:
            try:
                for start in range(0, len(hashes), _CHUNK):
                    part = hashes[start : start + _CHUNK]
                    marks = ",".join("?" * len(part))
                    rows = self._conn.execute(
                        f"SELECT text_hash, vector FROM embeddings WHERE embedder = ? AND dim = ? AND text_hash IN ({marks})",
                        [embedder, dim, *part],
                    )
                    for key, blob in rows:
                        vector = np.frombuffer(blob, dtype=np.float32)
                        if vector.shape[0] == dim:
                            found[key] = vector.copy()
            except sqlite3.DatabaseError as exc:
                self._recover(exc)
                return {}
        return found

    def put_many(self, embedder: str, texts: Sequence[str], vectors: npt.NDArray[np.float32]) -> None:
        rows = [
            (embedder, text_hash(t), int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes())
            for t, v in zip(texts, vectors, strict=True)
        ]
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._conn.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?)", rows)
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.DatabaseError as exc:
                self._recover(exc)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def merge_into(source: Path, target: Path) -> int:
    """Add the rows of cache ``source`` that ``target`` lacks, in one transaction; rows added.

    Existing rows of ``target`` are kept. Safe while other processes read or merge into
    ``target``; any failure leaves ``target`` as it was (the cache only saves work)."""
    EmbeddingCache(target).close()  # creates the file, or sets a damaged one aside
    try:
        conn = connect(target)
    except sqlite3.DatabaseError as exc:
        log.warning("embedding cache %s not updated: %s", target, exc)
        return 0
    try:
        conn.execute("ATTACH DATABASE ? AS run", (str(source),))
        conn.execute("BEGIN IMMEDIATE")
        try:
            before = conn.total_changes
            conn.execute("INSERT OR IGNORE INTO main.embeddings SELECT * FROM run.embeddings")
            added = conn.total_changes - before
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return added
    except sqlite3.DatabaseError as exc:
        log.warning("embedding cache %s not updated: %s", target, exc)
        return 0
    finally:
        conn.close()
