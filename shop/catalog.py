"""Reading the catalog: products by SKU, prices as Money, merchants."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.errors import NotFound
from shop.models import Merchant, Product
from shop.money import Money

DEFAULT_MAX_QUANTITY = 10


def get_merchant(session: Session, merchant_id: str) -> Merchant:
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound(f"unknown merchant {merchant_id!r}")
    return merchant


def ensure_merchant(session: Session, merchant_id: str, currency: str = "EUR", name: str = "") -> Merchant:
    """The merchant row, created with defaults the first time it is needed."""
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        merchant = Merchant(
            id=merchant_id, name=name or merchant_id, currency=currency, languages=[], settings={}
        )
        session.add(merchant)
        session.flush()
    return merchant


def get_product(session: Session, merchant_id: str, sku: str) -> Product:
    """The active product with this SKU for this merchant, or :class:`NotFound`."""
    product = session.scalar(
        select(Product).where(
            Product.merchant_id == merchant_id, Product.sku == sku, Product.active.is_(True)
        )
    )
    if product is None:
        raise NotFound(f"unknown product id {sku!r}")
    return product


def variants_of(session: Session, merchant_id: str, product: Product) -> list[Product]:
    """All active SKUs sharing the product's parent (the product alone when it has none)."""
    if not product.parent_sku:
        return [product]
    rows = session.scalars(
        select(Product)
        .where(
            Product.merchant_id == merchant_id,
            Product.parent_sku == product.parent_sku,
            Product.active.is_(True),
        )
        .order_by(Product.sku)
    )
    return list(rows)


def price_of(product: Product) -> Money:
    return Money(product.price_minor, product.currency)


def max_quantity(merchant: Merchant) -> int:
    value = merchant.settings.get("max_quantity_per_line", DEFAULT_MAX_QUANTITY)
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else DEFAULT_MAX_QUANTITY
