"""Retrieval tests build stores through the real ingest pipeline with the hash embedder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shop.db import Database, open_database
from shop.settings import Settings
from shop.vectors import VectorStore, forget_vector_stores, open_vector_store
from tests.ingest.support import CountingEmbedder


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        home=tmp_path / "home",
        embedder="hash",
        max_rows=1000,
        max_cell_chars=500,
        max_upload_bytes=200_000,
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = open_database(settings)
    yield database
    database.dispose()


@pytest.fixture
def vectors(settings: Settings) -> Iterator[VectorStore]:
    yield open_vector_store(settings)
    forget_vector_stores()


@pytest.fixture
def embedder() -> CountingEmbedder:
    return CountingEmbedder()
