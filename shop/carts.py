"""Carts: lines hold only SKU and quantity; prices are read from the catalog every time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.catalog import get_merchant, get_product, max_quantity, price_of
from shop.errors import InvalidRequest, NotFound, OutOfStock
from shop.models import Cart, CartLine, Product
from shop.money import Money


@dataclass(frozen=True)
class CartLineView:
    sku: str
    title: str
    quantity: int
    unit_price: Money
    line_total: Money
    stock: int | None
    image_url: str = ""
    category: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "title": self.title,
            "quantity": self.quantity,
            "unit_price": self.unit_price.to_str(),
            "line_total": self.line_total.to_str(),
            "currency": self.unit_price.currency,
            "in_stock": self.stock is None or self.stock >= self.quantity,
        }


@dataclass(frozen=True)
class CartView:
    session_id: str
    version: int
    currency: str
    lines: list[CartLineView]
    subtotal: Money
    coupon_codes: tuple[str, ...] = ()

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    def quantities(self) -> dict[str, int]:
        return {line.sku: line.quantity for line in self.lines}

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "currency": self.currency,
            "lines": [line.to_dict() for line in self.lines],
            "subtotal": self.subtotal.to_str(),
            "item_count": self.item_count,
            "coupon_codes": list(self.coupon_codes),
        }


def _cart(session: Session, merchant_id: str, session_id: str, create: bool) -> Cart | None:
    cart = session.scalar(select(Cart).where(Cart.merchant_id == merchant_id, Cart.session_id == session_id))
    if cart is None and create:
        cart = Cart(merchant_id=merchant_id, session_id=session_id, version=0, coupon_codes=[])
        session.add(cart)
        session.flush()
    return cart


def view_cart(session: Session, merchant_id: str, session_id: str) -> CartView:
    merchant = get_merchant(session, merchant_id)
    cart = _cart(session, merchant_id, session_id, create=False)
    lines: list[CartLineView] = []
    if cart is not None:
        skus = [line.sku for line in cart.lines]
        products = {
            p.sku: p
            for p in session.scalars(
                select(Product).where(Product.merchant_id == merchant_id, Product.sku.in_(skus))
            )
        }
        for line in cart.lines:
            product = products.get(line.sku)
            if product is None or not product.active:
                continue  # withdrawn from the catalog since it was added
            unit = price_of(product)
            lines.append(
                CartLineView(
                    sku=line.sku,
                    title=product.title,
                    quantity=line.quantity,
                    unit_price=unit,
                    line_total=unit * line.quantity,
                    stock=product.stock,
                    image_url=product.image_url,
                    category=product.category,
                )
            )
    subtotal = Money.zero(merchant.currency)
    for item in lines:
        subtotal = subtotal + item.line_total
    return CartView(
        session_id=session_id,
        version=cart.version if cart else 0,
        currency=merchant.currency,
        lines=lines,
        subtotal=subtotal,
        coupon_codes=tuple(cart.coupon_codes) if cart else (),
    )


def _check_quantity(quantity: int, limit: int) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidRequest("quantity must be a whole number")
    if quantity < 1:
        raise InvalidRequest("quantity must be at least 1 (use remove to take an item out)")
    if quantity > limit:
        raise InvalidRequest(f"at most {limit} of one item per order")


def _check_available(product: Product, quantity: int) -> None:
    if product.stock is not None and product.stock < quantity:
        if product.stock <= 0:
            raise OutOfStock(f"{product.title} ({product.sku}) is out of stock")
        raise OutOfStock(f"only {product.stock} of {product.title} ({product.sku}) in stock")


def set_quantity(session: Session, merchant_id: str, session_id: str, sku: str, quantity: int) -> CartView:
    """Set a line to exactly ``quantity`` (0 removes it)."""
    merchant = get_merchant(session, merchant_id)
    if quantity == 0:
        return remove_item(session, merchant_id, session_id, sku)
    product = get_product(session, merchant_id, sku)
    _check_quantity(quantity, max_quantity(merchant))
    if product.currency != merchant.currency:
        raise InvalidRequest(
            f"{sku} is priced in {product.currency}, this store sells in {merchant.currency}"
        )
    _check_available(product, quantity)
    cart = _cart(session, merchant_id, session_id, create=True)
    assert cart is not None
    line = next((item for item in cart.lines if item.sku == sku), None)
    if line is None:
        cart.lines.append(CartLine(sku=sku, quantity=quantity))
    else:
        line.quantity = quantity
    cart.version += 1
    session.flush()
    return view_cart(session, merchant_id, session_id)


def add_item(session: Session, merchant_id: str, session_id: str, sku: str, quantity: int = 1) -> CartView:
    """Add ``quantity`` units to whatever is already in the cart."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidRequest("quantity must be a whole number of at least 1")
    cart = _cart(session, merchant_id, session_id, create=False)
    current = 0
    if cart is not None:
        current = next((line.quantity for line in cart.lines if line.sku == sku), 0)
    return set_quantity(session, merchant_id, session_id, sku, current + quantity)


def remove_item(session: Session, merchant_id: str, session_id: str, sku: str) -> CartView:
    cart = _cart(session, merchant_id, session_id, create=False)
    line = None if cart is None else next((item for item in cart.lines if item.sku == sku), None)
    if cart is None or line is None:
        raise NotFound(f"{sku!r} is not in the cart")
    cart.lines.remove(line)
    cart.version += 1
    session.flush()
    return view_cart(session, merchant_id, session_id)


def clear_cart(session: Session, merchant_id: str, session_id: str) -> None:
    cart = _cart(session, merchant_id, session_id, create=False)
    if cart is not None and cart.lines:
        cart.lines.clear()
        cart.version += 1
        session.flush()


def cart_version(session: Session, merchant_id: str, session_id: str) -> int:
    cart = _cart(session, merchant_id, session_id, create=False)
    return cart.version if cart else 0


def apply_coupon(session: Session, merchant_id: str, session_id: str, code: str) -> CartView:
    """Attach a coupon code the shopper gave; a code the store does not have is refused."""
    from shop.promotions import check_code

    rules = check_code(session, merchant_id, code)
    cart = _cart(session, merchant_id, session_id, create=True)
    assert cart is not None
    assert rules.code is not None
    if rules.code not in cart.coupon_codes:
        cart.coupon_codes = [*cart.coupon_codes, rules.code]
        cart.version += 1
        session.flush()
    return view_cart(session, merchant_id, session_id)


def remove_coupon(session: Session, merchant_id: str, session_id: str, code: str) -> CartView:
    cart = _cart(session, merchant_id, session_id, create=False)
    wanted = code.strip().upper()
    if cart is None or wanted not in cart.coupon_codes:
        raise NotFound(f"the code {code.strip()[:40]!r} is not on the cart")
    cart.coupon_codes = [c for c in cart.coupon_codes if c != wanted]
    cart.version += 1
    session.flush()
    return view_cart(session, merchant_id, session_id)
