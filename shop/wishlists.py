"""Wishlists: save, list, remove, move to cart, and share read-only by an unguessable token."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.carts import CartView, add_item
from shop.catalog import get_product, price_of
from shop.errors import NotFound
from shop.models import Product, Wishlist

MAX_ITEMS = 100


def _wishlist(session: Session, merchant_id: str, owner: str, create: bool) -> Wishlist | None:
    row = session.scalar(select(Wishlist).where(Wishlist.merchant_id == merchant_id, Wishlist.owner == owner))
    if row is None and create:
        row = Wishlist(merchant_id=merchant_id, owner=owner, share_token=secrets.token_urlsafe(16), items=[])
        session.add(row)
        session.flush()
    return row


def _view(session: Session, merchant_id: str, row: Wishlist | None) -> dict[str, Any]:
    if row is None:
        return {"items": [], "share_token": None}
    products = {
        p.sku: p
        for p in session.scalars(
            select(Product).where(
                Product.merchant_id == merchant_id, Product.sku.in_(row.items), Product.active
            )
        )
    }
    items = []
    for sku in row.items:
        product = products.get(sku)
        if product is None:
            continue
        price = price_of(product)
        items.append(
            {
                "sku": sku,
                "title": product.title,
                "price": price.to_str(),
                "currency": price.currency,
                "in_stock": product.stock is None or product.stock > 0,
            }
        )
    return {"items": items, "share_token": row.share_token}


def save(session: Session, merchant_id: str, owner: str, sku: str) -> dict[str, Any]:
    get_product(session, merchant_id, sku)  # unknown SKUs are refused, not stored
    row = _wishlist(session, merchant_id, owner, create=True)
    assert row is not None
    if sku not in row.items:
        if len(row.items) >= MAX_ITEMS:
            raise NotFound(f"a wishlist holds at most {MAX_ITEMS} items")
        row.items = [*row.items, sku]
    session.flush()
    return _view(session, merchant_id, row)


def list_items(session: Session, merchant_id: str, owner: str) -> dict[str, Any]:
    return _view(session, merchant_id, _wishlist(session, merchant_id, owner, create=False))


def remove(session: Session, merchant_id: str, owner: str, sku: str) -> dict[str, Any]:
    row = _wishlist(session, merchant_id, owner, create=False)
    if row is None or sku not in row.items:
        raise NotFound(f"{sku!r} is not on the wishlist")
    row.items = [s for s in row.items if s != sku]
    session.flush()
    return _view(session, merchant_id, row)


def move_to_cart(session: Session, merchant_id: str, owner: str, session_id: str, sku: str) -> CartView:
    """Add the item to the cart first; it leaves the wishlist only if that worked."""
    row = _wishlist(session, merchant_id, owner, create=False)
    if row is None or sku not in row.items:
        raise NotFound(f"{sku!r} is not on the wishlist")
    cart = add_item(session, merchant_id, session_id, sku, 1)
    row.items = [s for s in row.items if s != sku]
    session.flush()
    return cart


def shared(session: Session, merchant_id: str, token: str) -> dict[str, Any]:
    row = session.scalar(
        select(Wishlist).where(Wishlist.merchant_id == merchant_id, Wishlist.share_token == token)
    )
    if row is None:
        raise NotFound("no wishlist behind that link")
    view = _view(session, merchant_id, row)
    view.pop("share_token")
    return view


def forget(session: Session, merchant_id: str, owner: str) -> None:
    row = _wishlist(session, merchant_id, owner, create=False)
    if row is not None:
        session.delete(row)
        session.flush()


def session_owner(session_id: str) -> str:
    """The owner key of a shopper known only by their chat session."""
    return f"session:{session_id}"


def share_path(token: str, merchant_id: str) -> str:
    """The read-only link to a wishlist, relative to the server (GET, no session needed)."""
    return f"/v1/wishlists/{token}?merchant={merchant_id}"
