"""The store's state in τ²'s shape, for comparing a run's end state with the expected one.

τ²-bench scores a run by hashing its whole database (products, users, orders) and comparing
it with the database its reference actions produce. :func:`snapshot` renders ours the same
way: plain dicts keyed by id, money as integer cents, read with a handful of queries.
Conversations, events and timestamps are not part of it, as they are not part of τ²'s.

Decoding every JSON column of the store takes a noticeable fraction of a second, so a trial
is first compared by :func:`fingerprint` (the same rows, JSON left as stored text); only
when that differs are both sides decoded and compared as τ² states (:func:`differences`
is empty when they only differ in how the JSON was written).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, select, type_coerce

from shop.db import Database
from shop.models import Customer, Order, OrderLine, Product

State = dict[str, dict[str, Any]]
Fingerprint = dict[str, tuple[Any, ...]]
ORDER_EXTRAS = (
    "cancel_reason",
    "exchange_items",
    "exchange_new_items",
    "exchange_payment_method_id",
    "exchange_price_difference_minor",
    "return_items",
    "return_payment_method_id",
)


def snapshot(db: Database, merchant_id: str) -> State:
    with db.read_session() as session:
        products: dict[str, Any] = {}
        parent_of: dict[str, str] = {}
        product_rows = session.execute(
            select(
                Product.sku,
                Product.parent_sku,
                Product.title,
                Product.attributes,
                Product.price_minor,
                Product.stock,
                Product.active,
            )
            .where(Product.merchant_id == merchant_id)
            .order_by(Product.id)
        )
        for sku, parent_sku, title, attributes, price, stock, active in product_rows:
            parent = parent_sku or sku
            parent_of[sku] = parent
            entry = products.setdefault(parent, {"name": title, "product_id": parent, "variants": {}})
            entry["variants"][sku] = {
                "item_id": sku,
                "options": attributes,
                "available": bool(active) and (stock is None or stock > 0),
                "price": price,
            }
        users: dict[str, Any] = {}
        customer_rows = session.execute(
            select(
                Customer.external_id,
                Customer.email,
                Customer.first_name,
                Customer.last_name,
                Customer.address,
                Customer.payment_methods,
                Customer.profile,
            ).where(Customer.merchant_id == merchant_id)
        )
        for external_id, email, first, last, address, methods, profile in customer_rows:
            user_id = external_id or email
            users[user_id] = {
                "user_id": user_id,
                "name": {"first_name": first, "last_name": last},
                "address": address,
                "email": email,
                "payment_methods": {
                    pm: {("balance" if k == "balance_minor" else k): v for k, v in method.items()}
                    for pm, method in methods.items()
                },
                "orders": list(profile.get("order_ids", [])),
            }
        lines: dict[int, list[dict[str, Any]]] = {}
        line_rows = session.execute(
            select(
                OrderLine.order_pk,
                OrderLine.title,
                OrderLine.sku,
                OrderLine.unit_price_minor,
                OrderLine.attributes,
                OrderLine.quantity,
            )
            .join(Order, OrderLine.order_pk == Order.id)
            .where(Order.merchant_id == merchant_id)
            .order_by(OrderLine.id)
        )
        for order_pk, title, sku, price, attributes, quantity in line_rows:
            item = {
                "name": title,
                "product_id": parent_of.get(sku, ""),
                "item_id": sku,
                "price": price,
                "options": attributes,
            }
            lines.setdefault(order_pk, []).extend([item] * quantity)
        orders: dict[str, Any] = {}
        order_rows = session.execute(
            select(Order.id, Order.order_id, Order.shipping_address, Order.status, Order.extra).where(
                Order.merchant_id == merchant_id
            )
        )
        for pk, order_id, address, status, extra in order_rows:
            record: dict[str, Any] = {
                "order_id": order_id,
                "user_id": extra.get("user_id", ""),
                "address": address,
                "items": lines.get(pk, []),
                "status": status,
                "fulfillments": extra.get("fulfillments", []),
                "payment_history": [
                    {
                        "transaction_type": p["transaction_type"],
                        "amount": p["amount_minor"],
                        "payment_method_id": p["payment_method_id"],
                    }
                    for p in extra.get("payment_history", [])
                ],
            }
            for key in ORDER_EXTRAS:
                if key in extra:
                    record[key.removesuffix("_minor")] = extra[key]
            orders[order_id] = record
    return {"products": products, "users": users, "orders": orders}


def differences(expected: Any, actual: Any, limit: int = 5, path: str = "") -> list[str]:
    """The first ``limit`` places where two states differ, as readable ``path: expected != actual``."""
    found: list[str] = []

    def walk(a: Any, b: Any, where: str) -> None:
        if len(found) >= limit or a == b:  # equality in C first: most of a store is unchanged
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in list(a) + [k for k in b if k not in a]:
                if key not in a or key not in b:
                    found.append(f"{where}/{key}: {'missing' if key not in b else 'unexpected'}")
                else:
                    walk(a[key], b[key], f"{where}/{key}")
                if len(found) >= limit:
                    return
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for index, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{where}[{index}]")
        elif a != b:
            found.append(f"{where}: expected {a!r}, got {b!r}")

    walk(expected, actual, path)
    return found


def fingerprint(db: Database, merchant_id: str) -> Fingerprint:
    """The rows :func:`snapshot` reads, undecoded: equal fingerprints mean equal states."""

    def raw(column: Any) -> Any:
        return type_coerce(column, Text)

    found: Fingerprint = {}
    with db.read_session() as session:
        for row in session.execute(
            select(
                Product.sku,
                Product.parent_sku,
                Product.title,
                raw(Product.attributes),
                Product.price_minor,
                Product.stock,
                Product.active,
            ).where(Product.merchant_id == merchant_id)
        ):
            found["product:" + row[0]] = tuple(row)
        for row in session.execute(
            select(
                Customer.external_id,
                Customer.email,
                Customer.first_name,
                Customer.last_name,
                raw(Customer.address),
                raw(Customer.payment_methods),
                raw(Customer.profile),
            ).where(Customer.merchant_id == merchant_id)
        ):
            found[f"user:{row[0]}:{row[1]}"] = tuple(row)
        for row in session.execute(
            select(Order.order_id, raw(Order.shipping_address), Order.status, raw(Order.extra)).where(
                Order.merchant_id == merchant_id
            )
        ):
            found["order:" + row[0]] = tuple(row)
        lines = session.execute(
            select(
                Order.order_id,
                OrderLine.sku,
                OrderLine.title,
                OrderLine.unit_price_minor,
                raw(OrderLine.attributes),
                OrderLine.quantity,
            )
            .join(Order, OrderLine.order_pk == Order.id)
            .where(Order.merchant_id == merchant_id)
            .order_by(OrderLine.id)
        )
        for order_id, *line in lines:
            key = "lines:" + order_id
            found[key] = (*found.get(key, ()), tuple(line))
    return found
