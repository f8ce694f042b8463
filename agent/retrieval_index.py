"""One merchant's catalog in memory: a vector matrix plus attribute arrays for filtering.

Filters become a boolean mask over the arrays (a few microseconds per condition even at
100,000 rows), and only the rows that survive are scored. Chroma's own metadata ``where``
filter is two orders of magnitude slower on this path (see BENCHMARKS.md), which is why
the search runs here and Chroma remains the durable store the matrix is loaded from.

Large catalogs add a coarse quantiser (an inverted file of k-means cells, rows stored
cell by cell): an unfiltered query then scores only the cells nearest to it.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.query_rewrite import catalog_language
from agent.retrieval_lexical import LexicalIndex, tokenize
from shop.models import Product, utcnow
from shop.money import Money
from shop.vectors import VectorStore

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

EXACT_LIMIT = 20_000
"""Up to this many candidate rows are scored exactly; beyond it the quantiser picks cells."""
PROBE_SHARE = 0.08
"""Share of rows an unfiltered query scores in a quantised catalog (the nearest cells)."""
UNTRACKED = -1
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _words(value: str) -> frozenset[str]:
    return frozenset(tokenize(value)) or frozenset(_WORD.findall(value.lower()))


def matching_codes(vocabulary: list[str], wanted: str) -> list[int]:
    """Codes of values equal to ``wanted`` (case-insensitively) or containing all its words.

    ``green`` matches ``Forest Green``; ``sleeping bag`` matches ``sleeping bags``
    (plural folding), so a model's free-text filter value still finds the catalog's value.
    """
    want = wanted.strip().lower()
    want_words = {w.rstrip("s") for w in _words(want)}
    return [
        code
        for code, value in enumerate(vocabulary)
        if value == want or (want_words and want_words <= {w.rstrip("s") for w in _words(value)})
    ]


class Codes:
    """A column of strings as small integer codes plus the vocabulary."""

    def __init__(self, values: list[str]) -> None:
        self.vocabulary: list[str] = []
        lookup: dict[str, int] = {}
        codes = np.empty(len(values), dtype=np.int32)
        for i, value in enumerate(values):
            key = value.strip().lower()
            code = lookup.get(key)
            if code is None:
                code = lookup[key] = len(self.vocabulary)
                self.vocabulary.append(key)
            codes[i] = code
        self.codes = codes

    def code_for(self, value: str) -> int:
        key = value.strip().lower()
        if key not in self.vocabulary:
            self.vocabulary.append(key)
        return self.vocabulary.index(key)

    def mask(self, wanted: str) -> Mask:
        allowed = matching_codes(self.vocabulary, wanted)
        return np.isin(self.codes, np.asarray(allowed, dtype=np.int32))


@dataclass
class Quantiser:
    """k-means cells; rows of the index are stored grouped by cell (``starts[c]:starts[c+1]``)."""

    centroids: Floats
    starts: Ints

    def cells_for(self, query: Floats, count: int) -> list[int]:
        scores = self.centroids @ query
        count = min(count, len(scores))
        return [int(c) for c in np.argpartition(-scores, count - 1)[:count]]


def train_quantiser(matrix: Floats, seed: int = 7, iterations: int = 6) -> tuple[Quantiser, Ints]:
    """Spherical k-means on a sample; returns the quantiser and the row order grouping cells."""
    n = matrix.shape[0]
    cells = max(16, int(math.sqrt(n)))
    rng = np.random.default_rng(seed)
    sample = matrix[rng.choice(n, size=min(n, cells * 40), replace=False)]
    centroids = sample[rng.choice(len(sample), size=cells, replace=False)].copy()
    for _ in range(iterations):
        assign = np.argmax(sample @ centroids.T, axis=1)
        for c in range(cells):
            members = sample[assign == c]
            if len(members):
                centroid = members.sum(axis=0)
                centroids[c] = centroid / (np.linalg.norm(centroid) or 1.0)
    assign_all = np.empty(n, dtype=np.int64)
    for start in range(0, n, 20_000):
        assign_all[start : start + 20_000] = np.argmax(matrix[start : start + 20_000] @ centroids.T, axis=1)
    order = np.argsort(assign_all, kind="stable")
    starts = np.searchsorted(assign_all[order], np.arange(cells + 1)).astype(np.int64)
    return Quantiser(centroids.astype(np.float32), starts), order


@dataclass
class CatalogIndex:
    """Immutable after build except the live columns (price, stock, active) that refresh in place."""

    skus: list[str]
    pks: Ints
    parents: list[str | None]
    matrix: Floats
    price_minor: Ints
    currency: Codes
    stock: Ints
    active: Mask
    category: Codes
    brand: Codes
    attributes: dict[str, Codes]
    lexical: LexicalIndex
    quantiser: Quantiser | None
    stamp: tuple[int, str]
    row_of_pk: dict[int, int] = field(default_factory=dict)
    watermark: datetime = field(default_factory=utcnow)
    """Changes stamped after this (minus a margin) are not in the arrays yet."""
    refreshed_at: float = 0.0
    lang: str | None = None
    """The language the catalog is written in (queries are also rewritten into it)."""

    @property
    def size(self) -> int:
        return len(self.skus)

    def refresh_live(self, session: Session, merchant_id: str, margin: timedelta, every_s: float) -> None:
        """Apply price, stock and active changes made since the last look (orders, restocks).

        Reads only rows updated since the previous refresh (an index range scan), minus a
        margin because a transaction may commit a little after the time it stamped. Runs at
        most every ``every_s`` seconds; hits are re-checked against live rows anyway.
        """
        now = time.monotonic()
        if now - self.refreshed_at < every_s:
            return
        started = utcnow()
        changed = session.execute(
            select(Product.id, Product.price_minor, Product.currency, Product.stock, Product.active).where(
                Product.merchant_id == merchant_id, Product.updated_at > self.watermark - margin
            )
        ).all()
        for pk, price, currency, stock, active in changed:
            row = self.row_of_pk.get(int(pk))
            if row is None:
                continue  # added outside an ingest run: the next run's stamp rebuilds the index
            self.price_minor[row] = price
            self.currency.codes[row] = self.currency.code_for(currency)
            self.stock[row] = UNTRACKED if stock is None else stock
            self.active[row] = bool(active)
        self.watermark = started
        self.refreshed_at = now

    # -- filtering ------------------------------------------------------------------------
    def filter_mask(
        self,
        min_price: Decimal | None,
        max_price: Decimal | None,
        currency: str | None,
        in_stock: bool | None,
        category: str | None,
        brand: str | None,
        attributes: dict[str, str],
    ) -> Mask:
        mask = self.active.copy()
        if currency:
            mask &= self.currency.mask(currency)
        if min_price is not None or max_price is not None:
            price_ok = np.zeros(self.size, dtype=np.bool_)
            for code, cur in enumerate(self.currency.vocabulary):
                rows = self.currency.codes == code
                low = Money.from_decimal(min_price, cur.upper()).minor if min_price is not None else None
                high = Money.from_decimal(max_price, cur.upper()).minor if max_price is not None else None
                ok = rows
                if low is not None:
                    ok = ok & (self.price_minor >= low)
                if high is not None:
                    ok = ok & (self.price_minor <= high)
                price_ok |= ok
            mask &= price_ok
        if in_stock is True:
            mask &= self.stock != 0
        elif in_stock is False:
            mask &= self.stock == 0
        if category:
            mask &= self.category.mask(category)
        if brand:
            mask &= self.brand.mask(brand)
        for key, value in attributes.items():
            column = self.attributes.get(key.strip().lower().replace(" ", "_"))
            if column is None:
                return np.zeros(self.size, dtype=np.bool_)
            mask &= column.mask(value)
        return mask

    # -- scoring ----------------------------------------------------------------------------
    def dense(self, query: Floats, mask: Mask | None, want: int) -> tuple[npt.NDArray[np.int64], Floats]:
        """Rows and cosine scores of (about) the ``want`` best rows among ``mask``."""
        if self.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        selected = np.flatnonzero(mask) if mask is not None else None
        count = self.size if selected is None else len(selected)
        if count == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self.quantiser is None or count <= EXACT_LIMIT:
            if selected is None:
                return np.arange(self.size, dtype=np.int64), self.matrix @ query
            return selected.astype(np.int64), self.matrix[selected] @ query
        return self._probe(query, mask, want)

    def _probe(self, query: Floats, mask: Mask | None, want: int) -> tuple[npt.NDArray[np.int64], Floats]:
        """Score the cells nearest the query until about ``PROBE_SHARE`` of the rows are scored.

        A row budget rather than a cell count: catalogs of near-identical products make a
        few cells huge, and a fixed number of cells then meant scoring half the catalog."""
        assert self.quantiser is not None
        q = self.quantiser
        budget = max(want, int(self.size * PROBE_SHARE))
        rows_parts: list[npt.NDArray[np.int64]] = []
        score_parts: list[Floats] = []
        scanned = found = 0
        for cell in np.argsort(-(q.centroids @ query)).tolist():
            lo, hi = int(q.starts[cell]), int(q.starts[cell + 1])
            if hi <= lo:
                continue
            scanned += hi - lo
            if mask is None:
                rows, scores = np.arange(lo, hi, dtype=np.int64), self.matrix[lo:hi] @ query
            else:
                rows = (lo + np.flatnonzero(mask[lo:hi])).astype(np.int64)
                scores = self.matrix[rows] @ query
            if len(rows):
                rows_parts.append(rows)
                score_parts.append(scores)
                found += len(rows)
            if scanned >= budget and found >= want:
                break
        if not rows_parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return np.concatenate(rows_parts), np.concatenate(score_parts)

    def lexical_scores(self, text: str, mask: Mask | None) -> tuple[npt.NDArray[np.int32], Floats]:
        rows, scores = self.lexical.search(text)
        if mask is not None and len(rows):
            keep = mask[rows]
            rows, scores = rows[keep], scores[keep]
        return rows, scores


def lexical_text(title: str, brand: str, category: str, attributes: dict[str, Any], description: str) -> str:
    values = " ".join(str(v) for v in attributes.values())
    return f"{title} {title} {brand} {category} {values} {description[:300]}"


def load_catalog_index(
    session: Session,
    store: VectorStore,
    embedder_name: str,
    dim: int,
    merchant_id: str,
    stamp: tuple[int, str],
) -> CatalogIndex:
    """Rows from the database joined with their vectors from the vector store (by SKU).

    A row without a vector (an interrupted ingest) still matches lexically; a vector without
    a row (a product deleted since) is dropped here, so it can never be shown.
    """
    started = utcnow()
    rows = session.execute(
        select(
            Product.id,
            Product.sku,
            Product.parent_sku,
            Product.title,
            Product.description,
            Product.category,
            Product.brand,
            Product.price_minor,
            Product.currency,
            Product.stock,
            Product.attributes,
            Product.active,
            Product.updated_at,
        )
        .where(Product.merchant_id == merchant_id)
        .order_by(Product.id)
    ).all()
    ids, vectors, _ = store.load(merchant_id, "products", embedder_name, dim)
    vector_row = {sku: i for i, sku in enumerate(ids)}
    n = len(rows)
    matrix = np.zeros((n, dim), dtype=np.float32)
    have = [(i, vector_row[r.sku]) for i, r in enumerate(rows) if r.sku in vector_row]
    if have:
        dst, src = (np.asarray(x, dtype=np.int64) for x in zip(*have, strict=True))
        matrix[dst] = vectors[src]
    order = np.arange(n, dtype=np.int64)
    quantiser = None
    if n > EXACT_LIMIT:
        quantiser, order = train_quantiser(matrix)
        matrix = np.ascontiguousarray(matrix[order])
    rows = [rows[int(i)] for i in order]
    keys = sorted({str(k).lower() for r in rows for k in (r.attributes or {})})
    attributes = {key: Codes([str((r.attributes or {}).get(key, "")) for r in rows]) for key in keys}
    return CatalogIndex(
        skus=[r.sku for r in rows],
        pks=np.asarray([r.id for r in rows], dtype=np.int64),
        parents=[r.parent_sku for r in rows],
        matrix=matrix,
        price_minor=np.asarray([r.price_minor for r in rows], dtype=np.int64),
        currency=Codes([r.currency for r in rows]),
        stock=np.asarray([UNTRACKED if r.stock is None else r.stock for r in rows], dtype=np.int64),
        active=np.asarray([bool(r.active) for r in rows], dtype=np.bool_),
        category=Codes([r.category for r in rows]),
        brand=Codes([r.brand for r in rows]),
        attributes=attributes,
        lexical=LexicalIndex(
            [lexical_text(r.title, r.brand, r.category, r.attributes or {}, r.description) for r in rows]
        ),
        quantiser=quantiser,
        stamp=stamp,
        row_of_pk={int(r.id): i for i, r in enumerate(rows)},
        watermark=started,
        refreshed_at=time.monotonic(),
        lang=catalog_language(f"{r.title}. {r.category}. {r.description[:200]}" for r in rows),
    )
