"""On PostgreSQL: concurrent retries of one update are claimed once, and two workers never post
the same delivery (``FOR UPDATE SKIP LOCKED``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from channels import dedup, outbox, webhooks
from shop import orders
from shop.db import Database
from shop.models import Merchant, Order, OrderLine
from tests.conftest import fresh_postgres

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg() -> Iterator[Database]:
    with fresh_postgres("shopagent_channels_test") as database:
        yield database


def test_concurrent_retries_of_one_update_are_claimed_once(pg: Database) -> None:
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        results.append(dedup.claim(pg, "telegram", "4242", "m"))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


def test_two_workers_never_post_the_same_delivery(pg: Database) -> None:
    outbox.install()
    with pg.session() as s:
        s.add(Merchant(id="m", name="M"))
        s.flush()
        for i in range(20):
            order = Order(merchant_id="m", order_id=f"A{i}", email="a@b.c", status="paid", currency="EUR")
            order.lines.append(
                OrderLine(sku="X", title="x", unit_price_minor=100, currency="EUR", quantity=1)
            )
            s.add(order)
    with pg.session() as s:
        for i in range(20):
            orders.cancel(s, "m", f"A{i}", "a@b.c")
        webhooks.add_endpoint(s, "m", "https://erp.example/hooks", [])
    now = datetime.now(UTC)
    assert webhooks.dispatch(pg, now) == 20
    posted: list[str] = []
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            posted.append(request.headers["X-Shopagent-Delivery"])
        return httpx.Response(200)

    barrier = threading.Barrier(2)
    policy = webhooks.RetryPolicy(resolve=lambda host, port: ["93.184.215.14"])  # no DNS in tests

    def work() -> None:
        client = httpx.Client(transport=httpx.MockTransport(handler))
        barrier.wait()
        while webhooks.deliver_due(pg, client, now, policy, limit=3)["delivered"]:
            pass

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(posted) == 20 and len(set(posted)) == 20
