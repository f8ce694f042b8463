"""Decide what the vector store needs so it matches the relational store, and apply it.

The database is the source of truth and is written first. The vector store is then brought
to match it by comparing hashes: what this run changed, and anything an interrupted run left
behind (a product stored but never embedded, a vector whose row is gone). Running the same
ingest again therefore repairs a crash, and embeds nothing when nothing differs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.chunking import embed_text
from ingest.embed_cache import EmbeddingCache
from ingest.plan import DocumentPlan, ProductPlan
from ingest.records import ProductRecord, text_hash
from shop.embedders import Embedder, FusedEmbedder
from shop.models import DocChunk, Document, Product
from shop.money import Money
from shop.vectors import Kind, VectorStore

EMBED_BATCH = 64


@dataclass
class VectorWork:
    kind: Kind
    upsert_ids: list[str] = field(default_factory=list)
    upsert_texts: list[str] = field(default_factory=list)
    upsert_meta: list[dict[str, Any]] = field(default_factory=list)
    meta_ids: list[str] = field(default_factory=list)
    meta: list[dict[str, Any]] = field(default_factory=list)
    delete_ids: list[str] = field(default_factory=list)
    repaired: int = 0
    """Records fixed that this run did not change: left behind by an interrupted run."""

    @property
    def empty(self) -> bool:
        return not (self.upsert_ids or self.meta_ids or self.delete_ids)


def record_from_row(row: Product) -> ProductRecord:
    return ProductRecord(
        sku=row.sku,
        title=row.title,
        price=Money(row.price_minor, row.currency),
        parent_sku=row.parent_sku,
        description=row.description,
        category=row.category,
        brand=row.brand,
        stock=row.stock,
        url=row.url,
        image_url=row.image_url,
        attributes=dict(row.attributes or {}),
        active=row.active,
        source_file=row.source_file,
        source_line=row.source_line,
    )


def product_metadata(record: ProductRecord, embed_hash: str) -> dict[str, Any]:
    """Provenance plus the fields Chroma's own ``where`` filter can use."""
    meta: dict[str, Any] = {
        "sku": record.sku,
        "content_hash": record.content_hash,
        "embed_hash": embed_hash,
        "source_file": record.source_file,
        "source_line": record.source_line,
        "price_minor": record.price.minor,
        "currency": record.price.currency,
        "in_stock": record.stock is None or record.stock > 0,
        "category": record.category.lower(),
        "brand": record.brand.lower(),
    }
    if record.stock is not None:
        meta["stock"] = record.stock
    if record.parent_sku:
        meta["parent_sku"] = record.parent_sku
    return meta


def plan_product_vectors(
    session: Session,
    merchant_id: str,
    plan: ProductPlan,
    records: dict[str, ProductRecord],
    stamps: dict[str, dict[str, Any]],
) -> VectorWork:
    work = VectorWork("products")
    changed_here = {r.sku for r in plan.inserts} | {r.sku for _, r in plan.updates} | set(plan.deletes)
    stale = [sku for sku, chash in plan.final.items() if stamps.get(sku, {}).get("content_hash") != chash]
    work.delete_ids = [sku for sku in stamps if sku not in plan.final]
    missing_records = [sku for sku in stale if sku not in records]
    from_db: dict[str, ProductRecord] = {}
    for start in range(0, len(missing_records), 500):
        part = missing_records[start : start + 500]
        for row in session.scalars(
            select(Product).where(Product.merchant_id == merchant_id, Product.sku.in_(part))
        ):
            from_db[row.sku] = record_from_row(row)
    for sku in stale:
        record = records.get(sku) or from_db.get(sku)
        if record is None:
            continue
        text = record.embed_text()
        ehash = text_hash(text)
        meta = product_metadata(record, ehash)
        if stamps.get(sku, {}).get("embed_hash") == ehash:
            work.meta_ids.append(sku)  # price or stock changed: the vector is still right
            work.meta.append(meta)
        else:
            work.upsert_ids.append(sku)
            work.upsert_texts.append(text)
            work.upsert_meta.append(meta)
    work.repaired = sum(1 for sku in [*stale, *work.delete_ids] if sku not in changed_here)
    return work


def plan_chunk_vectors(
    session: Session, merchant_id: str, plan: DocumentPlan, stamps: dict[str, dict[str, Any]]
) -> VectorWork:
    work = VectorWork("chunks")
    stale = [cid for cid, chash in plan.final.items() if stamps.get(cid, {}).get("content_hash") != chash]
    work.delete_ids = [cid for cid in stamps if cid not in plan.final]
    written_here = set(plan.chunk_texts)
    from_db: dict[str, tuple[str, DocChunk, Document]] = {}
    missing = [cid for cid in stale if cid not in written_here]
    if missing:
        rows = session.execute(
            select(DocChunk, Document)
            .join(Document, DocChunk.document_id == Document.id)
            .where(DocChunk.merchant_id == merchant_id, DocChunk.chunk_id.in_(missing))
        )
        for chunk, doc in rows:
            from_db[chunk.chunk_id] = (embed_text(doc.title, chunk.heading_path, chunk.text), chunk, doc)
    metas = _chunk_metadata(plan)
    for cid in stale:
        if cid in written_here:
            text, meta = plan.chunk_texts[cid], metas[cid]
        elif cid in from_db:
            text, chunk, doc = from_db[cid]
            meta = {
                "doc_id": doc.doc_id,
                "chunk_id": cid,
                "lang": doc.lang,
                "source_file": doc.source_file,
                "source_line": chunk.source_line,
                "content_hash": chunk.content_hash,
            }
        else:
            continue
        work.upsert_ids.append(cid)
        work.upsert_texts.append(text)
        work.upsert_meta.append(meta)
    changed_docs = {doc.doc_id for doc, _ in plan.changed}
    work.repaired = sum(
        1
        for cid in [*stale, *work.delete_ids]
        if cid not in written_here and cid.split("#")[0] not in changed_docs
    )
    return work


def _chunk_metadata(plan: DocumentPlan) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for doc, chunks in plan.changed:
        for chunk in chunks:
            out[chunk.chunk_id] = {
                "doc_id": doc.doc_id,
                "chunk_id": chunk.chunk_id,
                "lang": doc.lang,
                "source_file": doc.source_file,
                "source_line": chunk.source_line,
                "content_hash": plan.final[chunk.chunk_id],
            }
    return out


@dataclass
class EmbedStats:
    embedded: int = 0
    cache_hits: int = 0


def embed_texts(
    texts: Sequence[str],
    embedder: Embedder,
    cache: EmbeddingCache | None,
    stats: EmbedStats,
    on_progress: Callable[[int], None] | None = None,
) -> npt.NDArray[np.float32]:
    """Vectors for ``texts`` (same order): from the cache when possible, the rest in batches.

    A fused embedder is cached part by part, so changing its weights re-embeds nothing.
    """
    if isinstance(embedder, FusedEmbedder):
        missed: set[int] = set()
        blocks = []
        for part, scale in embedder.parts:
            part_stats = EmbedStats()
            blocks.append(_embed_cached(texts, part, cache, part_stats, missed, None) * scale)
            stats.cache_hits += part_stats.cache_hits
        stats.embedded += len(missed)
        if on_progress:
            on_progress(len(texts))
        return np.ascontiguousarray(np.concatenate(blocks, axis=1), dtype=np.float32)
    missed_single: set[int] = set()
    out = _embed_cached(texts, embedder, cache, stats, missed_single, on_progress)
    stats.embedded += len(missed_single)
    return out


def _embed_cached(
    texts: Sequence[str],
    embedder: Embedder,
    cache: EmbeddingCache | None,
    stats: EmbedStats,
    missed: set[int],
    on_progress: Callable[[int], None] | None,
) -> npt.NDArray[np.float32]:
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    cached = cache.get_many(embedder.name, texts, embedder.dim) if cache else {}
    todo: dict[str, list[int]] = {}
    for index, text in enumerate(texts):
        vector = cached.get(text_hash(text))
        if vector is not None:
            out[index] = vector
            stats.cache_hits += 1
        else:
            todo.setdefault(text, []).append(index)
    if on_progress and stats.cache_hits:
        on_progress(stats.cache_hits)
    pending = list(todo)
    for start in range(0, len(pending), EMBED_BATCH):
        batch = pending[start : start + EMBED_BATCH]
        vectors = embedder.embed_documents(batch)
        if cache:
            cache.put_many(embedder.name, batch, vectors)
        for text, vector in zip(batch, vectors, strict=True):
            for index in todo[text]:
                out[index] = vector
                missed.add(index)
        if on_progress:
            on_progress(sum(len(todo[t]) for t in batch))
    return out


def apply_work(
    store: VectorStore,
    merchant_id: str,
    embedder_name: str,
    work: VectorWork,
    vectors: npt.NDArray[np.float32],
) -> None:
    if work.upsert_ids:
        store.upsert(merchant_id, work.kind, embedder_name, work.upsert_ids, vectors, work.upsert_meta)
    if work.meta_ids:
        store.update_metadata(merchant_id, work.kind, embedder_name, work.meta_ids, work.meta)
    if work.delete_ids:
        store.delete(merchant_id, work.kind, embedder_name, work.delete_ids)
