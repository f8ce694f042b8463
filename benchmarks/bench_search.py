"""Search latency over a large synthetic catalog: our in-memory path vs Chroma's own ``where`` filter.

Builds N products (default 100,000) in SQLite + embedded Chroma. Product vectors are real
embeddings of a pool of distinct product texts plus small noise (embedding 100k texts would
take an hour and tell nothing more about search speed); queries are distinct texts embedded
with the same model at query time. Reports p50/p95 for:

- unfiltered search, including embedding the query (target p95 <= 10 ms);
- filtered search (price range + in stock + category), including the query (target <= 30 ms);
- the same filtered search through Chroma's metadata ``where`` filter (vector given).

    python -m benchmarks.bench_search [--products 100000] [--queries 200] [--embedder NAME] [--home DIR]

With ``--home DIR`` the catalog is kept there and a later run with the same size and
embedder reuses it (building 100,000 rows takes a quarter of an hour here).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from agent.retrieval import ProductFilters, Retriever
from benchmarks import synthetic
from ingest.records import ProductRecord
from ingest.vector_sync import product_metadata
from shop.db import open_database
from shop.embedders import get_embedder
from shop.models import IngestState, Merchant, Product
from shop.money import Money
from shop.settings import Settings
from shop.vectors import open_vector_store

MERCHANT = "bench"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def build(home: Path, count: int, embedder_name: str, pool: int) -> tuple[Settings, float]:
    settings = Settings(home=home, embedder=embedder_name)
    db = open_database(settings)
    embedder = get_embedder(embedder_name)
    items = synthetic.products(count)
    rng = np.random.default_rng(3)
    started = time.perf_counter()
    base = embedder.embed_documents([p.description for p in items[:pool]])
    print(f"  embedded a pool of {pool} texts in {time.perf_counter() - started:.1f} s", flush=True)
    noise = rng.normal(scale=0.04, size=(count, embedder.dim)).astype(np.float32)
    vectors = base[np.arange(count) % pool] + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    records = [
        ProductRecord(
            sku=p.sku, title=p.title, price=Money(p.price_minor, "EUR"), description=p.description,
            category=p.category, brand=p.brand, stock=p.stock, attributes={"color": p.color, "size": p.size},
            source_file="synthetic.csv", source_line=i + 2,
        )
        for i, p in enumerate(items)
    ]  # fmt: skip
    started = time.perf_counter()
    with db.session() as session:
        session.add(Merchant(id=MERCHANT, name="Bench", currency="EUR", languages=["en"], settings={}))
        session.flush()
        for start in range(0, count, 5000):
            session.execute(
                insert(Product),
                [
                    {**r.fields(), "merchant_id": MERCHANT, "content_hash": r.content_hash, "source_file": r.source_file,
                     "source_line": r.source_line}
                    for r in records[start : start + 5000]
                ],
            )  # fmt: skip
        session.add(IngestState(merchant_id=MERCHANT, status="done", report={}))
    store = open_vector_store(settings)
    store.upsert(
        MERCHANT, "products", embedder.name, [r.sku for r in records], vectors,
        [product_metadata(r, "synthetic") for r in records],
    )  # fmt: skip
    db.dispose()
    return settings, time.perf_counter() - started


def run(count: int, n_queries: int, embedder_name: str, pool: int, home: Path) -> dict[str, float]:
    print(f"search benchmark: {count:,} products, {n_queries} queries, embedder {embedder_name}", flush=True)
    marker = home / f"bench-{count}-{embedder_name}.built"
    if marker.exists():  # a kept --home: the catalog is already there
        settings = Settings(home=home, embedder=embedder_name)
        print(f"  reusing the {count:,} rows built in {home}", flush=True)
    else:
        settings, load_s = build(home, count, embedder_name, pool)
        marker.write_text("built\n", encoding="utf-8")
        print(f"  wrote {count:,} rows to SQLite and Chroma in {load_s:.0f} s", flush=True)
    db = open_database(settings)
    embedder = get_embedder(embedder_name)
    store = open_vector_store(settings)
    retriever = Retriever(db, store, embedder)
    started = time.perf_counter()
    retriever.search_products(MERCHANT, "warm up", limit=8)
    build_s = time.perf_counter() - started
    rng = random.Random(11)
    texts = synthetic.queries(n_queries * 4)
    for text in texts[:20]:
        embedder.embed_query(text)  # model warm-up, not counted

    def filters() -> ProductFilters:
        low = rng.randint(10, 300)
        return ProductFilters(
            min_price=Decimal(low), max_price=Decimal(low + rng.randint(20, 200)), in_stock=True,
            category=rng.choice(synthetic.CATEGORIES),
        )  # fmt: skip

    timings: dict[str, list[float]] = {
        "embed": [],
        "unfiltered": [],
        "filtered": [],
        "ours_filtered_only": [],
        "unfiltered_cached": [],
        "chroma_where": [],
    }
    for i in range(n_queries):
        started = time.perf_counter()
        embedder.embed_query(texts[4 * i])
        timings["embed"].append(time.perf_counter() - started)
        started = time.perf_counter()
        retriever.search_products(MERCHANT, texts[4 * i + 1], limit=8)
        timings["unfiltered"].append(time.perf_counter() - started)
        chosen = filters()
        started = time.perf_counter()
        retriever.search_products(MERCHANT, texts[4 * i + 2], chosen, limit=8)
        timings["filtered"].append(time.perf_counter() - started)
        vector = retriever.embed_query(texts[4 * i + 3])
        started = time.perf_counter()
        retriever.search_products(MERCHANT, texts[4 * i + 3], chosen, limit=8)
        timings["ours_filtered_only"].append(time.perf_counter() - started)
        started = time.perf_counter()
        retriever.search_products(MERCHANT, texts[4 * i + 3], limit=8)
        timings["unfiltered_cached"].append(time.perf_counter() - started)
        where = {"$and": [
            {"price_minor": {"$gte": int(chosen.min_price or 0) * 100}},
            {"price_minor": {"$lte": int(chosen.max_price or 0) * 100}},
            {"in_stock": True},
            {"category": chosen.category or ""},
        ]}  # fmt: skip
        if i < 50:  # Chroma's where filter takes seconds per query at this size: 50 samples suffice
            started = time.perf_counter()
            store.query(MERCHANT, "products", embedder.name, vector, 8, where)
            timings["chroma_where"].append(time.perf_counter() - started)
    db.dispose()
    out = {"index_build_s": build_s}
    print(f"  in-memory index built from Chroma + SQLite in {build_s:.1f} s")
    print(f"  {'path':<44} {'p50 ms':>8} {'p95 ms':>8}")
    labels = {
        "embed": "query embedding alone",
        "unfiltered": "ours, unfiltered, incl. query embedding",
        "filtered": "ours, filtered, incl. query embedding",
        "ours_filtered_only": "ours, filtered, query vector cached",
        "unfiltered_cached": "ours, unfiltered, query vector cached",
        "chroma_where": "Chroma query with `where` filter",
    }
    for key, label in labels.items():
        ms = [t * 1000 for t in timings[key]]
        out[f"{key}_p50_ms"], out[f"{key}_p95_ms"] = statistics.median(ms), percentile(ms, 0.95)
        print(f"  {label:<44} {out[f'{key}_p50_ms']:>8.1f} {out[f'{key}_p95_ms']:>8.1f}")
    ratio = out["chroma_where_p50_ms"] / max(out["ours_filtered_only_p50_ms"], 1e-6)
    print(f"  filtered search: ours is {ratio:.0f}x faster than Chroma's where filter (p50, same vectors)")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--embedder", default="multilingual")
    parser.add_argument(
        "--pool", type=int, default=1000, help="distinct texts embedded for the catalog vectors"
    )
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        run(args.products, args.queries, args.embedder, args.pool, args.home or Path(tmp))


if __name__ == "__main__":
    main()
