"""``shopagent ingest``: load files, plan the changes, embed, then write both stores.

Order of work, chosen so a failure at any step leaves the stores consistent:

1. read and validate every file (nothing written; unreadable files are reported);
2. plan against the database and the vector store's hashes; embed what is new
   (a failure here, e.g. the Chroma server is down, changes nothing);
3. write the database in one transaction, with an ``ingest_runs`` row marked running;
4. bring the vector store to match (upserts, metadata updates, deletions);
5. mark the run done.

A crash between 3 and 5 leaves vectors behind the database; the next run's step 2 sees the
hash mismatch and repairs it, and retrieval joins vectors to rows so it never shows a
product the database no longer has.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from tqdm import tqdm

from ingest.context import LoadContext
from ingest.detect import is_store_config, load_file
from ingest.embed_cache import EmbeddingCache
from ingest.plan import plan_documents, plan_orders, plan_products, plan_promotions
from ingest.records import LoadResult, ProductRecord, RowError, SourceFile, StoreConfig, UnreadableFile
from ingest.report import FileOutcome, IngestReport
from ingest.sources import collect_sources
from ingest.store_writer import (
    apply_store_config,
    write_customers,
    write_documents,
    write_orders,
    write_products,
)
from ingest.vector_sync import (
    EmbedStats,
    VectorWork,
    apply_work,
    embed_texts,
    plan_chunk_vectors,
    plan_product_vectors,
)
from shop.catalog import ensure_merchant
from shop.db import Database
from shop.embedders import Embedder, get_embedder
from shop.models import IngestState, Merchant, Product, utcnow
from shop.promotions import upsert_promotions
from shop.settings import Settings
from shop.vectors import VectorStore, open_vector_store


@dataclass
class Loaded:
    source: SourceFile
    result: LoadResult


@dataclass
class _Batch:
    """Everything accepted from all files of the run."""

    loaded: list[Loaded] = field(default_factory=list)
    store: StoreConfig | None = None

    def products(self) -> list[ProductRecord]:
        return [p for item in self.loaded for p in item.result.products]


def ingest_paths(
    settings: Settings,
    db: Database,
    paths: list[Path],
    merchant_id: str,
    replace: bool = True,
    progress: bool = False,
    *,
    embedder: Embedder | None = None,
    vectors: VectorStore | None = None,
) -> IngestReport:
    """Ingest files and folders for one merchant; the report carries the exit code and every rejected row."""
    started = time.perf_counter()
    report = IngestReport(merchant_id=merchant_id)
    collected = collect_sources(paths, settings.max_upload_bytes)
    report.errors.extend(collected.errors)
    report.skipped = collected.skipped
    for error in collected.errors:
        report.files.append(FileOutcome(error.file, "", error=error.message))
    batch = _load_all(settings, db, merchant_id, collected.sources, report)
    if report.accepted == 0:
        report.duration_s = time.perf_counter() - started
        return report
    try:
        _store(settings, db, merchant_id, batch, report, replace, progress, embedder, vectors)
    finally:
        report.duration_s = time.perf_counter() - started
    return report


def _stored_currency(db: Database, merchant_id: str) -> str | None:
    with db.session() as session:
        merchant = session.get(Merchant, merchant_id)
        return merchant.currency if merchant else None


def _load_all(
    settings: Settings, db: Database, merchant_id: str, sources: list[SourceFile], report: IngestReport
) -> _Batch:
    ctx = LoadContext.from_settings(settings, merchant_id, _stored_currency(db, merchant_id))
    batch = _Batch()
    # store.yaml first: its currency is the default for catalogs without a currency column.
    ordered = sorted(sources, key=lambda s: not is_store_config(s.name))
    first_line: dict[str, tuple[str, int]] = {}
    for source in ordered:
        try:
            result = load_file(source, ctx)
        except UnreadableFile as exc:
            report.errors.append(RowError(source.name, 0, str(exc)))
            report.files.append(FileOutcome(source.name, "", error=str(exc)))
            continue
        _stamp_provenance(result, source)
        _drop_cross_file_duplicates(result, source, first_line)
        if result.store is not None:
            batch.store = result.store
            if result.store.currency:
                ctx = replace(ctx, default_currency=result.store.currency)
        batch.loaded.append(Loaded(source, result))
        report.errors.extend(result.errors)
        report.files.append(FileOutcome(source.name, result.loader, result.accepted, len(result.errors)))
    return batch


def _stamp_provenance(result: LoadResult, source: SourceFile) -> None:
    """Records are known by the file's identity (``products.csv``), not by where it sat this time."""
    for records in (result.products, result.orders, result.customers, result.documents):
        for record in records:
            record.source_file = source.identity


def _drop_cross_file_duplicates(
    result: LoadResult, source: SourceFile, first: dict[str, tuple[str, int]]
) -> None:
    kept: list[ProductRecord] = []
    for record in result.products:
        earlier = first.get(record.sku)
        if earlier:
            result.errors.append(
                RowError(
                    source.name,
                    record.source_line,
                    f"id {record.sku!r} is already defined in {earlier[0]}:{earlier[1]}: ids must be unique per shop",
                )
            )
            result.rejected_skus.add(record.sku)
        else:
            first[record.sku] = (source.name, record.source_line)
            kept.append(record)
    result.products = kept


def _store(
    settings: Settings,
    db: Database,
    merchant_id: str,
    batch: _Batch,
    report: IngestReport,
    replace_missing: bool,
    progress: bool,
    embedder: Embedder | None,
    vectors: VectorStore | None,
) -> None:
    embedder = embedder or get_embedder(settings.embedder)
    store = vectors or open_vector_store(settings)
    products = batch.products()
    records = {p.sku: p for p in products}
    display = {item.source.identity: item.source.name for item in batch.loaded}
    catalog_files = {item.source.identity for item in batch.loaded if item.result.loader in _CATALOG_LOADERS}
    protected = {sku for item in batch.loaded for sku in item.result.rejected_skus}
    documents = [d for item in batch.loaded for d in item.result.documents]
    orders = [o for item in batch.loaded for o in item.result.orders]
    customers = [c for item in batch.loaded for c in item.result.customers]
    promotions = [p for item in batch.loaded for p in item.result.promotions]

    # -- 2. plan and embed: nothing is written yet -------------------------------------------
    with db.session() as session:
        product_plan = plan_products(
            session, merchant_id, products, catalog_files if replace_missing else set(), protected
        )
        doc_plan = plan_documents(session, merchant_id, documents)
        order_plan = plan_orders(session, merchant_id, orders, display)
        promo_plan = plan_promotions(session, merchant_id, promotions, products, display)
        product_work = plan_product_vectors(
            session, merchant_id, product_plan, records, store.stamps(merchant_id, "products", embedder.name)
        )
        chunk_work = plan_chunk_vectors(
            session, merchant_id, doc_plan, store.stamps(merchant_id, "chunks", embedder.name)
        )
        titles = _known_titles(session, merchant_id, records, [i.sku for o in orders for i in o.items])
    report.errors.extend(order_plan.errors)
    report.errors.extend(promo_plan.errors)
    stats = EmbedStats()
    texts = product_work.upsert_texts + chunk_work.upsert_texts
    with _progress_bar(len(texts), progress and len(texts) > 200) as tick:
        cache = EmbeddingCache(settings.home / "embedding-cache.sqlite")
        try:
            matrix = embed_texts(texts, embedder, cache, stats, tick)
        finally:
            cache.close()

    # -- 3. the database, in one transaction -------------------------------------------------
    with db.session() as session:
        if batch.store is not None:
            apply_store_config(session, merchant_id, batch.store)
        else:
            ensure_merchant(session, merchant_id)
        run = IngestState(merchant_id=merchant_id, status="running", report={})
        session.add(run)
        write_products(session, merchant_id, product_plan)
        chunks_written = write_documents(session, merchant_id, doc_plan)
        customers_added, customers_updated = write_customers(session, merchant_id, customers)
        write_orders(session, merchant_id, order_plan.inserts, order_plan.updates, titles)
        upsert_promotions(session, merchant_id, promo_plan.changed)
        session.flush()
        run_id = run.id

    # -- 4. the vector store follows ------------------------------------------------------------
    split = len(product_work.upsert_texts)
    try:
        apply_work(store, merchant_id, embedder.name, product_work, matrix[:split])
        apply_work(store, merchant_id, embedder.name, chunk_work, matrix[split:])
    except Exception as exc:
        report.failure = (
            f"the database was updated but the vector store failed ({type(exc).__name__}: {exc}); "
            "run the same ingest again to finish"
        )
        report.errors.append(RowError("vector store", 0, report.failure))
        _finish(db, run_id, "failed", report)
        return

    c = report.counts
    c["products_added"] += len(product_plan.inserts)
    c["products_updated"] += len(product_plan.updates)
    c["products_unchanged"] += product_plan.unchanged + len(product_plan.moved)
    c["products_removed"] += len(product_plan.deletes)
    c["documents_added"] += doc_plan.added
    c["documents_updated"] += len(doc_plan.changed) - doc_plan.added
    c["documents_unchanged"] += doc_plan.unchanged
    c["chunks_written"] += chunks_written
    c["orders_added"] += len(order_plan.inserts)
    c["orders_updated"] += len(order_plan.updates)
    c["orders_unchanged"] += order_plan.unchanged
    c["customers_added"] += customers_added
    c["customers_updated"] += customers_updated
    c["promotions_added"] += promo_plan.added
    c["promotions_updated"] += promo_plan.updated
    c["promotions_unchanged"] += promo_plan.unchanged
    c["store_config"] += batch.store is not None
    c["embedded"] += stats.embedded
    c["embedding_cache_hits"] += stats.cache_hits
    c["vectors_upserted"] += len(product_work.upsert_ids) + len(chunk_work.upsert_ids)
    c["vectors_metadata_updated"] += len(product_work.meta_ids)
    c["vectors_deleted"] += len(product_work.delete_ids) + len(chunk_work.delete_ids)
    c["vectors_repaired"] += product_work.repaired + chunk_work.repaired
    _finish(db, run_id, "done", report)


_CATALOG_LOADERS = frozenset({"catalog", "shopify", "google-merchant"})


def _known_titles(
    session: Session, merchant_id: str, records: dict[str, ProductRecord], skus: list[str]
) -> dict[str, str]:
    titles = {sku: records[sku].title for sku in skus if sku in records}
    missing = sorted({sku for sku in skus if sku not in titles})
    for start in range(0, len(missing), 500):
        part = missing[start : start + 500]
        rows = session.execute(
            select(Product.sku, Product.title).where(
                Product.merchant_id == merchant_id, Product.sku.in_(part)
            )
        )
        titles.update({sku: title for sku, title in rows})
    return titles


def _finish(db: Database, run_id: int, status: str, report: IngestReport) -> None:
    with db.session() as session:
        run = session.get(IngestState, run_id)
        if run is not None:
            run.status = status
            run.finished_at = utcnow()
            run.report = {
                "counts": dict(report.counts),
                "errors": len(report.errors),
                "failure": report.failure,
            }


@contextmanager
def _progress_bar(total: int, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    if not enabled:
        yield None
        return
    with tqdm(total=total, desc="embedding", unit="text", file=sys.stderr, leave=False) as bar:
        yield bar.update


__all__ = ["IngestReport", "VectorWork", "ingest_paths"]
