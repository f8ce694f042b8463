"""Product types and their variant items, as post-purchase service sees them.

A product type (τ²'s "product", e.g. "T-Shirt" with id ``9523456873``) is the
``parent_sku`` its variant rows share; each variant item is one ``Product`` row whose
``sku`` is the item id and whose ``attributes`` are its options. An item that cannot be
ordered keeps its row with ``stock = 0``, so orders that hold it still resolve.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.errors import NotFound
from shop.models import Product
from shop.money import Money


def is_available(item: Product) -> bool:
    return item.active and (item.stock is None or item.stock > 0)


def item_record(item: Product) -> dict[str, Any]:
    return {
        "item_id": item.sku,
        "options": dict(item.attributes),
        "available": is_available(item),
        "price": Money(item.price_minor, item.currency).to_str(),
    }


def list_product_types(session: Session, merchant_id: str) -> dict[str, str]:
    """Product type name -> product id, sorted by name."""
    rows = session.execute(
        select(Product.title, Product.parent_sku)
        .where(Product.merchant_id == merchant_id, Product.parent_sku.is_not(None), Product.active.is_(True))
        .distinct()
    )
    return dict(sorted((str(title), str(parent)) for title, parent in rows))


def items_of(session: Session, merchant_id: str, product_id: str) -> list[Product]:
    """The variant items of a product type in catalog order; :class:`NotFound` when there are none."""
    items = list(
        session.scalars(
            select(Product)
            .where(Product.merchant_id == merchant_id, Product.parent_sku == product_id.strip())
            .order_by(Product.id)
        )
    )
    if not items:
        raise NotFound(f"unknown product id {product_id.strip()[:80]!r} (item ids are not product ids)")
    return items


def product_details(session: Session, merchant_id: str, product_id: str) -> dict[str, Any]:
    items = items_of(session, merchant_id, product_id)
    return {
        "name": items[0].title,
        "product_id": product_id.strip(),
        "variants": {item.sku: item_record(item) for item in items},
    }


def get_item(session: Session, merchant_id: str, item_id: str) -> Product:
    item = session.scalar(
        select(Product).where(Product.merchant_id == merchant_id, Product.sku == item_id.strip())
    )
    if item is None:
        raise NotFound(f"unknown item id {item_id.strip()[:80]!r} (product ids are not item ids)")
    return item


def item_details(session: Session, merchant_id: str, item_id: str) -> dict[str, Any]:
    item = get_item(session, merchant_id, item_id)
    return {**item_record(item), "product_id": item.parent_sku or item.sku, "name": item.title}
