"""C4, C5: a process killed in the middle of checkout confirm or ingest loses nothing and
doubles nothing once it is restarted.

A child process runs the real code with a hook at a chosen point: the hook writes a barrier
file and sleeps, and the test SIGKILLs the child there (no cleanup, no ``finally``). The
test then plays the restart: a fresh connection to the same database (and vector store)
checks that nothing partial survived, and retries the work.

- confirm, killed after claiming the Idempotency-Key or inside the order transaction (all
  rows flushed, not committed): no order, no order lines or events, stock and cart as they
  were. A retry with the same key answers 409 while the claim could still be live, takes the
  abandoned claim over once it is stale, and then places exactly one order, charged once.
- ingest, killed inside the database transaction, after it (before the vector store), or
  halfway through the vector writes: the database holds the old or the new catalog, never
  a mix; retrieval never shows a product the database lacks; the next ingest run repairs
  the vector store to match the database exactly, and the run after that embeds nothing.

SQLite always; PostgreSQL too for confirm (skipped with the reason when the server is absent).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from shop import carts, checkout
from shop.db import Database, open_database
from shop.errors import Conflict
from shop.models import (
    Cart,
    CartLine,
    Checkout,
    DocChunk,
    IdempotencyKey,
    IngestState,
    Order,
    OrderEvent,
    OrderLine,
    Product,
    utcnow,
)
from shop.payments import TestProvider
from shop.settings import Settings
from tests.shop.conftest import seed

REPO = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("SHOPAGENT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SHOP = "m1"
SESSION = "crash-session-000000000001"
KEY = "confirm-key-1"
INGESTED = "ingested"


# -- the child: runs real code and halts at the chosen point ----------------------------------
def _halt(barrier: Path) -> Callable[..., Any]:
    def halt(*_args: Any, **_kwargs: Any) -> Any:
        barrier.write_text("reached")
        time.sleep(120)  # the parent SIGKILLs us here
        os._exit(3)

    return halt


def child(argv: list[str]) -> None:
    """``confirm POINT BARRIER URL CHECKOUT_ID`` or ``ingest POINT BARRIER HOME FIRST SECOND``."""
    mode, point, barrier = argv[0], argv[1], Path(argv[2])
    halt = _halt(barrier)
    if mode == "confirm":
        url, checkout_id = argv[3], argv[4]
        if point == "after_claim":
            setattr(checkout, "_place", halt)  # noqa: B010
        elif point == "before_commit":
            clear = carts.clear_cart

            def clear_then_halt(session: Any, merchant_id: str, session_id: str) -> None:
                clear(session, merchant_id, session_id)
                session.flush()  # every row of the order is sent to the database, uncommitted
                halt()

            setattr(checkout, "clear_cart", clear_then_halt)  # noqa: B010
        checkout.confirm(Database(url), SHOP, SESSION, checkout_id, KEY, TestProvider())
        raise SystemExit(f"confirm finished without reaching {point}")
    from ingest import pipeline, store_writer
    from shop.vectors import VectorStore

    home, first, second = Path(argv[3]), Path(argv[4]), Path(argv[5])
    settings = Settings(_env_file=None, home=home, embedder="hash")  # type: ignore[call-arg]
    db = open_database(settings)
    assert pipeline.ingest_paths(settings, db, [first], INGESTED).exit_code == 0
    if point == "in_transaction":
        write = store_writer.write_documents

        def write_then_halt(session: Any, *args: Any) -> Any:
            write(session, *args)
            session.flush()
            halt()

        setattr(pipeline, "write_documents", write_then_halt)  # noqa: B010
    elif point == "before_vectors":
        setattr(pipeline, "apply_work", halt)  # noqa: B010
    elif point == "mid_vectors":
        setattr(VectorStore, "delete", halt)  # noqa: B010  # products upserted; deletes and chunks not
    pipeline.ingest_paths(settings, db, [second], INGESTED)
    raise SystemExit(f"ingest finished without reaching {point}")


class Child:
    """A child process running ``child(args)``; :meth:`kill_at_barrier` SIGKILLs it at its hook.
    Children start at once and are killed together, so a test file with several waits once."""

    def __init__(self, folder: Path, *args: str) -> None:
        self.barrier = folder / "barrier"
        self.log = folder / "child.log"
        code = "import sys; from tests.reliability.test_db_crash import child; child(sys.argv[1:])"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", code, args[0], args[1], str(self.barrier), *args[2:]],
                cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO)},
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def kill_at_barrier(self) -> None:
        try:
            deadline = time.monotonic() + 120
            while not self.barrier.exists():
                if self.proc.poll() is not None:
                    tail = self.log.read_text(errors="replace")[-3000:]
                    pytest.fail(f"the child ended ({self.proc.returncode}) before its kill point:\n{tail}")
                if time.monotonic() > deadline:
                    pytest.fail("the child never reached its kill point")
                time.sleep(0.02)
            os.kill(self.proc.pid, signal.SIGKILL)
            assert self.proc.wait(30) == -signal.SIGKILL
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(30)


# -- checkout confirm ---------------------------------------------------------------------------
def _count(session: Any, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _snapshot(db: Database) -> dict[str, Any]:
    with db.session() as s:
        return {
            "orders": _count(s, Order),
            "lines": _count(s, OrderLine),
            "events": _count(s, OrderEvent),
            "stock": dict(
                s.execute(select(Product.sku, Product.stock).where(Product.merchant_id == SHOP)).all()
            ),
            "cart": dict(
                s.execute(
                    select(CartLine.sku, CartLine.quantity).join(Cart).where(Cart.session_id == SESSION)
                ).all()
            ),
            "checkout": tuple(s.execute(select(Checkout.status, Checkout.order_id)).one()),
        }


def _prepare(db: Database) -> str:
    with db.session() as s:
        carts.add_item(s, SHOP, SESSION, "TENT-1", 2)
        carts.add_item(s, SHOP, SESSION, "LAMP-1", 1)  # the last one in stock
        summary = checkout.prepare(s, SHOP, SESSION, "ruta@example.com")
        checkout.record_confirmation(s, SHOP, SESSION, summary.checkout_id)
        return summary.checkout_id


def _recover_confirm(url: str, checkout_id: str, before: dict[str, Any]) -> None:
    restarted = Database(url)  # the restart: a new process's view of the database
    try:
        if restarted.is_sqlite:
            with restarted.session() as s:
                assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        assert _snapshot(restarted) == before  # no order, no lines, no events, stock and cart kept
        with restarted.session() as s:
            claim = s.get(IdempotencyKey, (SHOP, KEY))
            assert claim is not None and claim.status == "started" and claim.order_id is None

        payment = TestProvider()
        # Within the claim's lease the first request might still be running: refuse, as for a duplicate.
        with pytest.raises(Conflict, match="still being processed"):
            checkout.confirm(restarted, SHOP, SESSION, checkout_id, KEY, payment)
        assert payment.charged == []
        # Past the lease the claim is known abandoned: the retry takes it over and places the order once.
        with restarted.session() as s:
            s.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.key == KEY)
                .values(created_at=utcnow() - checkout.CLAIM_TIMEOUT - timedelta(seconds=1))
            )
        order = checkout.confirm(restarted, SHOP, SESSION, checkout_id, KEY, payment)
        again = checkout.confirm(restarted, SHOP, SESSION, checkout_id, KEY, payment)
        assert again.order_id == order.order_id
        after = _snapshot(restarted)
        assert after["orders"] == before["orders"] + 1 and after["lines"] == before["lines"] + 2
        assert after["stock"] == {**before["stock"], "TENT-1": 3, "LAMP-1": 0}
        assert after["cart"] == {} and after["checkout"] == ("placed", order.order_id)
        assert [p.total.minor for p in payment.charged] == [order.total_minor] == [2 * 24900 + 3999]
    finally:
        restarted.dispose()


def _pg_schema(name: str) -> str | None:
    """A fresh schema in the test database; the URL using it, or None without a server."""
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=2, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
            admin.execute(f"CREATE SCHEMA {name}")
    except Exception:  # any failure means: no server to test against
        return None
    return f"{PG_URL}?options=-csearch_path%3D{name}"


def _drop_pg_schema(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=2, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


# -- ingest -----------------------------------------------------------------------------------
V1_CATALOG = """id,title,price,currency,stock,description
A,Alpha Lantern,10.00,EUR,5,A bright camping lantern.
B,Beta Kettle,20.00,EUR,3,A light titanium kettle.
C,Gamma Chair,30.00,EUR,2,A folding camp chair.
"""
V2_CATALOG = """id,title,price,currency,stock,description
A,Alpha Lantern,12.00,EUR,5,A bright camping lantern.
C,Gamma Chair,30.00,EUR,2,A folding camp chair with a cup holder.
D,Delta Stove,45.00,EUR,7,A compact gas stove.
"""
V1_POLICY = "# Returns\n\nYou can return unused items within 30 days of delivery.\n"
V2_POLICY = "# Returns\n\nYou can return unused items within 45 days of delivery.\n\n## Refunds\n\nRefunds take 7 days.\n"


def _write_versions(tmp_path: Path) -> tuple[Path, Path]:
    folders = []
    for version, (catalog, policy) in enumerate([(V1_CATALOG, V1_POLICY), (V2_CATALOG, V2_POLICY)], start=1):
        folder = tmp_path / f"v{version}"
        folder.mkdir()
        (folder / "products.csv").write_text(catalog)
        (folder / "returns.md").write_text(policy)
        folders.append(folder)
    return folders[0], folders[1]


def _db_state(db: Database) -> tuple[dict[str, str], dict[str, str]]:
    with db.session() as s:
        products = dict(
            s.execute(
                select(Product.sku, Product.content_hash).where(
                    Product.merchant_id == INGESTED, Product.active.is_(True)
                )
            ).all()
        )
        chunks = dict(
            s.execute(
                select(DocChunk.chunk_id, DocChunk.content_hash).where(DocChunk.merchant_id == INGESTED)
            ).all()
        )
    return products, chunks


# -- every child starts at once, and is killed at its point ------------------------------------
CONFIRM_POINTS = ("after_claim", "before_commit")
INGEST_POINTS = ("in_transaction", "before_vectors", "mid_vectors")


@dataclass
class Crashed:
    """What a killed child left behind, and what the test needs to check it."""

    url: str = ""
    checkout_id: str = ""
    before: dict[str, Any] = field(default_factory=dict)
    home: Path = Path()
    second: Path = Path()


@dataclass
class Crashes:
    runs: dict[tuple[str, str], Crashed]
    pg_missing: str = ""

    def get(self, database: str, point: str) -> Crashed:
        if database == "postgres" and self.pg_missing:
            pytest.skip(self.pg_missing)
        return self.runs[(database, point)]


def _confirm_child(folder: Path, url: str, point: str) -> tuple[Child, Crashed]:
    db = Database(url)
    checkout_id = _prepare(db)
    before = _snapshot(db)
    db.dispose()
    return Child(folder, "confirm", point, url, checkout_id), Crashed(url, checkout_id, before)


@pytest.fixture(scope="module")
def crashes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crashes]:
    template = tmp_path_factory.mktemp("template") / "shop.db"
    db = Database(f"sqlite:///{template}")
    db.migrate()
    seed(db, SHOP)
    db.dispose()
    children: list[Child] = []
    runs: dict[tuple[str, str], Crashed] = {}
    for point in INGEST_POINTS:  # the slowest children first
        folder = tmp_path_factory.mktemp(f"ingest-{point}")
        first, second = _write_versions(folder)
        home = folder / "home"
        children.append(Child(folder, "ingest", point, str(home), str(first), str(second)))
        runs[("sqlite", point)] = Crashed(home=home, second=second)
    for point in CONFIRM_POINTS:
        folder = tmp_path_factory.mktemp(f"confirm-{point}")
        shutil.copyfile(template, folder / "shop.db")
        started, runs[("sqlite", point)] = _confirm_child(folder, f"sqlite:///{folder / 'shop.db'}", point)
        children.append(started)
    schemas = [f"reliability_crash_{os.getpid()}_{n}" for n in range(len(CONFIRM_POINTS))]
    missing = ""
    for point, schema in zip(CONFIRM_POINTS, schemas, strict=True):
        url = _pg_schema(schema)
        if url is None:
            missing = f"PostgreSQL not reachable at {PG_URL}"
            break
        pg = Database(url)
        pg.migrate()
        seed(pg, SHOP)
        pg.dispose()
        started, runs[("postgres", point)] = _confirm_child(
            tmp_path_factory.mktemp(f"pg-{point}"), url, point
        )
        children.append(started)
    try:
        for started in children:
            started.kill_at_barrier()
        yield Crashes(runs, missing)
    finally:
        for started in children:
            if started.proc.poll() is None:
                started.proc.kill()
        if not missing:
            for schema in schemas:
                _drop_pg_schema(schema)


# -- the tests: restart, check, retry ---------------------------------------------------------
@pytest.mark.parametrize("point", CONFIRM_POINTS)
def test_a_confirm_killed_midway_leaves_no_partial_order_sqlite(crashes: Crashes, point: str) -> None:
    run = crashes.get("sqlite", point)
    _recover_confirm(run.url, run.checkout_id, run.before)


@pytest.mark.postgres
@pytest.mark.parametrize("point", CONFIRM_POINTS)
def test_a_confirm_killed_midway_leaves_no_partial_order_postgres(crashes: Crashes, point: str) -> None:
    run = crashes.get("postgres", point)
    _recover_confirm(run.url, run.checkout_id, run.before)


@pytest.mark.parametrize("point", INGEST_POINTS)
def test_an_ingest_killed_midway_is_repaired_by_the_next_run(crashes: Crashes, point: str) -> None:
    from agent.retrieval import build_retriever
    from ingest.pipeline import ingest_paths
    from shop.vectors import forget_vector_stores, open_vector_store
    from tests.ingest.support import CountingEmbedder

    run = crashes.get("sqlite", point)
    settings = Settings(_env_file=None, home=run.home, embedder="hash")  # type: ignore[call-arg]
    db = open_database(settings)  # the restart
    try:
        with db.session() as s:
            assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            runs = list(s.scalars(select(IngestState.status).order_by(IngestState.id)))
        products, chunks = _db_state(db)
        if point == "in_transaction":  # rolled back whole: the first version, nothing of the second
            assert set(products) == {"A", "B", "C"} and runs == ["done"]
        else:  # committed whole: the second version; the run never finished
            assert set(products) == {"A", "C", "D"} and runs == ["done", "running"]

        # Before any repair, retrieval shows only what the database has, at the database's prices.
        retriever = build_retriever(settings, db)
        for query in ("Beta Kettle", "Delta Stove", "Alpha Lantern", "camp chair"):
            for hit in retriever.search_products(INGESTED, query):
                assert hit.sku in products, f"{hit.sku} shown but not in the database"
                with db.session() as s:
                    stored = s.scalar(
                        select(Product.price_minor).where(
                            Product.merchant_id == INGESTED, Product.sku == hit.sku
                        )
                    )
                assert hit.price.minor == stored

        vectors = open_vector_store(settings)
        embedder = CountingEmbedder()
        repaired = ingest_paths(settings, db, [run.second], INGESTED, embedder=embedder, vectors=vectors)
        assert repaired.exit_code == 0, repaired.errors
        products, chunks = _db_state(db)
        assert set(products) == {"A", "C", "D"}
        stamps = vectors.stamps(INGESTED, "products", embedder.name)
        assert {sku: s["content_hash"] for sku, s in stamps.items()} == products
        chunk_stamps = vectors.stamps(INGESTED, "chunks", embedder.name)
        assert {cid: s["content_hash"] for cid, s in chunk_stamps.items()} == chunks
        if point != "in_transaction":
            assert repaired.counts["vectors_repaired"] > 0

        embedder.documents = 0
        unchanged = ingest_paths(settings, db, [run.second], INGESTED, embedder=embedder, vectors=vectors)
        assert unchanged.exit_code == 0 and embedder.documents == 0 and unchanged.counts["embedded"] == 0
        with db.session() as s:
            latest = s.scalar(select(IngestState.status).order_by(IngestState.id.desc()).limit(1))
        assert latest == "done"
    finally:
        db.dispose()
        forget_vector_stores()
