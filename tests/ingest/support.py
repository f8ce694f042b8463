"""Helpers shared by the ingest and retrieval tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from shop.embedders import HashEmbedder

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ingest"


class CountingEmbedder(HashEmbedder):
    """The hash embedder, counting every text it is asked to embed (to prove re-ingest embeds nothing)."""

    def __init__(self) -> None:
        super().__init__()
        self.documents = 0
        self.queries = 0

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.documents += len(texts)
        return super().embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        self.queries += 1
        return super().embed_query(text)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path
