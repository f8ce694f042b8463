"""Build the retriever's filter object from tool arguments (the one place that knows its shape)."""

from __future__ import annotations

from agent.retrieval import ProductFilters
from shop.money import Money


def product_filters(
    min_price: Money | None = None,
    max_price: Money | None = None,
    category: str | None = None,
    brand: str | None = None,
    in_stock: bool = False,
    attributes: dict[str, str] | None = None,
) -> ProductFilters:
    bound = min_price or max_price
    return ProductFilters(
        min_price=min_price.amount if min_price else None,
        max_price=max_price.amount if max_price else None,
        currency=bound.currency if bound else None,
        in_stock=True if in_stock else None,
        category=category or None,
        brand=brand or None,
        attributes=attributes or {},
    )
