"""Apply a plan to the relational store, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from ingest.chunking import Chunk
from ingest.plan import DocumentPlan, ProductPlan, chunk_hash, stock_as_imported
from ingest.records import CustomerRecord, OrderRecord, ProductRecord, StoreConfig
from shop.catalog import ensure_merchant
from shop.models import Customer, DocChunk, Document, Order, OrderEvent, OrderLine, Product, utcnow

_BATCH = 2000


def _batches(items: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


def apply_store_config(session: Session, merchant_id: str, config: StoreConfig) -> None:
    merchant = ensure_merchant(
        session, merchant_id, currency=config.currency or "EUR", name=config.name or ""
    )
    for key in ("name", "currency", "languages", "persona", "handoff_contact"):
        value = getattr(config, key)
        if value is not None:
            setattr(merchant, key, value)
    merchant.settings = dict(config.settings)


def _product_row(merchant_id: str, record: ProductRecord) -> dict[str, Any]:
    return {
        **{k: v for k, v in record.fields().items()},
        "merchant_id": merchant_id,
        "content_hash": record.content_hash,
        "imported_stock": stock_as_imported(record.stock),
        "source_file": record.source_file,
        "source_line": record.source_line,
        "updated_at": utcnow(),
    }


def write_products(session: Session, merchant_id: str, plan: ProductPlan) -> None:
    for batch in _batches(list(plan.deletes.values())):
        session.execute(delete(Product).where(Product.id.in_(batch)))
    for batch in _batches(plan.inserts):
        session.execute(insert(Product), [_product_row(merchant_id, r) for r in batch])
    for batch in _batches(plan.updates):
        rows = [{"id": pk, **_product_row(merchant_id, r)} for pk, r in batch]
        kept = [row for row in rows if row["id"] in plan.keep_stock]
        for row in kept:
            del row["stock"]  # the file says what it said last time: orders since still count
        # One executemany per column set: rows keeping their live stock have one column less.
        for group in (kept, [row for row in rows if row["id"] not in plan.keep_stock]):
            if group:
                session.execute(update(Product), group)
    for batch in _batches(plan.moved):
        session.execute(
            update(Product),
            [{"id": pk, "source_file": r.source_file, "source_line": r.source_line} for pk, r in batch],
        )


def write_documents(session: Session, merchant_id: str, plan: DocumentPlan) -> int:
    written = 0
    for doc, chunks in plan.changed:
        row = session.scalar(
            select(Document).where(Document.merchant_id == merchant_id, Document.doc_id == doc.doc_id)
        )
        if row is None:
            row = Document(merchant_id=merchant_id, doc_id=doc.doc_id)
            session.add(row)
        row.title = doc.title
        row.lang = doc.lang
        row.text = doc.text
        row.content_hash = doc.content_hash
        row.source_file = doc.source_file
        session.flush()
        session.execute(delete(DocChunk).where(DocChunk.document_id == row.id))
        session.execute(insert(DocChunk), [_chunk_row(merchant_id, row.id, doc.title, c) for c in chunks])
        written += len(chunks)
    return written


def _chunk_row(merchant_id: str, document_pk: int, title: str, chunk: Chunk) -> dict[str, Any]:
    return {
        "merchant_id": merchant_id,
        "document_id": document_pk,
        "chunk_id": chunk.chunk_id,
        "ordinal": chunk.ordinal,
        "heading_path": chunk.heading_path,
        "text": chunk.text,
        "content_hash": chunk_hash(title, chunk),
        "source_line": chunk.source_line,
    }


def write_orders(
    session: Session,
    merchant_id: str,
    inserts: list[OrderRecord],
    updates: list[OrderRecord],
    titles: dict[str, str],
) -> None:
    customers = {
        email: pk
        for email, pk in session.execute(
            select(Customer.email, Customer.id).where(Customer.merchant_id == merchant_id)
        )
    }
    by_external = {
        ext: pk
        for ext, pk in session.execute(
            select(Customer.external_id, Customer.id).where(
                Customer.merchant_id == merchant_id, Customer.external_id.is_not(None)
            )
        )
    }
    for record in [*inserts, *updates]:
        order = session.scalar(
            select(Order).where(Order.merchant_id == merchant_id, Order.order_id == record.order_id)
        )
        if order is None:
            order = Order(merchant_id=merchant_id, order_id=record.order_id, source="import")
            session.add(order)
        subtotal = sum(item.unit_price.minor * item.quantity for item in record.items)
        order.email = record.email
        order.customer_id = by_external.get(record.customer_external_id or "") or customers.get(record.email)
        order.status = record.status
        order.placed_at = record.placed_at
        order.currency = record.currency
        order.subtotal_minor = subtotal
        order.shipping_minor = record.shipping_minor
        order.discount_minor = record.discount_minor
        order.total_minor = subtotal + record.shipping_minor - record.discount_minor
        order.shipping_address = record.shipping_address
        order.carrier = record.carrier
        order.tracking_number = record.tracking_number
        order.extra = {
            **record.extra,
            "content_hash": record.content_hash,
            "source_file": record.source_file,
            "source_line": record.source_line,
        }
        order.lines = [
            OrderLine(
                sku=item.sku,
                # The catalog title at import time is the snapshot; the record's own title is the fallback.
                title=titles.get(item.sku) or item.title,
                unit_price_minor=item.unit_price.minor,
                currency=record.currency,
                quantity=item.quantity,
                attributes=item.attributes,
            )
            for item in record.items
        ]
        order.events.append(
            OrderEvent(
                kind="imported",
                data={
                    "status": record.status,
                    "source_file": record.source_file,
                    "source_line": record.source_line,
                },
            )
        )


def write_customers(session: Session, merchant_id: str, records: list[CustomerRecord]) -> tuple[int, int]:
    added = updated = 0
    for record in records:
        customer = None
        if record.external_id:
            customer = session.scalar(
                select(Customer).where(
                    Customer.merchant_id == merchant_id, Customer.external_id == record.external_id
                )
            )
        if customer is None:
            customer = session.scalar(
                select(Customer).where(Customer.merchant_id == merchant_id, Customer.email == record.email)
            )
        if customer is None:
            customer = Customer(merchant_id=merchant_id, email=record.email)
            session.add(customer)
            added += 1
        else:
            updated += 1
        customer.email = record.email
        customer.external_id = record.external_id or customer.external_id
        customer.first_name = record.first_name
        customer.last_name = record.last_name
        customer.address = record.address
        customer.payment_methods = record.payment_methods
        customer.profile = {
            **record.profile,
            "source_file": record.source_file,
            "source_line": record.source_line,
        }
        session.flush()
    return added, updated
