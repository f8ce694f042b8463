"""On PostgreSQL: concurrent producers write one reminder per cart, and concurrent workers claim
each reminder once (``FOR UPDATE SKIP LOCKED`` and the unique cart id)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from agent.state import load_or_create
from shop import reminders, shoppers
from shop.carts import add_item
from shop.db import Database
from shop.models import CartReminder, Merchant, Product, utcnow
from shop.settings import Settings
from tests.conftest import fresh_postgres

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg() -> Iterator[Database]:
    with fresh_postgres("shopagent_retention_test") as database:
        with database.session() as session:
            session.add(Merchant(id="m", name="M", currency="EUR", languages=["en"], settings={}))
            session.flush()
            session.add(
                Product(
                    merchant_id="m", sku="S1", title="Stove", price_minor=4500, currency="EUR", stock=None
                )
            )
        yield database


def _run_together(n: int, work: object) -> None:
    barrier = threading.Barrier(n)

    def run() -> None:
        barrier.wait()
        work()  # type: ignore[operator]

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_concurrent_workers_write_and_claim_each_reminder_once(pg: Database) -> None:
    settings = Settings(_env_file=None, smtp_host="127.0.0.1", cart_reminder_minutes=1)  # type: ignore[call-arg]
    for i in range(6):
        sid = f"pg-session-{i:010d}"
        load_or_create(pg, "m", sid)
        with pg.session() as session:
            add_item(session, "m", sid, "S1", 1)
            shoppers.allow_contact(session, "m", sid, "web", f"s{i}@example.com", "en")
    later = utcnow() + timedelta(minutes=5)
    written: list[int] = []
    _run_together(4, lambda: written.append(reminders.produce(pg, settings, later)))
    with pg.session() as session:
        rows = session.scalars(select(CartReminder)).all()
    assert len(rows) == 6 and sum(written) == 6
    claimed: list[int] = []
    _run_together(4, lambda: claimed.extend(item.id for item in reminders.claim_due(pg, later)))
    assert sorted(claimed) == sorted(r.id for r in rows)  # every reminder claimed exactly once
