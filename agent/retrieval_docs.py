"""One merchant's policy and FAQ chunks in memory, searched densely and lexically."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.query_rewrite import catalog_language
from agent.retrieval_lexical import LexicalIndex
from shop.models import DocChunk, Document
from shop.vectors import VectorStore

Floats = npt.NDArray[np.float32]


@dataclass
class PolicyIndex:
    chunk_ids: list[str]
    doc_ids: list[str]
    titles: list[str]
    heading_paths: list[str]
    texts: list[str]
    langs: list[str]
    matrix: Floats
    lexical: LexicalIndex
    stamp: tuple[int, str]
    lang: str | None = None
    """The language most chunks are written in (queries are also rewritten into it)."""

    @property
    def size(self) -> int:
        return len(self.chunk_ids)

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(lang for lang in self.langs if lang)


def doc_family(doc_id: str) -> str:
    """``doc:returns.lt`` -> ``doc:returns``: translations of one document form a family."""
    head, _, tail = doc_id.rpartition(".")
    return head if head and 2 <= len(tail) <= 3 and tail.isalpha() else doc_id


def load_policy_index(
    session: Session,
    store: VectorStore,
    embedder_name: str,
    dim: int,
    merchant_id: str,
    stamp: tuple[int, str],
) -> PolicyIndex:
    rows = session.execute(
        select(
            DocChunk.chunk_id,
            Document.doc_id,
            Document.title,
            DocChunk.heading_path,
            DocChunk.text,
            Document.lang,
        )
        .join(Document, DocChunk.document_id == Document.id)
        .where(DocChunk.merchant_id == merchant_id)
        .order_by(Document.doc_id, DocChunk.ordinal)
    ).all()
    ids, vectors, _ = store.load(merchant_id, "chunks", embedder_name, dim)
    vector_row = {cid: i for i, cid in enumerate(ids)}
    matrix = np.zeros((len(rows), dim), dtype=np.float32)
    for i, row in enumerate(rows):
        j = vector_row.get(row.chunk_id)
        if j is not None:
            matrix[i] = vectors[j]
    return PolicyIndex(
        chunk_ids=[r.chunk_id for r in rows],
        doc_ids=[r.doc_id for r in rows],
        titles=[r.title for r in rows],
        heading_paths=[r.heading_path for r in rows],
        texts=[r.text for r in rows],
        langs=[r.lang for r in rows],
        matrix=matrix,
        lexical=LexicalIndex([f"{r.title} {r.heading_path} {r.text}" for r in rows]),
        stamp=stamp,
        lang=_main_language(rows),
    )


def _main_language(rows: Sequence[Any]) -> str | None:
    """The language most chunks declare, or else the one their text is written in."""
    declared = Counter(str(r.lang) for r in rows if r.lang)
    if declared:
        return declared.most_common(1)[0][0]
    return catalog_language(f"{r.title}. {r.text[:300]}" for r in rows)


_SCRIPT = (
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
)
# Letters that, in a short query, point at one of the Latin-script languages.
_LETTERS = (
    ("lt", re.compile(r"[ąčęėįšųūž]")),
    ("lv", re.compile(r"[āēģīķļņ]")),
    ("tr", re.compile(r"[ğışİ]")),
    ("pl", re.compile(r"[łńśźżć]")),
    ("de", re.compile(r"[ß]")),
)


def query_language(text: str, languages: frozenset[str]) -> str | None:
    """The query's language among the documents' languages, from its script or telltale letters.

    Queries are a few words, too short for statistical detection to be reliable (or fast);
    when nothing gives the language away this answers None and no preference is applied.
    """
    lowered = text.lower()
    for code, pattern in (*_SCRIPT, *_LETTERS):
        if code in languages and pattern.search(lowered):
            return code
    if "en" in languages and lowered.isascii() and any(ch.isalpha() for ch in lowered):
        return "en"  # plain ASCII words: English is the best guess (and every document has it here)
    return None
