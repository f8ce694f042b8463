"""Fixtures for the commerce domain: a migrated database with one small store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from shop.db import Database
from shop.models import Merchant, Product

PG_URL = os.environ.get("SHOPAGENT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def seed(db: Database, merchant_id: str = "m1") -> None:
    with db.session() as s:
        s.add(
            Merchant(
                id=merchant_id,
                name="Test Shop",
                currency="EUR",
                languages=["en"],
                settings={"shipping": {"rate": "4.99", "free_over": "75.00", "express_rate": "12.90"}},
            )
        )
        s.add_all(
            [
                Product(
                    merchant_id=merchant_id,
                    sku="TENT-1",
                    title="Trail Tent",
                    price_minor=24900,
                    currency="EUR",
                    stock=5,
                ),
                Product(
                    merchant_id=merchant_id,
                    sku="MUG-1",
                    title="Camp Mug",
                    price_minor=1250,
                    currency="EUR",
                    stock=None,
                ),
                Product(
                    merchant_id=merchant_id,
                    sku="LAMP-1",
                    title="Head Lamp",
                    price_minor=3999,
                    currency="EUR",
                    stock=1,
                ),
                Product(
                    merchant_id=merchant_id,
                    sku="SOLD-1",
                    title="Sold Out Stove",
                    price_minor=5000,
                    currency="EUR",
                    stock=0,
                ),
                Product(
                    merchant_id=merchant_id,
                    sku="USD-1",
                    title="Import Knife",
                    price_minor=2000,
                    currency="USD",
                    stock=3,
                ),
            ]
        )


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'shop.db'}")
    database.migrate()
    seed(database)
    yield database
    database.dispose()


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=2):
            return None
    except Exception as exc:  # any failure means: no server to test against
        return f"PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__}"


@pytest.fixture
def pg_db() -> Iterator[Database]:
    reason = _pg_available()
    if reason:
        pytest.skip(reason)
    database = Database(PG_URL)
    with database.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS shopagent_test CASCADE"))
        conn.execute(text("CREATE SCHEMA shopagent_test"))
    database.dispose()
    database = Database(PG_URL)
    # Isolate the test in its own schema so it never touches other tables in `test`.
    from sqlalchemy import event

    @event.listens_for(database.engine, "connect")
    def _search_path(dbapi_conn, _rec):  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute("SET search_path TO shopagent_test")
        cur.close()
        dbapi_conn.commit()

    database.migrate()
    seed(database)
    yield database
    database.dispose()
    cleanup = Database(PG_URL)
    with cleanup.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS shopagent_test CASCADE"))
    cleanup.dispose()
