"""Product and policy search for the agent's tools: hybrid dense + lexical, filtered, per merchant.

Ranking: the cosine of the query and product embeddings, plus a small lexical BM25 bonus
(``LEXICAL_WEIGHT`` times the score relative to the best lexical match) so exact names,
brands and model numbers win ties. The query is also said in the catalog's language
(:mod:`agent.query_rewrite`, or the caller's own ``catalog_query``) and both forms are
scored together; then candidates similar to the best first-pass hit get a bonus
(``FEEDBACK_WEIGHT``). Variants of one product are collapsed into one
hit (the best-matching variant, with its siblings listed), because six colours of the same
tent would otherwise crowd out everything else.

What a hit says about price and stock is read from the database at query time, never from
the cached index, and filters are checked again against those live values; the cache only
chooses candidates. The cache is rebuilt when an ingest run finishes (the latest
``ingest_runs`` row changes) and patched in place for price/stock changes in between.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.query_rewrite import rewrite
from agent.retrieval_docs import PolicyIndex, load_policy_index, query_language
from agent.retrieval_index import CatalogIndex, Mask, load_catalog_index, matching_codes
from agent.retrieval_lexical import LexicalIndex
from shop.db import Database
from shop.embedders import Embedder, get_embedder
from shop.models import IngestState, Product
from shop.money import Money
from shop.settings import Settings
from shop.vectors import VectorStore, open_vector_store

LEXICAL_WEIGHT = 0.1
"""BM25 bonus for the best lexical match, relative to cosine scores. Measured with the query
rewrite on the tuning half of evals/suites/demo/retrieval.jsonl (BENCHMARKS.md): 0.03-0.15
are within a point of each other; without the rewrite non-English queries share no words with
the catalog and 0.03 was best."""
REWRITE_WEIGHT = 0.7
"""Share of the dense score that comes from the query as said in the catalog's language
(0.3-0.85 measured within a point; the original keeps what the lexicon did not know)."""
FEEDBACK_WEIGHT = 0.4
"""Pseudo-relevance feedback: candidates also score by their cosine to the best first-pass
hit, so the siblings of a good match (the 500 ml bottle next to the 750 ml one) rise together.
+3-4 points recall@5 on the tuning half (0.2-0.5 measured); costs one small product."""
SAME_LANGUAGE_BONUS = 0.04
FRESHNESS_MARGIN = timedelta(seconds=2)
REFRESH_EVERY_S = 1.0
SNIPPET_CHARS = 180


class ProductFilters(BaseModel):
    """Constraints a shopper states; text values match case-insensitively and by words ("green" ~ "Forest Green")."""

    model_config = ConfigDict(extra="forbid")

    min_price: Decimal | None = Field(default=None, ge=0)
    max_price: Decimal | None = Field(default=None, ge=0)
    currency: str | None = None
    in_stock: bool | None = None
    category: str | None = None
    brand: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return (
            self.min_price is None
            and self.max_price is None
            and not self.currency
            and self.in_stock is None
            and not self.category
            and not self.brand
            and not self.attributes
        )


@dataclass
class ProductHit:
    sku: str
    parent_sku: str | None
    title: str
    price: Money
    stock: int | None
    category: str
    brand: str
    attributes: dict[str, Any]
    snippet: str
    url: str
    image_url: str
    score: float
    variants: list[dict[str, Any]] = field(default_factory=list)
    """Other variants of the same product that also pass the filters: sku, attributes, price, in_stock."""

    @property
    def in_stock(self) -> bool:
        return self.stock is None or self.stock > 0

    def to_record(self) -> dict[str, Any]:
        """A compact, JSON-ready view for tool results."""
        record: dict[str, Any] = {
            "id": self.sku,
            "title": self.title,
            "price": self.price.to_str(),
            "currency": self.price.currency,
            "in_stock": self.in_stock,
            "stock": self.stock,
            "category": self.category,
            "brand": self.brand,
            "attributes": self.attributes,
            "snippet": self.snippet,
            "score": round(self.score, 4),
        }
        if self.parent_sku:
            record["parent_id"] = self.parent_sku
        if self.variants:
            record["variants"] = self.variants
        if self.url:
            record["url"] = self.url
        return record


@dataclass
class PolicyHit:
    chunk_id: str
    doc_id: str
    title: str
    heading_path: str
    text: str
    lang: str
    score: float

    def to_record(self) -> dict[str, Any]:
        return {
            "chunk_id": self.chunk_id,
            "doc_id": self.doc_id,
            "title": self.title,
            "section": self.heading_path,
            "text": self.text,
            "lang": self.lang,
            "score": round(self.score, 4),
        }


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    return cut[: end + 1] if end > limit // 2 else cut.rsplit(" ", 1)[0] + "…"


def _value_matches(value: str, wanted: str) -> bool:
    return bool(matching_codes([value.strip().lower()], wanted))


def passes(product: Product, filters: ProductFilters) -> bool:
    """The same filter semantics as the index mask, applied to a live row."""
    if not product.active:
        return False
    if filters.currency and product.currency.upper() != filters.currency.strip().upper():
        return False
    price = Money(product.price_minor, product.currency)
    if filters.min_price is not None and price.amount < filters.min_price:
        return False
    if filters.max_price is not None and price.amount > filters.max_price:
        return False
    in_stock = product.stock is None or product.stock > 0
    if filters.in_stock is not None and in_stock != filters.in_stock:
        return False
    if filters.category and not _value_matches(product.category, filters.category):
        return False
    if filters.brand and not _value_matches(product.brand, filters.brand):
        return False
    attrs = {str(k).lower(): str(v) for k, v in (product.attributes or {}).items()}
    for key, wanted in filters.attributes.items():
        value = attrs.get(key.strip().lower().replace(" ", "_"))
        if value is None or not _value_matches(value, wanted):
            return False
    return True


@functools.cache
def single_threaded_blas() -> None:
    """Limit numpy's BLAS to one thread in this process (once).

    Search is many small matrix-vector products from many request threads. With two BLAS
    threads per product on a busy 2-core machine the threads wait for each other: scoring
    1,600 gathered rows took 24 ms instead of 1.1 ms, 8,000 contiguous rows 24 ms instead of
    10 ms (BENCHMARKS.md). The USE embedder already runs its BLAS single-threaded."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


class Retriever:
    """Search over the stores of many merchants; one in-memory index per merchant, built lazily."""

    def __init__(
        self,
        db: Database,
        store: VectorStore,
        embedder: Embedder,
        query_cache_size: int = 2048,
        lexical_weight: float = LEXICAL_WEIGHT,
        refresh_every_s: float = REFRESH_EVERY_S,
        rewrite_weight: float = REWRITE_WEIGHT,
        feedback_weight: float = FEEDBACK_WEIGHT,
    ) -> None:
        single_threaded_blas()
        self.db = db
        self.lexical_weight = lexical_weight
        self.rewrite_weight = rewrite_weight
        self.feedback_weight = feedback_weight
        self.refresh_every_s = refresh_every_s
        self.store = store
        self.embedder = embedder
        self._catalogs: dict[str, CatalogIndex] = {}
        self._policies: dict[str, PolicyIndex] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._queries: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._query_cache_size = query_cache_size

    # -- caches -------------------------------------------------------------------------------
    def _merchant_lock(self, key: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(key, threading.Lock())

    @staticmethod
    def _stamp(session: Session, merchant_id: str) -> tuple[int, str]:
        row = session.execute(
            select(IngestState.id, IngestState.status)
            .where(IngestState.merchant_id == merchant_id)
            .order_by(IngestState.id.desc())
            .limit(1)
        ).first()
        return (int(row[0]), str(row[1])) if row else (0, "")

    def _catalog(self, session: Session, merchant_id: str) -> CatalogIndex:
        stamp = self._stamp(session, merchant_id)
        index = self._catalogs.get(merchant_id)
        if index is None or index.stamp != stamp:
            with self._merchant_lock("catalog:" + merchant_id):
                index = self._catalogs.get(merchant_id)
                if index is None or index.stamp != stamp:
                    index = load_catalog_index(
                        session, self.store, self.embedder.name, self.embedder.dim, merchant_id, stamp
                    )
                    self._catalogs[merchant_id] = index
        index.refresh_live(session, merchant_id, FRESHNESS_MARGIN, self.refresh_every_s)
        return index

    def _policy(self, session: Session, merchant_id: str) -> PolicyIndex:
        stamp = self._stamp(session, merchant_id)
        index = self._policies.get(merchant_id)
        if index is None or index.stamp != stamp:
            with self._merchant_lock("policy:" + merchant_id):
                index = self._policies.get(merchant_id)
                if index is None or index.stamp != stamp:
                    index = load_policy_index(
                        session, self.store, self.embedder.name, self.embedder.dim, merchant_id, stamp
                    )
                    self._policies[merchant_id] = index
        return index

    def invalidate(self, merchant_id: str | None = None) -> None:
        """Forget cached indexes (all merchants when ``merchant_id`` is None)."""
        with self._lock:
            if merchant_id is None:
                self._catalogs.clear()
                self._policies.clear()
            else:
                self._catalogs.pop(merchant_id, None)
                self._policies.pop(merchant_id, None)

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        key = " ".join(text.split()).lower()
        with self._lock:
            cached = self._queries.get(key)
            if cached is not None:
                self._queries.move_to_end(key)
                return cached
        vector = self.embedder.embed_query(key)
        with self._lock:
            self._queries[key] = vector
            if len(self._queries) > self._query_cache_size:
                self._queries.popitem(last=False)
        return vector

    def query_forms(
        self, query: str, lang: str | None, lexical: LexicalIndex, catalog_query: str | None = None
    ) -> tuple[npt.NDArray[np.float32], str]:
        """The query vector and lexical text: the query fused with its form in the catalog's language.

        ``catalog_query`` is that form when the caller has it (a model translating as it
        calls the tool); otherwise the lexicons of :mod:`agent.query_rewrite` make one."""
        said = " ".join((catalog_query or "").split()) or rewrite(
            query, lang, lambda w: len(w) >= 3 and lexical.knows(w)
        )
        qvec = self.embed_query(query)
        if not said or said.lower() == " ".join(query.split()).lower():
            return qvec, query
        fused = (1 - self.rewrite_weight) * qvec + self.rewrite_weight * self.embed_query(said)
        return fused.astype(np.float32), f"{query} {said}"

    # -- products -------------------------------------------------------------------------------
    def search_products(
        self,
        merchant_id: str,
        query: str,
        filters: ProductFilters | None = None,
        limit: int = 8,
        catalog_query: str | None = None,
    ) -> list[ProductHit]:
        """Products for ``query``; ``catalog_query`` is the same query in the catalog's language, if known."""
        filters = filters or ProductFilters()
        limit = max(1, min(limit, 50))
        with self.db.read_session() as session:
            index = self._catalog(session, merchant_id)
            if index.size == 0:
                return []
            mask: Mask | None = None
            if not filters.empty:
                mask = index.filter_mask(
                    filters.min_price,
                    filters.max_price,
                    filters.currency,
                    filters.in_stock,
                    filters.category,
                    filters.brand,
                    filters.attributes,
                )
            elif not index.active.all():
                mask = index.active
            rows, scores = self._rank(index, query, mask, limit, catalog_query)
            return self._hits(session, merchant_id, index, rows, scores, filters, limit)

    def _rank(
        self, index: CatalogIndex, query: str, mask: Mask | None, limit: int, catalog_query: str | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Candidate rows, best first, with fused scores (several per hit: variants collapse later)."""
        want = max(limit * 6, 48)
        if not query.strip():
            rows = np.flatnonzero(mask) if mask is not None else np.arange(index.size)
            order = np.argsort(index.price_minor[rows], kind="stable")[:want]
            return rows[order].astype(np.int64), np.zeros(len(order), dtype=np.float32)
        qvec, query = self.query_forms(query, index.lang, index.lexical, catalog_query)
        rows, dense = index.dense(qvec, mask, want)
        if len(rows) > want:
            top = np.argpartition(-dense, want - 1)[:want]
            rows, dense = rows[top], dense[top]
        lex_rows, lex = index.lexical_scores(query, mask)
        if len(lex_rows) == 0:
            merged, fused = rows, dense
        else:
            if len(lex_rows) > want:
                top = np.argpartition(-lex, want - 1)[:want]
                lex_rows, lex = lex_rows[top], lex[top]
            bonus = self.lexical_weight * lex / float(lex.max())
            merged = np.union1d(rows, lex_rows.astype(np.int64))
            fused = index.matrix[merged] @ qvec
            fused[np.searchsorted(merged, lex_rows)] += bonus
        if self.feedback_weight and len(merged) > 1:
            fused = fused + self.feedback_weight * (
                index.matrix[merged] @ index.matrix[merged[np.argmax(fused)]]
            )
        order = np.argsort(-fused)
        return merged[order], fused[order].astype(np.float32)

    def _hits(
        self,
        session: Session,
        merchant_id: str,
        index: CatalogIndex,
        rows: npt.NDArray[np.int64],
        scores: npt.NDArray[np.float32],
        filters: ProductFilters,
        limit: int,
    ) -> list[ProductHit]:
        groups: OrderedDict[str, list[tuple[int, float]]] = OrderedDict()
        for row, score in zip(rows.tolist(), scores.tolist(), strict=True):
            key = index.parents[row] or index.skus[row]
            groups.setdefault(key, []).append((row, score))
            if len(groups) >= limit * 3:
                break
        skus = [index.skus[row] for members in groups.values() for row, _ in members]
        parents = [key for key in groups if any(index.parents[row] for row, _ in groups[key])]
        # Two indexed lookups: an OR of both would make SQLite scan the merchant's rows.
        live = {
            p.sku: p
            for p in session.scalars(
                select(Product).where(Product.merchant_id == merchant_id, Product.sku.in_(skus))
            )
        }
        if parents:
            live.update(
                (p.sku, p)
                for p in session.scalars(
                    select(Product).where(Product.merchant_id == merchant_id, Product.parent_sku.in_(parents))
                )
            )
        siblings: dict[str, list[Product]] = {}
        for product in live.values():
            if product.parent_sku:
                siblings.setdefault(product.parent_sku, []).append(product)
        hits: list[ProductHit] = []
        for key, members in groups.items():
            best = next(
                (
                    (live[index.skus[row]], score)
                    for row, score in members
                    if index.skus[row] in live and passes(live[index.skus[row]], filters)
                ),
                None,
            )
            if best is None:
                continue
            product, score = best
            others = [
                p
                for p in sorted(siblings.get(key, []), key=lambda p: p.sku)
                if p.sku != product.sku and passes(p, filters)
            ]
            hits.append(_hit(product, score, others))
            if len(hits) >= limit:
                break
        return hits

    # -- policies ---------------------------------------------------------------------------------
    def search_policies(
        self, merchant_id: str, query: str, limit: int = 4, catalog_query: str | None = None
    ) -> list[PolicyHit]:
        limit = max(1, min(limit, 20))
        if not query.strip():
            return []
        with self.db.read_session() as session:
            index = self._policy(session, merchant_id)
        if index.size == 0:
            return []
        qvec, lexical_text = self.query_forms(query, index.lang, index.lexical, catalog_query)
        scores = index.matrix @ qvec
        lang = query_language(query, index.languages)
        same = np.asarray([chunk_lang == lang for chunk_lang in index.langs], dtype=np.bool_)
        if lang and lexical_text != query and same.any():
            # Pages in the shopper's own language are compared with the query as written.
            scores[same] = index.matrix[same] @ self.embed_query(query)
        lex_rows, lex = index.lexical.search(lexical_text)
        if len(lex_rows):
            scores[lex_rows] += self.lexical_weight * lex / float(lex.max())
        if lang:
            scores += SAME_LANGUAGE_BONUS * same
        order = np.argsort(-scores)[:limit]
        return [
            PolicyHit(
                chunk_id=index.chunk_ids[i],
                doc_id=index.doc_ids[i],
                title=index.titles[i],
                heading_path=index.heading_paths[i],
                text=index.texts[i],
                lang=index.langs[i],
                score=float(scores[i]),
            )
            for i in order.tolist()
        ]


_VARIANT_KEYS = re.compile(r"^(color|colour|size|width|length|capacity|flavour|flavor|material|style)$")


def _hit(product: Product, score: float, others: list[Product]) -> ProductHit:
    attrs = dict(product.attributes or {})
    variants = [
        {
            "id": p.sku,
            "attributes": {
                k: v
                for k, v in (p.attributes or {}).items()
                if attrs.get(k) != v or _VARIANT_KEYS.match(str(k))
            },
            "price": Money(p.price_minor, p.currency).to_str(),
            "in_stock": p.stock is None or p.stock > 0,
        }
        for p in others
    ]
    return ProductHit(
        sku=product.sku,
        parent_sku=product.parent_sku,
        title=product.title,
        price=Money(product.price_minor, product.currency),
        stock=product.stock,
        category=product.category,
        brand=product.brand,
        attributes=attrs,
        snippet=snippet(product.description),
        url=product.url,
        image_url=product.image_url,
        score=float(score),
        variants=variants,
    )


def build_retriever(settings: Settings, db: Database) -> Retriever:
    return Retriever(db, open_vector_store(settings), get_embedder(settings.embedder))
