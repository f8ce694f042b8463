"""Compact, citable records of store rows for tool results.

Prices come from the store (``Money.to_str`` plus the currency), never from the model.
Text that merchants or their files wrote (titles, descriptions, policy chunks) is cleaned
of control and invisible characters and cut short: it is data for the model, not prose
it should follow.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from shop.catalog import price_of
from shop.models import Product

_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]")
LOW_STOCK = 3
MAX_ATTRIBUTES = 6


def clean(text: Any, limit: int) -> str:
    """Printable single-line text of at most ``limit`` characters."""
    value = _INVISIBLE.sub("", str(text or ""))
    value = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in value)
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def in_stock(product: Product, quantity: int = 1) -> bool:
    return product.stock is None or product.stock >= quantity


def attributes(product: Product) -> dict[str, str]:
    attrs = product.attributes or {}
    return {
        clean(k, 40): clean(v, 60) for k, v in list(attrs.items())[:MAX_ATTRIBUTES] if v not in (None, "", [])
    }


def product_record(product: Product, detail: bool = False) -> dict[str, Any]:
    record: dict[str, Any] = {
        "sku": product.sku,
        "title": clean(product.title, 120),
        "price": price_of(product).to_str(),
        "currency": product.currency,
        "in_stock": in_stock(product),
    }
    if product.stock is not None and 0 < product.stock <= LOW_STOCK:
        record["only_left"] = product.stock
    if product.brand:
        record["brand"] = clean(product.brand, 60)
    if product.category:
        record["category"] = clean(product.category, 60)
    attrs = attributes(product)
    if attrs:
        record["attributes"] = attrs
    if detail:
        record["description"] = clean(product.description, 700)
        if product.url:
            record["url"] = clean(product.url, 300)
    return record


def brief_record(product: Product) -> dict[str, Any]:
    """Smallest useful record, for alternatives and suggestions."""
    return {
        "sku": product.sku,
        "title": clean(product.title, 100),
        "price": price_of(product).to_str(),
        "currency": product.currency,
    }
