"""Compare what was loaded with what is stored, and decide the writes (nothing is written here).

Change detection is by content hash: an unchanged row costs a dictionary lookup, a changed
row is rewritten, a row missing from a re-uploaded file is removed under ``--replace``.
Rows that were rejected this time keep their stored version: bad input never deletes.
Stock: a file's stock figure replaces the live stock only when it differs from what the
previous import of that row gave; otherwise the live stock, lowered by orders since, stays
(whether or not other fields of the row changed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.chunking import Chunk, chunk_document, embed_text
from ingest.records import DocumentRecord, OrderRecord, ProductRecord, PromotionRecord, RowError, text_hash
from shop.models import UNTRACKED_STOCK, DocChunk, Document, Order, Product, Promotion
from shop.promotions import PromotionRules, catalog_names, target_problem


@dataclass
class StoredProduct:
    pk: int
    content_hash: str
    source_file: str
    source_line: int
    active: bool
    imported_stock: int | None


@dataclass
class ProductPlan:
    inserts: list[ProductRecord] = field(default_factory=list)
    updates: list[tuple[int, ProductRecord]] = field(default_factory=list)
    moved: list[tuple[int, ProductRecord]] = field(default_factory=list)
    """Same content, new file or line: only provenance is rewritten."""
    unchanged: int = 0
    deletes: dict[str, int] = field(default_factory=dict)
    """sku -> primary key of rows to remove."""
    keep_stock: set[int] = field(default_factory=set)
    """Primary keys of updated rows whose file stock is the one the last import gave: their
    live stock (lowered by orders since) stays."""
    final: dict[str, str] = field(default_factory=dict)
    """sku -> content hash of every active product once the plan is applied (what vectors must match)."""


def stock_as_imported(stock: int | None) -> int:
    """What ``Product.imported_stock`` records for a file's stock figure."""
    return UNTRACKED_STOCK if stock is None else stock


def plan_products(
    session: Session,
    merchant_id: str,
    records: list[ProductRecord],
    replaced_files: set[str],
    protected: set[str],
) -> ProductPlan:
    stored = {
        sku: StoredProduct(pk, chash, sfile, sline, active, imported)
        for pk, sku, chash, sfile, sline, active, imported in session.execute(
            select(
                Product.id,
                Product.sku,
                Product.content_hash,
                Product.source_file,
                Product.source_line,
                Product.active,
                Product.imported_stock,
            ).where(Product.merchant_id == merchant_id)
        )
    }
    plan = ProductPlan()
    incoming = {record.sku for record in records}
    for record in records:
        old = stored.get(record.sku)
        if old is None:
            plan.inserts.append(record)
        elif old.content_hash != record.content_hash:
            plan.updates.append((old.pk, record))
            if old.imported_stock is not None and old.imported_stock == stock_as_imported(record.stock):
                plan.keep_stock.add(old.pk)
        elif (old.source_file, old.source_line) != (record.source_file, record.source_line):
            plan.moved.append((old.pk, record))
        else:
            plan.unchanged += 1
    for sku, old in stored.items():
        if old.source_file in replaced_files and sku not in incoming and sku not in protected:
            plan.deletes[sku] = old.pk
    for sku, old in stored.items():
        if sku not in plan.deletes and old.active:
            plan.final[sku] = old.content_hash
    for record in records:
        if record.active:
            plan.final[record.sku] = record.content_hash
        else:
            plan.final.pop(record.sku, None)
    return plan


@dataclass
class DocumentPlan:
    changed: list[tuple[DocumentRecord, list[Chunk]]] = field(default_factory=list)
    unchanged: int = 0
    added: int = 0
    final: dict[str, str] = field(default_factory=dict)
    """chunk_id -> hash of its embedded text, for every chunk once the plan is applied."""
    chunk_texts: dict[str, str] = field(default_factory=dict)
    """chunk_id -> text to embed, for the chunks written by this run."""


def chunk_hash(title: str, chunk: Chunk) -> str:
    return text_hash(embed_text(title, chunk.heading_path, chunk.text))


def plan_documents(session: Session, merchant_id: str, docs: list[DocumentRecord]) -> DocumentPlan:
    stored = {
        doc_id: chash
        for doc_id, chash in session.execute(
            select(Document.doc_id, Document.content_hash).where(Document.merchant_id == merchant_id)
        )
    }
    plan = DocumentPlan()
    changed_ids: set[str] = set()
    for doc in docs:
        if stored.get(doc.doc_id) == doc.content_hash:
            plan.unchanged += 1
            continue
        chunks = chunk_document(doc)
        plan.changed.append((doc, chunks))
        plan.added += doc.doc_id not in stored
        changed_ids.add(doc.doc_id)
        for chunk in chunks:
            plan.final[chunk.chunk_id] = chunk_hash(doc.title, chunk)
            plan.chunk_texts[chunk.chunk_id] = embed_text(doc.title, chunk.heading_path, chunk.text)
    rows = session.execute(
        select(Document.doc_id, DocChunk.chunk_id, DocChunk.content_hash)
        .join(DocChunk, DocChunk.document_id == Document.id)
        .where(Document.merchant_id == merchant_id)
    )
    for doc_id, chunk_id, chash in rows:
        if doc_id not in changed_ids:
            plan.final[chunk_id] = chash
    return plan


@dataclass
class OrderPlan:
    inserts: list[OrderRecord] = field(default_factory=list)
    updates: list[OrderRecord] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


def plan_orders(
    session: Session, merchant_id: str, records: list[OrderRecord], display: dict[str, str]
) -> OrderPlan:
    stored: dict[str, tuple[str, Any]] = {
        order_id: (source, extra)
        for order_id, source, extra in session.execute(
            select(Order.order_id, Order.source, Order.extra).where(Order.merchant_id == merchant_id)
        )
    }
    plan = OrderPlan()
    for record in records:
        old = stored.get(record.order_id)
        if old is None:
            plan.inserts.append(record)
        elif old[0] != "import":
            plan.errors.append(
                RowError(
                    display.get(record.source_file, record.source_file),
                    record.source_line,
                    f"order {record.order_id!r} was placed in this shop; an import cannot overwrite it: use another id",
                )
            )
        elif (old[1] or {}).get("content_hash") == record.content_hash:
            plan.unchanged += 1
        else:
            plan.updates.append(record)
    return plan


@dataclass
class PromotionPlan:
    changed: list[PromotionRules] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


def plan_promotions(
    session: Session,
    merchant_id: str,
    records: list[PromotionRecord],
    incoming: list[ProductRecord],
    display: dict[str, str],
) -> PromotionPlan:
    """Promotions to add or update; one naming products or categories the store lacks, or a
    coupon code another promotion uses, is rejected at its line."""
    skus, families, categories = catalog_names(
        session, merchant_id, [(p.sku, p.parent_sku, p.category) for p in incoming]
    )
    stored = {
        row.promo_id: row
        for row in session.scalars(select(Promotion).where(Promotion.merchant_id == merchant_id))
    }
    codes = {(row.code or "").upper(): row.promo_id for row in stored.values() if row.active and row.code}
    plan = PromotionPlan()
    for record in records:
        rules = record.rules
        problem = target_problem(rules, skus, families, categories)
        holder = codes.get(rules.code or "")
        if not problem and holder is not None and holder != rules.id:
            problem = f"code: {rules.code} is already the code of promotion {holder!r}: use another code"
        if problem:
            name = display.get(record.source_file, record.source_file)
            plan.errors.append(RowError(name, record.source_line, problem))
            continue
        row = stored.get(rules.id)
        if row is None:
            plan.added += 1
        elif row.rules != rules.model_dump(mode="json") or not row.active:
            plan.updated += 1
        else:
            plan.unchanged += 1
            continue
        plan.changed.append(rules)
    return plan
