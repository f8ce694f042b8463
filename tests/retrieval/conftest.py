"""Retrieval tests build stores through the real ingest pipeline with the hash embedder: the
same fresh home (SQLite + embedded Chroma) per test as the ingest tests."""

from tests.ingest.conftest import db, embedder, settings, vectors

__all__ = ["db", "embedder", "settings", "vectors"]
