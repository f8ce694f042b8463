"""After the purchase: cancel, change address, items or payment of a pending order; return or
exchange items of a delivered one. The rules are those of τ²-bench's retail policy.

An order's payments live in ``Order.extra["payment_history"]`` as
``{transaction_type: "payment" | "refund", amount_minor, payment_method_id}``; every
amount is integer minor units, so a price difference or a gift-card balance is exact.
Gift cards are charged and refunded at once; other methods are settled by the platform
(the history records what is owed). Status strings are the platform's, kept verbatim:

    pending ──cancel──> cancelled
    pending ──modify items (once)──> pending (item modified)
    delivered ──return──> return requested
    delivered ──exchange──> exchange requested

Where τ²'s reference code has slips, these functions do what its policy says instead:
cancelling refunds the net amount paid on each method (τ² also re-refunds earlier
refunds), and each modified item takes its own new variant's price and options.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.customers import (
    Address,
    credit_gift_card,
    gift_card_balance,
    is_gift_card,
    payment_method,
    user_id_of,
)
from shop.errors import InvalidRequest, NotFound
from shop.models import Customer, Order, OrderEvent, OrderLine, Product
from shop.money import Money
from shop.product_types import get_item, is_available

PENDING = "pending"
ITEMS_MODIFIED = "pending (item modified)"
DELIVERED = "delivered"
CANCELLED = "cancelled"
RETURN_REQUESTED = "return requested"
EXCHANGE_REQUESTED = "exchange requested"
CANCEL_REASONS = ("no longer needed", "ordered by mistake")
NO_ORDER = "no order with that id for this customer"


# -- reading ---------------------------------------------------------------------------


def get_order(session: Session, merchant_id: str, order_id: str, user_id: str | None = None) -> Order:
    """The order, or :class:`NotFound`. With ``user_id``, another customer's order is
    reported exactly like an unknown one, so ids cannot be probed."""
    wanted = order_id.strip()
    candidates = [wanted, wanted.lstrip("#")] if wanted.startswith("#") else [wanted, "#" + wanted]
    order = session.scalar(
        select(Order).where(Order.merchant_id == merchant_id, Order.order_id.in_(candidates))
    )
    if order is None or (user_id is not None and owner_of(session, order) != user_id):
        raise NotFound(NO_ORDER)
    return order


def owner_of(session: Session, order: Order) -> str:
    stored = order.extra.get("user_id")
    if isinstance(stored, str) and stored:
        return stored
    customer = session.get(Customer, order.customer_id) if order.customer_id is not None else None
    return user_id_of(customer) if customer is not None else ""


def _customer(session: Session, order: Order) -> Customer:
    customer = session.get(Customer, order.customer_id) if order.customer_id is not None else None
    if customer is None:
        raise NotFound(f"order {order.order_id} has no customer account to settle payments with")
    return customer


def payment_history(order: Order) -> list[dict[str, Any]]:
    return [dict(entry) for entry in order.extra.get("payment_history", [])]


def _product_ids(session: Session, merchant_id: str, skus: list[str]) -> dict[str, str]:
    rows = session.execute(
        select(Product.sku, Product.parent_sku).where(
            Product.merchant_id == merchant_id, Product.sku.in_(skus)
        )
    )
    return {sku: parent or sku for sku, parent in rows}


def order_details(
    session: Session, merchant_id: str, order_id: str, user_id: str | None = None
) -> dict[str, Any]:
    return order_record(session, get_order(session, merchant_id, order_id, user_id))


def order_record(session: Session, order: Order) -> dict[str, Any]:
    """The order as the platform shows it: items, status, fulfilments, payments, requests."""
    cur = order.currency

    def money(minor: Any) -> str:
        return Money(int(minor), cur).to_str()

    product_of = _product_ids(session, order.merchant_id, [line.sku for line in order.lines])
    items = []
    for line in order.lines:
        item = {
            "name": line.title,
            "product_id": product_of.get(line.sku, ""),
            "item_id": line.sku,
            "price": money(line.unit_price_minor),
            "options": dict(line.attributes),
        }
        items.extend([item] * line.quantity)
    extra = order.extra
    record: dict[str, Any] = {
        "order_id": order.order_id,
        "user_id": owner_of(session, order),
        "address": dict(order.shipping_address),
        "items": items,
        "status": order.status,
        "fulfillments": list(extra.get("fulfillments", [])),
        "payment_history": [
            {
                "transaction_type": p["transaction_type"],
                "amount": money(p["amount_minor"]),
                "payment_method_id": p["payment_method_id"],
            }
            for p in payment_history(order)
        ],
    }
    for key in ("cancel_reason", "exchange_items", "exchange_new_items", "exchange_payment_method_id"):
        if key in extra:
            record[key] = extra[key]
    if "exchange_price_difference_minor" in extra:
        record["exchange_price_difference"] = money(extra["exchange_price_difference_minor"])
    for key in ("return_items", "return_payment_method_id"):
        if key in extra:
            record[key] = extra[key]
    return record


# -- shared checks ---------------------------------------------------------------------


def _require_status(order: Order, allowed: tuple[str, ...], action: str) -> None:
    if order.status not in allowed:
        wanted = " or ".join(repr(s) for s in allowed)
        raise InvalidRequest(
            f"order {order.order_id} is {order.status!r}; only {wanted} orders can be {action}"
        )


def _require_items_in_order(order: Order, item_ids: list[str]) -> None:
    if not item_ids:
        raise InvalidRequest("name at least one item id of the order")
    held: Counter[str] = Counter()
    for line in order.lines:
        held[line.sku] += line.quantity
    for item_id, wanted in Counter(item_ids).items():
        if wanted > held[item_id]:
            raise InvalidRequest(
                f"order {order.order_id} holds {held[item_id]} of item {item_id}, not {wanted}"
            )


@dataclass(frozen=True)
class Swap:
    old_item_id: str
    new_item: Product


def _plan_swaps(
    session: Session, order: Order, item_ids: list[str], new_item_ids: list[str]
) -> tuple[list[Swap], int]:
    """Check each old -> new pair (same product, available) and sum the price difference."""
    _require_items_in_order(order, item_ids)
    if len(item_ids) != len(new_item_ids):
        raise InvalidRequest(
            "item_ids and new_item_ids must have the same length (one new item per old item)"
        )
    price_of = {line.sku: line.unit_price_minor for line in order.lines}
    product_of = _product_ids(session, order.merchant_id, list(price_of))
    swaps: list[Swap] = []
    difference = 0
    for old, new in zip(item_ids, new_item_ids, strict=True):
        if old == new:
            raise InvalidRequest(f"new item {new} is the same as the old one: pick another option")
        new_item = get_item(session, order.merchant_id, new)
        if (new_item.parent_sku or new_item.sku) != product_of.get(old):
            raise InvalidRequest(f"item {new} is not a variant of the same product as item {old}")
        if not is_available(new_item):
            raise InvalidRequest(f"item {new} is not available")
        if new_item.currency != order.currency:
            raise InvalidRequest(
                f"item {new} is priced in {new_item.currency}, the order in {order.currency}"
            )
        swaps.append(Swap(old, new_item))
        difference += new_item.price_minor - price_of[old]
    return swaps, difference


def _require_covered(
    customer: Customer, payment_method_id: str, amount_minor: int, currency: str
) -> dict[str, Any]:
    method = payment_method(customer, payment_method_id)
    if is_gift_card(method) and gift_card_balance(method) < amount_minor:
        raise InvalidRequest(
            f"gift card {payment_method_id} has {Money(gift_card_balance(method), currency)}, "
            f"not enough for {Money(amount_minor, currency)}"
        )
    return method


def _set_extra(order: Order, **changes: Any) -> None:
    # JSON columns are not mutation-tracked: assign a new mapping so the change is written.
    order.extra = {**order.extra, **changes}


def _entry(kind: str, amount_minor: int, payment_method_id: str) -> dict[str, Any]:
    return {"transaction_type": kind, "amount_minor": amount_minor, "payment_method_id": payment_method_id}


def _event(order: Order, kind: str, **data: Any) -> None:
    order.events.append(OrderEvent(kind=kind, data=data))


# -- pending orders --------------------------------------------------------------------


def cancel_pending_order(
    session: Session, merchant_id: str, order_id: str, reason: str, user_id: str | None = None
) -> Order:
    order = get_order(session, merchant_id, order_id, user_id)
    _require_status(order, (PENDING,), "cancelled")
    if reason not in CANCEL_REASONS:
        raise InvalidRequest("the reason must be 'no longer needed' or 'ordered by mistake'")
    net: dict[str, int] = {}
    for entry in payment_history(order):
        sign = 1 if entry["transaction_type"] == "payment" else -1
        net[entry["payment_method_id"]] = net.get(entry["payment_method_id"], 0) + sign * int(
            entry["amount_minor"]
        )
    customer = _customer(session, order)
    refunds = [_entry("refund", amount, pm) for pm, amount in net.items() if amount > 0]
    for refund in refunds:
        credit_gift_card(customer, refund["payment_method_id"], refund["amount_minor"])
    order.status = CANCELLED
    _set_extra(order, cancel_reason=reason, payment_history=payment_history(order) + refunds)
    _event(order, "cancelled", reason=reason, refunds=refunds)
    session.flush()
    return order


def modify_pending_order_address(
    session: Session, merchant_id: str, order_id: str, address: Address, user_id: str | None = None
) -> Order:
    order = get_order(session, merchant_id, order_id, user_id)
    _require_status(order, (PENDING, ITEMS_MODIFIED), "modified")
    order.shipping_address = address.to_dict()
    _event(order, "address_changed", address=address.to_dict())
    session.flush()
    return order


def modify_pending_order_items(
    session: Session,
    merchant_id: str,
    order_id: str,
    item_ids: list[str],
    new_item_ids: list[str],
    payment_method_id: str,
    user_id: str | None = None,
) -> Order:
    """Swap items for other variants of the same products; allowed once per order."""
    order = get_order(session, merchant_id, order_id, user_id)
    _require_status(order, (PENDING,), "modified (items can be changed once)")
    swaps, difference = _plan_swaps(session, order, item_ids, new_item_ids)
    customer = _customer(session, order)
    _require_covered(customer, payment_method_id, difference, order.currency)
    entry = _entry("payment" if difference > 0 else "refund", abs(difference), payment_method_id)
    credit_gift_card(customer, payment_method_id, -difference)
    for swap in swaps:
        _replace_one(order, swap)
    order.subtotal_minor = sum(line.unit_price_minor * line.quantity for line in order.lines)
    order.total_minor = order.subtotal_minor - order.discount_minor + order.shipping_minor
    order.status = ITEMS_MODIFIED
    _set_extra(order, payment_history=payment_history(order) + [entry])
    _event(order, "items_modified", items=item_ids, new_items=new_item_ids, difference_minor=difference)
    session.flush()
    return order


def _replace_one(order: Order, swap: Swap) -> None:
    """Replace the first unit of the old item, in place, as the platform's list does."""
    line = next(line for line in order.lines if line.sku == swap.old_item_id)
    new = swap.new_item
    if line.quantity > 1:
        # A line of several units gives up one unit to a line of its own.
        line.quantity -= 1
        line = OrderLine(currency=new.currency, quantity=1)
        order.lines.append(line)
    line.sku = new.sku
    line.title = new.title
    line.unit_price_minor = new.price_minor
    line.attributes = dict(new.attributes)


def modify_pending_order_payment(
    session: Session, merchant_id: str, order_id: str, payment_method_id: str, user_id: str | None = None
) -> Order:
    """Pay the whole order with another single method; the old one is refunded."""
    order = get_order(session, merchant_id, order_id, user_id)
    _require_status(order, (PENDING, ITEMS_MODIFIED), "modified")
    history = payment_history(order)
    if len(history) != 1 or history[0]["transaction_type"] != "payment":
        raise InvalidRequest(
            f"order {order.order_id} has more than one payment; its payment method cannot be changed"
        )
    old_method, amount = history[0]["payment_method_id"], int(history[0]["amount_minor"])
    if payment_method_id == old_method:
        raise InvalidRequest(f"{old_method} already pays for this order: pick a different payment method")
    customer = _customer(session, order)
    _require_covered(customer, payment_method_id, amount, order.currency)
    credit_gift_card(customer, payment_method_id, -amount)
    credit_gift_card(customer, old_method, amount)
    added = [_entry("payment", amount, payment_method_id), _entry("refund", amount, old_method)]
    _set_extra(order, payment_history=history + added)
    _event(order, "payment_changed", old=old_method, new=payment_method_id)
    session.flush()
    return order


# -- delivered orders ------------------------------------------------------------------


def return_delivered_order_items(
    session: Session,
    merchant_id: str,
    order_id: str,
    item_ids: list[str],
    payment_method_id: str,
    user_id: str | None = None,
) -> Order:
    """Request a return; the refund goes to the original payment method or a gift card."""
    order = get_order(session, merchant_id, order_id, user_id)
    _require_status(order, (DELIVERED,), "returned")
    customer = _customer(session, order)
    method = payment_method(customer, payment_method_id)
    history = payment_history(order)
    original = history[0]["payment_method_id"] if history else ""
    if not is_gift_card(method) and payment_method_id != original:
        raise InvalidRequest(f"the refund must go to the original payment method ({original}) or a gift card")
    _require_items_in_order(order, item_ids)
    order.status = RETURN_REQUESTED
    _set_extra(order, return_items=sorted(item_ids), return_payment_method_id=payment_method_id)
    _event(order, "return_requested", items=sorted(item_ids), payment_method_id=payment_method_id)
    session.flush()
    return order


def exchange_delivered_order_items(
    session: Session,
    merchant_id: str,
    order_id: str,
    item_ids: list[str],
    new_item_ids: list[str],
    payment_method_id: str,
    user_id: str | None = None,
) -> Order:
    """Request an exchange for other variants of the same products; the difference is
    settled on the given method when the old items come back."""
    order = get_order(session, merchant_id, order_id, user_id)
    _require_status(order, (DELIVERED,), "exchanged")
    _swaps, difference = _plan_swaps(session, order, item_ids, new_item_ids)
    customer = _customer(session, order)
    _require_covered(customer, payment_method_id, difference, order.currency)
    order.status = EXCHANGE_REQUESTED
    _set_extra(
        order,
        exchange_items=sorted(item_ids),
        exchange_new_items=sorted(new_item_ids),
        exchange_payment_method_id=payment_method_id,
        exchange_price_difference_minor=difference,
    )
    _event(
        order,
        "exchange_requested",
        items=sorted(item_ids),
        new_items=sorted(new_item_ids),
        difference_minor=difference,
    )
    session.flush()
    return order
