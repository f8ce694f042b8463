"""Ingest throughput next to the bare embedder's own rate, and the cost of an unchanged re-run.

Writes a synthetic catalog CSV (default 10,000 rows), measures how fast the embedder alone
embeds the same product texts (a sample), then runs ``ingest_paths`` twice: the first run
embeds every row, the second must embed nothing and finish in under 5 seconds.

    python -m benchmarks.bench_ingest [--rows 10000] [--embedder NAME] [--sample 500] [--home DIR]
    python -m benchmarks.bench_ingest --home DIR --again     # only unchanged re-runs, 3 times
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

from benchmarks import synthetic
from ingest.pipeline import ingest_paths
from ingest.records import ProductRecord
from shop.db import open_database
from shop.embedders import get_embedder
from shop.money import Money
from shop.settings import Settings


def write_catalog(path: Path, rows: int) -> list[synthetic.SyntheticProduct]:
    items = synthetic.products(rows, seed=5)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(synthetic.CSV_HEADER)
        writer.writerows(item.csv_row() for item in items)
    return items


def rerun_only(rows: int, embedder_name: str, home: Path, times: int = 3) -> list[float]:
    """Unchanged re-runs on a home a previous run kept (``--home DIR --again``)."""
    settings = Settings(home=home / "home", embedder=embedder_name, max_rows=max(rows, 1000))
    db = open_database(settings)
    seconds: list[float] = []
    try:
        for _ in range(times):
            started = time.perf_counter()
            report = ingest_paths(settings, db, [home / "catalog.csv"], "bench")
            seconds.append(time.perf_counter() - started)
            print(
                f"  unchanged re-run: {seconds[-1]:.2f} s, {report.counts['embedded']} embedded", flush=True
            )
    finally:
        db.dispose()
    return seconds


def run(rows: int, embedder_name: str, sample: int, home: Path) -> dict[str, float]:
    print(f"ingest benchmark: {rows:,} rows, embedder {embedder_name}", flush=True)
    catalog = home / "catalog.csv"
    items = write_catalog(catalog, rows)
    embedder = get_embedder(embedder_name)
    texts = [
        ProductRecord(
            sku=p.sku, title=p.title, price=Money(p.price_minor, "EUR"), description=p.description,
            category=p.category, brand=p.brand, attributes={"color": p.color, "size": p.size},
        ).embed_text()
        for p in items[-sample:]
    ]  # fmt: skip
    embedder.embed_documents(texts[:8])  # load the model outside the timing
    started = time.perf_counter()
    embedder.embed_documents(texts)
    bare_rate = len(texts) / (time.perf_counter() - started)
    print(f"  bare embedder: {bare_rate:,.1f} texts/s ({len(texts)} texts)", flush=True)
    settings = Settings(home=home / "home", embedder=embedder_name, max_rows=max(rows, 1000))
    db = open_database(settings)
    try:
        started = time.perf_counter()
        first = ingest_paths(settings, db, [catalog], "bench")
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        second = ingest_paths(settings, db, [catalog], "bench")
        second_s = time.perf_counter() - started
    finally:
        db.dispose()
    rate = rows / first_s
    print(f"  first ingest: {first_s:.1f} s = {rate:,.1f} rows/s ({first.counts['embedded']} embedded), "
          f"{rate / bare_rate:.0%} of the bare embedder rate")  # fmt: skip
    print(f"  unchanged re-run: {second_s:.2f} s, {second.counts['embedded']} embedded "
          f"(target: 0 embedded, < 5 s): {'OK' if second.counts['embedded'] == 0 and second_s < 5 else 'MISSED'}")  # fmt: skip
    return {
        "bare_texts_per_s": bare_rate,
        "ingest_rows_per_s": rate,
        "ratio": rate / bare_rate,
        "rerun_s": second_s,
        "rerun_embedded": float(second.counts["embedded"]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--embedder", default="multilingual")
    parser.add_argument("--sample", type=int, default=500, help="texts embedded to measure the bare rate")
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument(
        "--again", action="store_true", help="with --home of an earlier run: time 3 unchanged re-runs only"
    )
    args = parser.parse_args(argv)
    if args.again:
        if args.home is None or not (args.home / "catalog.csv").exists():
            parser.error("--again needs --home DIR of an earlier run")
        rerun_only(args.rows, args.embedder, args.home)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(args.rows, args.embedder, min(args.sample, args.rows), args.home or Path(tmp))


if __name__ == "__main__":
    main()
