"""Orders after checkout: verified lookup, cancel (restocks) and returns.

Every read or write needs the order id *and* the email on the order; a wrong pair fails
with exactly the same message as an unknown order, so ids cannot be probed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shop.errors import InvalidRequest, NotFound
from shop.models import Order, OrderEvent, Product
from shop.money import Money

ORDER_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled", "returned")
CANCELLABLE = ("pending", "paid")
RETURNABLE = ("delivered",)
NO_MATCH = "no order matches that order id and email"


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_order(session: Session, merchant_id: str, order_id: str, email: str) -> Order:
    order_id = order_id.strip().lstrip("#")
    order = session.scalar(select(Order).where(Order.merchant_id == merchant_id, Order.order_id == order_id))
    if order is None or normalize_email(order.email) != normalize_email(email) or not email.strip():
        raise NotFound(NO_MATCH)
    return order


def order_to_dict(order: Order) -> dict[str, Any]:
    cur = order.currency
    return {
        "order_id": order.order_id,
        "status": order.status,
        "placed_at": order.placed_at.isoformat() if order.placed_at else None,
        "currency": cur,
        "items": [
            {
                "sku": line.sku,
                "title": line.title,
                "quantity": line.quantity,
                "returned_quantity": line.returned_quantity,
                "unit_price": Money(line.unit_price_minor, line.currency).to_str(),
            }
            for line in order.lines
        ],
        "subtotal": Money(order.subtotal_minor, cur).to_str(),
        "discount": Money(order.discount_minor, cur).to_str(),
        "shipping": Money(order.shipping_minor, cur).to_str(),
        "total": Money(order.total_minor, cur).to_str(),
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "payment_status": order.payment_status,
    }


def lookup(session: Session, merchant_id: str, order_id: str, email: str) -> dict[str, Any]:
    return order_to_dict(find_order(session, merchant_id, order_id, email))


def _restock(session: Session, merchant_id: str, sku: str, quantity: int) -> None:
    session.execute(
        update(Product)
        .where(Product.merchant_id == merchant_id, Product.sku == sku, Product.stock.is_not(None))
        .values(stock=Product.stock + quantity)
    )


def cancel(session: Session, merchant_id: str, order_id: str, email: str, reason: str = "") -> dict[str, Any]:
    order = find_order(session, merchant_id, order_id, email)
    if order.status not in CANCELLABLE:
        raise InvalidRequest(
            f"order {order.order_id} is {order.status}; only pending or paid orders can be cancelled"
        )
    for line in order.lines:
        _restock(session, merchant_id, line.sku, line.quantity - line.returned_quantity)
    order.status = "cancelled"
    order.events.append(OrderEvent(kind="cancelled", data={"reason": reason[:500]}))
    session.flush()
    return order_to_dict(order)


def return_items(
    session: Session, merchant_id: str, order_id: str, email: str, items: dict[str, int] | None = None
) -> dict[str, Any]:
    """Record a return of delivered items (all remaining items when ``items`` is empty)."""
    order = find_order(session, merchant_id, order_id, email)
    if order.status not in RETURNABLE:
        raise InvalidRequest(
            f"order {order.order_id} is {order.status}; only delivered orders can be returned"
        )
    by_sku = {line.sku: line for line in order.lines}
    wanted = items or {line.sku: line.quantity - line.returned_quantity for line in order.lines}
    for sku, qty in wanted.items():
        line = by_sku.get(sku)
        if line is None:
            raise InvalidRequest(f"{sku} is not part of order {order.order_id}")
        left = line.quantity - line.returned_quantity
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1 or qty > left:
            raise InvalidRequest(f"{sku}: you can return between 1 and {left} of it")
    refund = 0
    for sku, qty in wanted.items():
        if qty == 0:
            continue
        line = by_sku[sku]
        line.returned_quantity += qty
        refund += line.unit_price_minor * qty
        _restock(session, merchant_id, sku, qty)
    if all(line.returned_quantity >= line.quantity for line in order.lines):
        order.status = "returned"
    order.events.append(OrderEvent(kind="returned", data={"items": wanted, "refund_minor": refund}))
    session.flush()
    result = order_to_dict(order)
    result["refund"] = Money(refund, order.currency).to_str()
    return result
