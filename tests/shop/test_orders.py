from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from shop import orders
from shop.errors import InvalidRequest, NotFound
from shop.models import Order, OrderLine, Product


def _order(
    db,
    order_id="A1",
    status="delivered",
    email="Ann@Example.com",
    lines=(("TENT-1", 2, 24900), ("MUG-1", 1, 1250)),
):
    with db.session() as s:
        order = Order(
            merchant_id="m1",
            order_id=order_id,
            email=email,
            status=status,
            currency="EUR",
            placed_at=datetime(2026, 10, 1, tzinfo=UTC),
            subtotal_minor=sum(q * p for _, q, p in lines),
            total_minor=sum(q * p for _, q, p in lines),
            source="import",
        )
        for sku, qty, price in lines:
            order.lines.append(
                OrderLine(sku=sku, title=sku.title(), unit_price_minor=price, currency="EUR", quantity=qty)
            )
        s.add(order)


def _stock(db, sku):
    with db.session() as s:
        return s.scalar(select(Product.stock).where(Product.sku == sku))


def test_lookup_needs_matching_email_case_insensitive(db):
    _order(db)
    with db.session() as s:
        found = orders.lookup(s, "m1", "A1", " ann@example.com ")
    assert found["status"] == "delivered" and found["total"] == "510.50"
    assert found["items"][0] == {
        "sku": "TENT-1",
        "title": "Tent-1",
        "quantity": 2,
        "returned_quantity": 0,
        "unit_price": "249.00",
    }


def test_wrong_email_answers_exactly_like_unknown_order(db):
    _order(db)
    messages = []
    for oid, email in [("A1", "eve@example.com"), ("NOPE", "ann@example.com"), ("A1", "")]:
        with db.session() as s, pytest.raises(NotFound) as err:
            orders.lookup(s, "m1", oid, email)
        messages.append(str(err.value))
    assert len(set(messages)) == 1


def test_other_merchant_cannot_see_order(db):
    _order(db)
    with db.session() as s, pytest.raises(NotFound):
        orders.lookup(s, "m2", "A1", "ann@example.com")


def test_cancel_paid_order_restocks(db):
    _order(db, status="paid")
    before = _stock(db, "TENT-1")
    with db.session() as s:
        result = orders.cancel(s, "m1", "A1", "ann@example.com", reason="changed my mind")
    assert result["status"] == "cancelled"
    assert _stock(db, "TENT-1") == before + 2
    assert _stock(db, "MUG-1") is None  # untracked stays untracked


@pytest.mark.parametrize("status", ["shipped", "delivered", "cancelled", "returned"])
def test_cancel_refused_after_shipping(db, status):
    _order(db, status=status)
    with db.session() as s, pytest.raises(InvalidRequest, match="only pending or paid"):
        orders.cancel(s, "m1", "A1", "ann@example.com")


def test_partial_then_full_return(db):
    _order(db)
    before = _stock(db, "TENT-1")
    with db.session() as s:
        partial = orders.return_items(s, "m1", "A1", "ann@example.com", {"TENT-1": 1})
    assert partial["status"] == "delivered" and partial["refund"] == "249.00"
    assert _stock(db, "TENT-1") == before + 1
    with db.session() as s:
        rest = orders.return_items(s, "m1", "A1", "ann@example.com")
    assert rest["status"] == "returned" and rest["refund"] == "261.50"


def test_return_validation(db):
    _order(db)
    with db.session() as s:
        with pytest.raises(InvalidRequest, match="not part"):
            orders.return_items(s, "m1", "A1", "ann@example.com", {"LAMP-1": 1})
        with pytest.raises(InvalidRequest, match="between 1 and 2"):
            orders.return_items(s, "m1", "A1", "ann@example.com", {"TENT-1": 3})
    _order(db, order_id="A2", status="shipped")
    with db.session() as s, pytest.raises(InvalidRequest, match="only delivered"):
        orders.return_items(s, "m1", "A2", "ann@example.com")
