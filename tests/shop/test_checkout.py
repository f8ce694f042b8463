import threading

import pytest
from sqlalchemy import func, select

from shop import carts, checkout
from shop.db import Database
from shop.errors import Conflict, IdempotencyMismatch, InvalidRequest, NotConfirmed, OutOfStock
from shop.models import Order, OrderEvent, Product
from shop.payments import ManualProvider, TestProvider


def _prepared(
    db: Database, session_id: str = "sess", sku: str = "TENT-1", qty: int = 1, email: str = "a@example.com"
):
    with db.session() as s:
        carts.add_item(s, "m1", session_id, sku, qty)
        return checkout.prepare(s, "m1", session_id, email=email)


def _stock(db: Database, sku: str) -> int | None:
    with db.session() as s:
        return s.scalar(select(Product.stock).where(Product.sku == sku))


def _orders(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count(Order.id))) or 0)


def test_prepare_freezes_lines_and_totals_with_shipping(db):
    summary = _prepared(db, qty=1)
    assert summary.subtotal.minor == 24900
    assert summary.shipping.minor == 0  # free over 75.00
    assert summary.total.minor == 24900
    with db.session() as s:
        carts.add_item(s, "m1", "small", "MUG-1", 1)
        small = checkout.prepare(s, "m1", "small", email="b@example.com")
        express = checkout.prepare(s, "m1", "small", email="b@example.com", shipping_method="express")
    assert small.shipping.minor == 499 and small.total.minor == 1250 + 499
    assert express.shipping.minor == 1290


def test_prepare_rejects_empty_cart_and_unknown_method(db):
    with db.session() as s, pytest.raises(InvalidRequest, match="empty"):
        checkout.prepare(s, "m1", "empty")
    with db.session() as s:
        carts.add_item(s, "m1", "x", "MUG-1")
        with pytest.raises(InvalidRequest, match="shipping method"):
            checkout.prepare(s, "m1", "x", shipping_method="drone")


def test_confirm_places_one_order_with_snapshot_and_event(db):
    summary = _prepared(db, qty=2)
    order = checkout.confirm(db, "m1", "sess", summary.checkout_id, "key-1", TestProvider())
    assert order.status == "paid"
    assert _stock(db, "TENT-1") == 3
    with db.session() as s:
        stored = s.scalar(select(Order).where(Order.order_id == order.order_id))
        assert stored is not None
        assert [(line.sku, line.title, line.unit_price_minor, line.quantity) for line in stored.lines] == [
            ("TENT-1", "Trail Tent", 24900, 2)
        ]
        assert (
            stored.total_minor
            == sum(line.unit_price_minor * line.quantity for line in stored.lines) + stored.shipping_minor
        )
        assert [e.kind for e in s.scalars(select(OrderEvent))] == ["placed"]
        assert carts.view_cart(s, "m1", "sess").lines == []  # cart emptied


def test_price_change_after_prepare_does_not_change_what_is_charged(db):
    summary = _prepared(db)
    with db.session() as s:
        product = s.scalar(select(Product).where(Product.sku == "TENT-1"))
        assert product is not None
        product.price_minor = 100
    provider = TestProvider()
    order = checkout.confirm(db, "m1", "sess", summary.checkout_id, "k", provider)
    assert order.total_minor == 24900
    assert provider.charged[0].total.minor == 24900


def test_manual_provider_leaves_order_pending_with_instructions(db):
    summary = _prepared(db)
    order = checkout.confirm(db, "m1", "sess", summary.checkout_id, "k", ManualProvider())
    assert order.status == "pending"
    assert order.order_id in order.extra["payment_instructions"]


def test_idempotent_replay_returns_same_order(db):
    summary = _prepared(db)
    first = checkout.confirm(db, "m1", "sess", summary.checkout_id, "same-key", TestProvider())
    again = checkout.confirm(db, "m1", "sess", summary.checkout_id, "same-key", TestProvider())
    assert again.order_id == first.order_id
    assert _orders(db) == 1
    assert _stock(db, "TENT-1") == 4


def test_same_key_different_body_is_refused(db):
    summary = _prepared(db)
    checkout.confirm(db, "m1", "sess", summary.checkout_id, "k1", TestProvider())
    other = _prepared(db, session_id="other", sku="MUG-1")
    with pytest.raises(IdempotencyMismatch):
        checkout.confirm(db, "m1", "other", other.checkout_id, "k1", TestProvider())


def test_second_key_for_same_checkout_still_gives_one_order(db):
    summary = _prepared(db)
    a = checkout.confirm(db, "m1", "sess", summary.checkout_id, "k1", TestProvider())
    b = checkout.confirm(db, "m1", "sess", summary.checkout_id, "k2", TestProvider())
    assert a.order_id == b.order_id and _orders(db) == 1


def test_concurrent_duplicate_key_is_a_conflict(db, monkeypatch):
    summary = _prepared(db)
    inside = threading.Event()
    release = threading.Event()
    slow = TestProvider()
    original = slow.start

    def blocking_start(request):
        inside.set()
        release.wait(10)
        return original(request)

    monkeypatch.setattr(slow, "start", blocking_start)
    results: list[object] = []
    t = threading.Thread(
        target=lambda: results.append(checkout.confirm(db, "m1", "sess", summary.checkout_id, "dup", slow))
    )
    t.start()
    assert inside.wait(10)
    with pytest.raises(Conflict, match="still being processed"):
        checkout.confirm(db, "m1", "sess", summary.checkout_id, "dup", TestProvider())
    release.set()
    t.join(10)
    assert len(results) == 1 and _orders(db) == 1


def test_failed_confirm_releases_key_and_keeps_state(db):
    summary = _prepared(db, sku="LAMP-1")
    with db.session() as s:
        s.scalar(select(Product).where(Product.sku == "LAMP-1")).stock = 0  # type: ignore[union-attr]
    with pytest.raises(OutOfStock, match="sold out"):
        checkout.confirm(db, "m1", "sess", summary.checkout_id, "k", TestProvider())
    assert _orders(db) == 0
    with db.session() as s:
        s.scalar(select(Product).where(Product.sku == "LAMP-1")).stock = 1  # type: ignore[union-attr]
    assert checkout.confirm(db, "m1", "sess", summary.checkout_id, "k", TestProvider()).status == "paid"


def test_changed_cart_cannot_be_confirmed_blindly(db):
    summary = _prepared(db)
    with db.session() as s:
        carts.add_item(s, "m1", "sess", "MUG-1")
    with pytest.raises(Conflict, match="cart changed"):
        checkout.confirm(db, "m1", "sess", summary.checkout_id, "k", TestProvider())
    assert _orders(db) == 0


def test_recorded_confirmation_required_on_agent_path(db):
    summary = _prepared(db)
    with pytest.raises(NotConfirmed):
        checkout.confirm(
            db, "m1", "sess", summary.checkout_id, "k", TestProvider(), require_recorded_confirmation=True
        )
    with db.session() as s:
        checkout.record_confirmation(s, "m1", "sess", summary.checkout_id)
    order = checkout.confirm(
        db, "m1", "sess", summary.checkout_id, "k2", TestProvider(), require_recorded_confirmation=True
    )
    assert order.status == "paid"


def test_other_session_cannot_confirm(db):
    summary = _prepared(db)
    with pytest.raises(Exception, match="unknown checkout"):
        checkout.confirm(db, "m1", "intruder", summary.checkout_id, "k", TestProvider())


def test_missing_email_refused(db):
    summary = _prepared(db, email="")
    with pytest.raises(InvalidRequest, match="email"):
        checkout.confirm(db, "m1", "sess", summary.checkout_id, "k", TestProvider())


def _race(db: Database, n: int = 20) -> tuple[int, list[str]]:
    checkouts = []
    for i in range(n):
        checkouts.append((f"s{i}", _prepared(db, session_id=f"s{i}", sku="LAMP-1").checkout_id))
    barrier = threading.Barrier(n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def buy(session_id: str, checkout_id: str) -> None:
        barrier.wait()
        try:
            checkout.confirm(db, "m1", session_id, checkout_id, f"key-{session_id}", TestProvider())
            result = "order"
        except OutOfStock:
            result = "refused"
        except Exception as exc:  # anything else is a bug the test reports
            result = f"error: {exc!r}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=buy, args=c) for c in checkouts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes.count("order"), outcomes


def test_twenty_concurrent_buyers_of_last_unit_sqlite(db):
    orders, outcomes = _race(db)
    assert orders == 1, outcomes
    assert outcomes.count("refused") == 19, outcomes
    assert _stock(db, "LAMP-1") == 0 and _orders(db) == 1


@pytest.mark.postgres
def test_twenty_concurrent_buyers_of_last_unit_postgres(pg_db):
    orders, outcomes = _race(pg_db)
    assert orders == 1, outcomes
    assert outcomes.count("refused") == 19, outcomes
    assert _stock(pg_db, "LAMP-1") == 0 and _orders(pg_db) == 1
