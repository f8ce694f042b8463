"""What the widget shows besides the reply: product cards and a checkout awaiting confirmation.

Cards are built from the SKUs that product tools returned in this turn, re-read from the
store, so a card's price, stock and image are the store's and never the model's words.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.events import ToolCallRecord
from shop.catalog import price_of
from shop.models import Product

PRODUCT_TOOLS = frozenset({"search_products", "get_product", "compare_products", "recommend"})
MAX_CARDS = 8
LOW_STOCK = 5


def _skus(value: Any) -> Iterator[str]:
    """SKUs in a tool result, in the order they appear (results first, then variants...)."""
    if isinstance(value, dict):
        sku = value.get("sku")
        if isinstance(sku, str):
            yield sku
        for key, item in value.items():
            if key not in ("cart", "suggestions") and isinstance(item, dict | list):
                yield from _skus(item)
    elif isinstance(value, list):
        for item in value:
            yield from _skus(item)


def card_skus(calls: Iterable[ToolCallRecord]) -> list[str]:
    seen: dict[str, None] = {}
    for call in calls:
        if call.name in PRODUCT_TOOLS and call.error is None:
            for sku in _skus(call.result):
                seen.setdefault(sku, None)
    return list(seen)[:MAX_CARDS]


def product_card(product: Product) -> dict[str, Any]:
    tracked_low = product.stock is not None and product.stock <= LOW_STOCK
    return {
        "sku": product.sku,
        "title": product.title,
        "price": price_of(product).to_str(),
        "currency": product.currency,
        "in_stock": product.stock is None or product.stock > 0,
        "stock": max(product.stock or 0, 0) if tracked_low else None,
        "image_url": product.image_url,
        "url": product.url,
    }


def product_cards(session: Session, merchant_id: str, skus: list[str]) -> list[dict[str, Any]]:
    if not skus:
        return []
    rows = session.scalars(
        select(Product).where(
            Product.merchant_id == merchant_id, Product.sku.in_(skus), Product.active.is_(True)
        )
    )
    by_sku = {p.sku: p for p in rows}
    return [product_card(by_sku[s]) for s in skus if s in by_sku]


def pending_checkout(calls: Iterable[ToolCallRecord]) -> dict[str, Any] | None:
    """The summary of the last checkout prepared in this turn, if the turn prepared one."""
    found = None
    for call in calls:
        if call.name == "prepare_checkout" and call.error is None and isinstance(call.result, dict):
            summary = call.result.get("checkout")
            if isinstance(summary, dict):
                found = summary
    return found
