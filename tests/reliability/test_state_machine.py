"""C3, C4, C2: random interleavings of shoppers and the merchant never oversell, never
charge twice, and every order adds up to the snapshot of its lines.

A hypothesis state machine drives three shoppers (carts, two-step checkout with
Idempotency-Keys, cancellations, returns) and the merchant (re-uploads that set stock and
prices through ingest's own planner and writer, deliveries through order sync) against
one SQLite store. A model kept beside it tracks what stock must be after every event;
after every step the store is checked against it and against the rules that hold always:

- stock is never negative, and equals the merchant's last count minus units sold since,
  plus units cancelled or returned since (nothing oversold, nothing lost, nothing doubled);
- one order per placed checkout and per Idempotency-Key, replays give the same order, and
  the payment provider was asked exactly once per order, for exactly its total;
- an order's lines are the checkout's lines at the prices shown when it was prepared,
  whatever the merchant changed since, and subtotal, discount, shipping and total add up;
- a refused write changes nothing.

Concurrency of the same writes (threads racing for the last unit, two keys racing for one
checkout) is checked below the machine, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select, text

from channels.ordersync import OrderUpdate, apply
from ingest.plan import plan_products
from ingest.records import ProductRecord
from ingest.store_writer import write_products
from shop import carts, checkout, orders
from shop.db import Database
from shop.errors import Conflict, IdempotencyMismatch, InvalidRequest, NotFound, OutOfStock, ShopError
from shop.models import Checkout, Order, OrderEvent, OrderLine, Product
from shop.money import Money
from shop.payments import PaymentRequest, TestProvider
from tests.shop.conftest import PG_URL, seed

SHOP = "m1"
SHOPPERS = ("shopper-a-00000000000000", "shopper-b-00000000000000", "shopper-c-00000000000000")
TRACKED = ("TENT-1", "LAMP-1", "SOLD-1")
SKUS = (*TRACKED, "MUG-1")
"""MUG-1 has untracked stock (always available); SOLD-1 starts sold out."""


def email(shopper: str) -> str:
    return f"{shopper[:9]}@example.com"


@dataclass
class Placed:
    order_id: str
    shopper: str
    checkout_id: str
    lines: list[tuple[str, int, int]]
    """(sku, quantity, unit price in minor units) as the checkout summary showed them."""
    total_minor: int


@dataclass
class Prepared:
    checkout_id: str
    shopper: str
    lines: list[tuple[str, int, int]]
    total_minor: int
    keys: list[str] = field(default_factory=list)


class ShopMachine(RuleBasedStateMachine):
    template: Path
    folder: Path
    runs = 0

    checkouts = Bundle("checkouts")
    placed = Bundle("placed")

    def __init__(self) -> None:
        super().__init__()
        ShopMachine.runs += 1
        path = self.folder / f"run-{ShopMachine.runs}.db"
        shutil.copyfile(self.template, path)
        self.db = Database(f"sqlite:///{path}")
        self.payment = TestProvider()  # remembers every order it was asked to charge
        with self.db.session() as s:
            self.stock: dict[str, int] = {
                sku: int(stock or 0)
                for sku, stock in s.execute(
                    select(Product.sku, Product.stock).where(Product.sku.in_(TRACKED))
                )
            }
        self.orders: dict[str, Placed] = {}
        self.by_key: dict[str, str] = {}
        """Idempotency-Key -> order id it placed."""
        self.keys = 0

    def teardown(self) -> None:
        self.db.dispose()

    # -- helpers --------------------------------------------------------------------------
    def _unchanged_after(self, action: Any) -> ShopError:
        """Run a write the store should refuse; check that it refused and changed nothing."""
        before = self._fingerprint()
        try:
            action()
        except ShopError as exc:
            assert self._fingerprint() == before, f"refused ({exc}) but the store changed"
            return exc
        raise AssertionError("expected a refusal")

    def _fingerprint(self) -> tuple[Any, ...]:
        with self.db.session() as s:
            return (
                tuple(
                    s.execute(select(Product.sku, Product.stock, Product.price_minor).order_by(Product.sku))
                ),
                s.scalar(select(func.count()).select_from(Order)),
                s.scalar(select(func.count()).select_from(OrderEvent)),
                len(self.payment.charged),
            )

    def _enough(self, lines: list[tuple[str, int, int]]) -> bool:
        return all(sku not in self.stock or self.stock[sku] >= qty for sku, qty, _ in lines)

    # -- shoppers -------------------------------------------------------------------------
    @rule(shopper=st.sampled_from(SHOPPERS), sku=st.sampled_from(SKUS), quantity=st.integers(0, 4))
    def set_quantity(self, shopper: str, sku: str, quantity: int) -> None:
        try:
            with self.db.session() as s:
                carts.set_quantity(s, SHOP, shopper, sku, quantity)
        except OutOfStock:
            assert sku in self.stock and self.stock[sku] < quantity
        except NotFound:
            assert quantity == 0  # removing a line that is not there

    @rule(target=checkouts, shopper=st.sampled_from(SHOPPERS))
    def prepare(self, shopper: str) -> MultipleResults[Prepared]:
        try:
            with self.db.session() as s:
                summary = checkout.prepare(s, SHOP, shopper, email(shopper))
        except (InvalidRequest, OutOfStock):
            return multiple()  # an empty cart, or more than is in stock: refused, nothing frozen
        lines = [(x["sku"], x["quantity"], x["unit_price_minor"]) for x in summary.lines]
        assert self._enough(lines)
        assert summary.total == summary.subtotal - summary.discount + summary.shipping
        assert summary.subtotal.minor == sum(q * p for _, q, p in lines)
        return multiple(Prepared(summary.checkout_id, shopper, lines, summary.total.minor))

    @rule(
        target=checkouts,
        shopper=st.sampled_from(SHOPPERS),
        sku=st.sampled_from(SKUS),
        quantity=st.integers(1, 3),
    )
    def add_and_prepare(self, shopper: str, sku: str, quantity: int) -> MultipleResults[Prepared]:
        """The common path: put something in the cart and go to checkout."""
        self.set_quantity(shopper, sku, quantity)
        return self.prepare(shopper)

    @rule(chosen=checkouts, replay=st.booleans())
    def confirm(self, chosen: Prepared, replay: bool) -> None:
        if replay and chosen.keys:
            key = chosen.keys[-1]  # a client retrying the same request
        else:
            self.keys += 1
            key = f"key-{self.keys}"
        enough = self._enough(chosen.lines)
        try:
            order = checkout.confirm(self.db, SHOP, chosen.shopper, chosen.checkout_id, key, self.payment)
        except OutOfStock:
            assert not enough
            event("confirm: sold out meanwhile")
            return
        except Conflict:
            assert key not in self.by_key, "a replay of a finished request must return its order"
            event("confirm: superseded or cart changed")
            return  # a newer checkout replaced it, or the cart changed since: nothing placed
        chosen.keys.append(key)
        if key in self.by_key:
            assert self.by_key[key] == order.order_id  # a replay returns the same order
        self.by_key[key] = order.order_id
        if order.order_id in self.orders:
            event("confirm: replay")
            return  # this checkout was placed before (with this key or another): same order
        event("confirm: placed")
        assert enough, "placed an order the stock could not cover"
        assert order.checkout_id == chosen.checkout_id
        for sku, qty, _ in chosen.lines:
            if sku in self.stock:
                self.stock[sku] -= qty
        self.orders[order.order_id] = Placed(
            order.order_id, chosen.shopper, chosen.checkout_id, chosen.lines, chosen.total_minor
        )

    @rule(shopper=st.sampled_from(SHOPPERS), sku=st.sampled_from(SKUS), quantity=st.integers(1, 2))
    def buy_now(self, shopper: str, sku: str, quantity: int) -> None:
        """Cart, checkout and confirm in one go, so that orders pile up for the other rules."""
        for prepared in self.add_and_prepare(shopper, sku, quantity).values:
            self.confirm(prepared, replay=False)

    @rule(chosen=checkouts)
    def a_key_reused_for_another_checkout_is_refused(self, chosen: Prepared) -> None:
        others = [
            k
            for k, order_id in self.by_key.items()
            if self.orders[order_id].checkout_id != chosen.checkout_id
        ]
        if not others:
            return
        error = self._unchanged_after(
            lambda: checkout.confirm(
                self.db, SHOP, chosen.shopper, chosen.checkout_id, others[0], self.payment
            )
        )
        assert isinstance(error, IdempotencyMismatch)
        event("confirm: key of another request refused")

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        if not self.orders:
            return
        placed = self.orders[data.draw(st.sampled_from(list(self.orders)))]
        with self.db.session() as s:
            status = s.scalar(select(Order.status).where(Order.order_id == placed.order_id))
            lines = {sku: (qty, done) for sku, qty, done in s.execute(
                select(OrderLine.sku, OrderLine.quantity, OrderLine.returned_quantity)
                .join(Order).where(Order.order_id == placed.order_id)
            )}  # fmt: skip
        if status not in orders.CANCELLABLE:
            self._unchanged_after(
                lambda: self._in_session(
                    lambda s: orders.cancel(s, SHOP, placed.order_id, email(placed.shopper))
                )
            )
            return
        with self.db.session() as s:
            orders.cancel(s, SHOP, placed.order_id, email(placed.shopper), "changed my mind")
        event("cancelled")
        for sku, (qty, done) in lines.items():
            if sku in self.stock:
                self.stock[sku] += qty - done

    @rule(data=st.data())
    def return_some(self, data: st.DataObject) -> None:
        if not self.orders:
            return
        placed = self.orders[data.draw(st.sampled_from(list(self.orders)))]
        sku, qty, _ = data.draw(st.sampled_from(placed.lines))
        wanted = data.draw(st.integers(1, qty + 1))
        with self.db.session() as s:
            status, returned = s.execute(
                select(Order.status, OrderLine.returned_quantity)
                .join(OrderLine)
                .where(Order.order_id == placed.order_id, OrderLine.sku == sku)
            ).one()
        if status not in orders.RETURNABLE or wanted > qty - returned:
            self._unchanged_after(
                lambda: self._in_session(
                    lambda s: orders.return_items(
                        s, SHOP, placed.order_id, email(placed.shopper), {sku: wanted}
                    )
                )
            )
            return
        with self.db.session() as s:
            result = orders.return_items(s, SHOP, placed.order_id, email(placed.shopper), {sku: wanted})
        event("returned")
        price = next(p for k, _, p in placed.lines if k == sku)
        assert Money.parse(result["refund"], "EUR").minor == price * wanted
        if sku in self.stock:
            self.stock[sku] += wanted

    def _in_session(self, action: Any) -> Any:
        with self.db.session() as s:
            return action(s)

    # -- the merchant ---------------------------------------------------------------------
    def _upload(self, sku: str, stock: int | None, price: int | None) -> None:
        """A re-uploaded catalog row through ingest's planner and writer: the merchant's stock
        count (None: as stored) and price (None: as stored).

        A row identical to the last upload of it changes nothing (ingest skips unchanged rows),
        so re-uploading an old export never undoes the sales made since; a changed row sets
        the merchant's count."""
        with self.db.session() as s:
            row = s.scalar(select(Product).where(Product.merchant_id == SHOP, Product.sku == sku))
            assert row is not None
            record = ProductRecord(
                sku=sku,
                title=row.title,
                price=Money(row.price_minor if price is None else price, row.currency),
                stock=None if sku not in TRACKED else row.stock if stock is None else stock,
                source_file="products.csv",
                source_line=1 + SKUS.index(sku),
            )
            changed = row.content_hash != record.content_hash
            write_products(s, SHOP, plan_products(s, SHOP, [record], set(), set()))
        if changed and record.stock is not None:
            self.stock[sku] = record.stock

    @rule(
        sku=st.sampled_from(SKUS),
        stock=st.one_of(st.none(), st.integers(0, 6)),
        price=st.sampled_from([999, 3999, 24900, 30000]),
    )
    def merchant_uploads(self, sku: str, stock: int | None, price: int) -> None:
        self._upload(sku, stock, price)

    @rule(chosen=checkouts, data=st.data())
    def merchant_sells_out_under_a_checkout(self, chosen: Prepared, data: st.DataObject) -> None:
        """The merchant's count drops below what a prepared checkout holds (sold in the shop),
        and the shopper confirms right then: refused, nothing taken."""
        tracked = [(sku, qty) for sku, qty, _ in chosen.lines if sku in TRACKED]
        if tracked:
            sku, qty = data.draw(st.sampled_from(tracked))
            self._upload(sku, qty - 1, None)
            self.confirm(chosen, replay=False)

    @rule(chosen=checkouts, data=st.data(), price=st.sampled_from([500, 99900]))
    def merchant_reprices_under_a_checkout(self, chosen: Prepared, data: st.DataObject, price: int) -> None:
        """A new price after the shopper saw the summary, and the shopper confirms right then:
        what was shown is what is charged (the invariants compare every line)."""
        sku = data.draw(st.sampled_from([sku for sku, _, _ in chosen.lines]))
        self._upload(sku, None, price)
        self.confirm(chosen, replay=False)

    @rule(data=st.data())
    def merchant_delivers(self, data: st.DataObject) -> None:
        if not self.orders:
            return
        order_id = data.draw(st.sampled_from(list(self.orders)))
        with self.db.session() as s:
            status = s.scalar(select(Order.status).where(Order.order_id == order_id))
            if status in ("paid", "shipped"):
                assert apply(s, SHOP, OrderUpdate(order_id, status="delivered")) == "updated"

    # -- what always holds ----------------------------------------------------------------
    @invariant()
    def stock_is_never_negative_and_matches_every_event(self) -> None:
        with self.db.session() as s:
            stored = dict(s.execute(select(Product.sku, Product.stock).where(Product.sku.in_(TRACKED))).all())
        assert all(v is not None and v >= 0 for v in stored.values()), stored
        assert stored == self.stock

    @invariant()
    def one_order_per_checkout_each_charged_once_for_its_total(self) -> None:
        with self.db.session() as s:  # a handful of queries, whatever the number of orders
            rows = s.execute(
                select(
                    Order.id,
                    Order.order_id,
                    Order.checkout_id,
                    Order.subtotal_minor,
                    Order.discount_minor,
                    Order.shipping_minor,
                    Order.total_minor,
                ).where(Order.source == "checkout")
            ).all()
            placed_checkouts = set(s.scalars(select(Checkout.id).where(Checkout.status == "placed")))
            lines: dict[int, list[tuple[str, int, int, int]]] = {}
            for pk, sku, qty, price, returned in s.execute(
                select(
                    OrderLine.order_pk,
                    OrderLine.sku,
                    OrderLine.quantity,
                    OrderLine.unit_price_minor,
                    OrderLine.returned_quantity,
                )
            ):
                lines.setdefault(pk, []).append((sku, qty, price, returned))
            refunded: dict[int, int] = {}
            for pk, data in s.execute(
                select(OrderEvent.order_pk, OrderEvent.data).where(OrderEvent.kind == "returned")
            ):
                refunded[pk] = refunded.get(pk, 0) + int(data["refund_minor"])
        assert {r.order_id for r in rows} == set(self.orders)
        assert sorted(r.checkout_id or "" for r in rows) == sorted(placed_checkouts)
        charged = [(c.order_id, c.total.minor) for c in self.payment.charged]
        assert sorted(charged) == sorted((r.order_id, r.total_minor) for r in rows)
        for row in rows:
            model = self.orders[row.order_id]
            snapshot = lines[row.id]
            assert sorted((sku, q, p) for sku, q, p, _ in snapshot) == sorted(model.lines)  # prices shown
            assert row.subtotal_minor == sum(q * p for _, q, p, _ in snapshot)
            assert row.total_minor == row.subtotal_minor - row.discount_minor + row.shipping_minor
            assert row.total_minor == model.total_minor
            assert all(0 <= returned <= q for _, q, _, returned in snapshot)
            assert refunded.get(row.id, 0) == sum(returned * p for _, _, p, returned in snapshot)


@pytest.fixture
def template(tmp_path: Path) -> Path:
    path = tmp_path / "template.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    seed(db, SHOP)
    db.dispose()
    return path


def test_random_shoppers_and_merchant_never_oversell_or_double_charge(template: Path, tmp_path: Path) -> None:
    ShopMachine.template, ShopMachine.folder = template, tmp_path
    run_state_machine_as_test(
        ShopMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=35,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


# -- the same writes, racing ----------------------------------------------------------------
def _race_one_checkout(db: Database) -> tuple[list[str], TestProvider]:
    """Two requests confirm one checkout at once with different keys (two browser tabs)."""
    with db.session() as s:
        carts.set_quantity(s, SHOP, SHOPPERS[0], "TENT-1", 1)
        summary = checkout.prepare(s, SHOP, SHOPPERS[0], email(SHOPPERS[0]))
    barrier = threading.Barrier(2)
    payment = TestProvider()
    original = payment.start

    def slow_start(request: PaymentRequest) -> Any:
        try:
            barrier.wait(1.0)  # hold the first one here until the second has had its chance
        except threading.BrokenBarrierError:
            pass
        return original(request)

    payment.start = slow_start  # type: ignore[method-assign]
    outcomes: list[str] = []
    lock = threading.Lock()

    def confirm(key: str) -> None:
        try:
            result = checkout.confirm(db, SHOP, SHOPPERS[0], summary.checkout_id, key, payment).order_id
        except Conflict as exc:
            result = f"conflict: {exc}"
        except Exception as exc:  # anything else is a bug the test reports
            result = f"error: {exc!r}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=confirm, args=(f"tab-{n}",)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes, payment


def _check_one_order(db: Database, outcomes: list[str], payment: TestProvider) -> None:
    placed = {o for o in outcomes if not o.startswith(("conflict", "error"))}
    assert len(placed) == 1 and not any(o.startswith("error") for o in outcomes), outcomes
    assert len(payment.charged) == 1, "the payment provider was asked twice for one checkout"
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Order).where(Order.source == "checkout")) == 1
        assert s.scalar(select(Product.stock).where(Product.sku == "TENT-1")) == 4


def test_two_tabs_confirming_one_checkout_place_and_charge_once_sqlite(
    template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "race.db"
    shutil.copyfile(template, path)
    db = Database(f"sqlite:///{path}")
    try:
        outcomes, payment = _race_one_checkout(db)
        _check_one_order(db, outcomes, payment)
    finally:
        db.dispose()


@pytest.fixture
def pg_db() -> Iterator[Database]:
    try:
        import psycopg

        admin = psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=2, autocommit=True)
    except Exception as exc:  # any failure means: no server to test against
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__}")
    schema = "reliability_state_machine"
    admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    admin.execute(f"CREATE SCHEMA {schema}")
    db = Database(f"{PG_URL}?options=-csearch_path%3D{schema}")
    try:
        db.migrate()
        seed(db, SHOP)
        yield db
    finally:
        db.dispose()
        admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.close()


@pytest.mark.postgres
def test_two_tabs_confirming_one_checkout_place_and_charge_once_postgres(pg_db: Database) -> None:
    with pg_db.session() as s:
        assert s.execute(text("SELECT current_schema()")).scalar() == "reliability_state_machine"
    outcomes, payment = _race_one_checkout(pg_db)
    _check_one_order(pg_db, outcomes, payment)
