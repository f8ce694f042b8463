"""Recommendations from the store's own data: co-purchases and attribute similarity.

Products are compared by their group (``parent_sku`` or the SKU itself) so that buying a
jacket in size M counts for the jacket, whatever the size.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.catalog import get_product, price_of
from shop.models import Order, OrderLine, Product


def _group(product: Product) -> str:
    return product.parent_sku or product.sku


def _card(product: Product, why: str) -> dict[str, Any]:
    price = price_of(product)
    return {
        "sku": product.sku,
        "title": product.title,
        "price": price.to_str(),
        "currency": price.currency,
        "in_stock": product.stock is None or product.stock > 0,
        "why": why,
    }


def _representatives(session: Session, merchant_id: str) -> dict[str, Product]:
    """One in-stock (if any) active product per group."""
    reps: dict[str, Product] = {}
    for p in session.scalars(
        select(Product).where(Product.merchant_id == merchant_id, Product.active).order_by(Product.sku)
    ):
        key = _group(p)
        current = reps.get(key)
        if current is None or ((current.stock == 0) and (p.stock is None or p.stock > 0)):
            reps[key] = p
    return reps


def also_bought(session: Session, merchant_id: str, sku: str, limit: int = 3) -> list[dict[str, Any]]:
    """Groups that appear in the same orders as this product's group, most frequent first."""
    product = get_product(session, merchant_id, sku)
    reps = _representatives(session, merchant_id)
    group_of = {
        p.sku: _group(p) for p in session.scalars(select(Product).where(Product.merchant_id == merchant_id))
    }
    target = _group(product)
    baskets: dict[int, set[str]] = {}
    rows = session.execute(
        select(OrderLine.order_pk, OrderLine.sku)
        .join(Order, Order.id == OrderLine.order_pk)
        .where(Order.merchant_id == merchant_id)
    )
    for order_pk, line_sku in rows:
        baskets.setdefault(order_pk, set()).add(group_of.get(line_sku, line_sku))
    counts: Counter[str] = Counter()
    for groups in baskets.values():
        if target in groups:
            counts.update(g for g in groups if g != target)
    result = []
    for group, _n in counts.most_common():
        rep = reps.get(group)
        if rep is not None and (rep.stock is None or rep.stock > 0):
            result.append(_card(rep, "often bought together"))
        if len(result) >= limit:
            break
    return result


def similar(session: Session, merchant_id: str, sku: str, limit: int = 3) -> list[dict[str, Any]]:
    """In-stock products of the same category ranked by shared attributes and closeness in price."""
    product = get_product(session, merchant_id, sku)
    target = _group(product)
    attrs = {(k, str(v).lower()) for k, v in product.attributes.items() if v not in (None, "")}
    scored = []
    for group, rep in _representatives(session, merchant_id).items():
        if group == target or rep.category != product.category or not (rep.stock is None or rep.stock > 0):
            continue
        shared = len(attrs & {(k, str(v).lower()) for k, v in rep.attributes.items()})
        same_brand = 1 if rep.brand and rep.brand == product.brand else 0
        price_gap = abs(rep.price_minor - product.price_minor) / max(product.price_minor, 1)
        scored.append((shared + same_brand - price_gap, rep.sku, rep))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [_card(rep, "similar") for _, _, rep in scored[:limit]]


def compare(session: Session, merchant_id: str, skus: list[str]) -> dict[str, Any]:
    """A table of two or three products' attributes, side by side, from the catalog."""
    products = [get_product(session, merchant_id, s) for s in skus[:3]]
    keys = sorted({k for p in products for k in p.attributes})
    rows: list[dict[str, Any]] = [
        {"attribute": "price", "values": [price_of(p).to_str() + " " + p.currency for p in products]},
        {"attribute": "brand", "values": [p.brand for p in products]},
        {"attribute": "in_stock", "values": [p.stock is None or p.stock > 0 for p in products]},
    ]
    rows += [{"attribute": k, "values": [str(p.attributes.get(k, "")) for p in products]} for k in keys]
    return {"products": [{"sku": p.sku, "title": p.title} for p in products], "rows": rows}
