"""Checkout in two steps: ``prepare`` freezes the cart, ``confirm`` places exactly one order.

Confirming is idempotent by key (Stripe/IETF semantics): a replay returns the same order,
the same key with another request is refused, a concurrent duplicate is refused. The key
is claimed in its own short transaction so that a second request sees it at once; the
order, its lines, its events and the stock decrements are then written in one transaction,
holding the checkout row locked so two keys for one checkout cannot both place (and charge)
it. A claim left ``started`` by a process that died mid-order committed nothing; after
:data:`CLAIM_TIMEOUT` a retry with the same key takes it over.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop import promotions
from shop.carts import clear_cart, view_cart
from shop.catalog import get_merchant
from shop.db import Database
from shop.errors import Conflict, IdempotencyMismatch, InvalidRequest, NotConfirmed, NotFound, OutOfStock
from shop.models import (
    Checkout,
    IdempotencyKey,
    Merchant,
    Offer,
    Order,
    OrderEvent,
    OrderLine,
    Product,
    utcnow,
)
from shop.money import Money
from shop.offers import offer_adjustments
from shop.payments import PaymentProvider, PaymentRequest
from shop.promotions import PricedLine

SHIPPING_METHODS = ("standard", "express")
CLAIM_TIMEOUT = timedelta(minutes=5)
"""Longer than any order transaction can take (payment provider and lock waits included)."""


@dataclass(frozen=True)
class CheckoutSummary:
    checkout_id: str
    status: str
    currency: str
    lines: list[dict[str, Any]]
    subtotal: Money
    discount: Money
    shipping: Money
    total: Money
    shipping_method: str
    email: str
    cart_version: int
    adjustments: tuple[dict[str, Any], ...] = ()

    @classmethod
    def of(cls, row: Checkout) -> CheckoutSummary:
        cur = row.currency
        return cls(
            checkout_id=row.id,
            status=row.status,
            currency=cur,
            lines=list(row.lines),
            subtotal=Money(row.subtotal_minor, cur),
            discount=Money(row.discount_minor, cur),
            shipping=Money(row.shipping_minor, cur),
            total=Money(row.total_minor, cur),
            shipping_method=row.shipping_method,
            email=row.email,
            cart_version=row.cart_version,
            adjustments=tuple(row.adjustments),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "checkout_id": self.checkout_id,
            "status": self.status,
            "currency": self.currency,
            "lines": [
                {
                    "sku": line["sku"],
                    "title": line["title"],
                    "quantity": line["quantity"],
                    "unit_price": Money(line["unit_price_minor"], self.currency).to_str(),
                    "line_total": Money(line["line_total_minor"], self.currency).to_str(),
                }
                for line in self.lines
            ],
            "subtotal": self.subtotal.to_str(),
            "discount": self.discount.to_str(),
            "shipping": self.shipping.to_str(),
            "total": self.total.to_str(),
            "shipping_method": self.shipping_method,
            "adjustments": [
                {
                    "label": a["label"],
                    "code": a["code"],
                    "amount": Money(a["amount_minor"], self.currency).to_str(),
                }
                for a in self.adjustments
            ],
        }


def shipping_cost(merchant: Merchant, subtotal: Money, method: str) -> Money:
    """Shipping from the store settings: a flat rate, free over a threshold, or express."""
    if method not in SHIPPING_METHODS:
        raise InvalidRequest(f"unknown shipping method {method!r}: use one of {', '.join(SHIPPING_METHODS)}")
    rules = merchant.settings.get("shipping") or {}
    cur = subtotal.currency
    if method == "express":
        if "express_rate" not in rules:
            raise InvalidRequest("express shipping is not offered by this store")
        return Money.parse(str(rules["express_rate"]), cur)
    free_over = rules.get("free_over")
    if free_over is not None and subtotal >= Money.parse(str(free_over), cur):
        return Money.zero(cur)
    return Money.parse(str(rules.get("rate", "0")), cur)


def prepare(
    session: Session,
    merchant_id: str,
    session_id: str,
    email: str = "",
    shipping_address: dict[str, Any] | None = None,
    shipping_method: str = "standard",
) -> CheckoutSummary:
    """Freeze the current cart into a checkout the shopper is asked to confirm."""
    merchant = get_merchant(session, merchant_id)
    cart = view_cart(session, merchant_id, session_id)
    if not cart.lines:
        raise InvalidRequest("the cart is empty: add something before checking out")
    for line in cart.lines:
        if line.stock is not None and line.stock < line.quantity:
            raise OutOfStock(
                f"only {max(line.stock, 0)} of {line.title} ({line.sku}) left: change the quantity"
            )
    priced = [PricedLine(line.sku, line.category, line.line_total) for line in cart.lines]
    offers = promotions.available(session, merchant_id, list(cart.coupon_codes), email=email)
    applied = [adj.to_dict() for adj in promotions.best_adjustments(offers, priced, cart.currency)]
    applied += offer_adjustments(
        session, merchant_id, session_id, [(x.sku, x.line_total) for x in cart.lines]
    )
    # Whatever combines, the discount never exceeds the goods' subtotal.
    room = cart.subtotal.minor
    for adj in applied:
        adj["amount_minor"] = min(int(adj["amount_minor"]), room)
        room -= adj["amount_minor"]
    applied = [adj for adj in applied if adj["amount_minor"] > 0]
    discount = Money(sum(adj["amount_minor"] for adj in applied), cart.currency)
    # Free-shipping thresholds look at what the shopper pays for goods, after discounts.
    shipping = shipping_cost(merchant, cart.subtotal - discount, shipping_method)
    total = cart.subtotal - discount + shipping
    # A new prepare supersedes older open checkouts of this session.
    session.execute(
        update(Checkout)
        .where(
            Checkout.merchant_id == merchant_id,
            Checkout.session_id == session_id,
            Checkout.status.in_(("prepared", "confirmed")),
        )
        .values(status="expired")
    )
    row = Checkout(
        id=f"chk_{secrets.token_urlsafe(12)}",
        merchant_id=merchant_id,
        session_id=session_id,
        cart_version=cart.version,
        status="prepared",
        lines=[
            {
                "sku": line.sku,
                "title": line.title,
                "quantity": line.quantity,
                "unit_price_minor": line.unit_price.minor,
                "line_total_minor": line.line_total.minor,
            }
            for line in cart.lines
        ],
        currency=cart.currency,
        subtotal_minor=cart.subtotal.minor,
        discount_minor=discount.minor,
        shipping_minor=shipping.minor,
        total_minor=total.minor,
        adjustments=applied,
        email=email.strip(),
        shipping_address=shipping_address or {},
        shipping_method=shipping_method,
    )
    session.add(row)
    session.flush()
    return CheckoutSummary.of(row)


def _checkout(
    session: Session, merchant_id: str, session_id: str, checkout_id: str, lock: bool = False
) -> Checkout:
    row = session.get(Checkout, checkout_id, with_for_update=lock)
    if row is None or row.merchant_id != merchant_id or row.session_id != session_id:
        raise NotFound("unknown checkout: prepare the checkout again")
    return row


def record_confirmation(
    session: Session, merchant_id: str, session_id: str, checkout_id: str
) -> CheckoutSummary:
    """The shopper explicitly accepted this exact summary (button, or a yes to it in chat)."""
    row = _checkout(session, merchant_id, session_id, checkout_id)
    if row.status == "expired":
        raise Conflict("this checkout was replaced by a newer one: prepare the checkout again")
    if row.status == "prepared":
        row.status = "confirmed"
        row.confirmed_at = datetime.now(UTC)
    return CheckoutSummary.of(row)


def request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _claim_key(db: Database, merchant_id: str, key: str, digest: str) -> str | None:
    """Claim the key; returns an order id when this is a replay of a finished request."""
    with db.read_session() as session:
        existing = session.get(IdempotencyKey, (merchant_id, key))
        if existing is not None:
            if existing.request_hash != digest:
                raise IdempotencyMismatch("this Idempotency-Key was used with a different request")
            if existing.status == "done" and existing.order_id:
                return existing.order_id
    if existing is not None:
        if _take_over(db, merchant_id, key):
            return None
        raise Conflict("a request with this Idempotency-Key is still being processed")
    try:
        with db.session() as session:
            session.add(
                IdempotencyKey(merchant_id=merchant_id, key=key, request_hash=digest, status="started")
            )
    except IntegrityError:
        raise Conflict("a request with this Idempotency-Key is still being processed") from None
    return None


def _take_over(db: Database, merchant_id: str, key: str) -> bool:
    """Claim a key whose holder died mid-order (still ``started`` after :data:`CLAIM_TIMEOUT`).
    The claim is renewed in one conditional update, so of two retries only one wins it."""
    now = utcnow()
    with db.session() as session:
        result = session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.merchant_id == merchant_id,
                IdempotencyKey.key == key,
                IdempotencyKey.status == "started",
                IdempotencyKey.created_at < now - CLAIM_TIMEOUT,
            )
            .values(created_at=now)
        )
        return getattr(result, "rowcount", 0) == 1


def _release_key(db: Database, merchant_id: str, key: str) -> None:
    with db.session() as session:
        session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.merchant_id == merchant_id,
                IdempotencyKey.key == key,
                IdempotencyKey.status == "started",
            )
        )


def new_order_id() -> str:
    return f"SA-{secrets.token_hex(5).upper()}"


def _take_stock(session: Session, merchant_id: str, sku: str, quantity: int, title: str) -> None:
    """Atomic conditional decrement: no read-then-write window for a concurrent buyer."""
    result = session.execute(
        update(Product)
        .where(
            Product.merchant_id == merchant_id,
            Product.sku == sku,
            Product.active.is_(True),
            Product.stock.is_not(None),
            Product.stock >= quantity,
        )
        .values(stock=Product.stock - quantity)
    )
    if getattr(result, "rowcount", 0) == 1:
        return
    tracked = session.scalar(
        select(Product.stock).where(
            Product.merchant_id == merchant_id, Product.sku == sku, Product.active.is_(True)
        )
    )
    exists = session.scalar(
        select(Product.id).where(
            Product.merchant_id == merchant_id, Product.sku == sku, Product.active.is_(True)
        )
    )
    if exists is not None and tracked is None:
        return  # untracked stock: always available
    raise OutOfStock(f"sorry, {title} ({sku}) just sold out: nothing was charged")


def confirm(
    db: Database,
    merchant_id: str,
    session_id: str,
    checkout_id: str,
    idempotency_key: str,
    payment: PaymentProvider,
    require_recorded_confirmation: bool = False,
) -> Order:
    """Place the order of a prepared checkout, exactly once.

    With ``require_recorded_confirmation`` (the agent's path) the shopper's explicit yes
    must already be recorded; the widget's Confirm button is itself the confirmation.
    """
    key = idempotency_key.strip()
    if not key or len(key) > 255:
        raise InvalidRequest("an Idempotency-Key of 1 to 255 characters is required")
    digest = request_hash({"session": session_id, "checkout": checkout_id})
    replay = _claim_key(db, merchant_id, key, digest)
    if replay is not None:
        with db.session() as session:
            order = session.scalar(
                select(Order).where(Order.merchant_id == merchant_id, Order.order_id == replay)
            )
            if order is None:
                raise NotFound("the order of this request no longer exists")
            return order
    try:
        with db.session() as session:
            order = _place(
                session, merchant_id, session_id, checkout_id, payment, require_recorded_confirmation
            )
            claimed = session.get(IdempotencyKey, (merchant_id, key))
            if claimed is not None:
                claimed.status = "done"
                claimed.order_id = order.order_id
            return order
    except BaseException:
        _release_key(db, merchant_id, key)
        raise


def _place(
    session: Session,
    merchant_id: str,
    session_id: str,
    checkout_id: str,
    payment: PaymentProvider,
    require_recorded_confirmation: bool,
) -> Order:
    # Locked until commit: a concurrent confirm of this checkout waits, then sees it placed.
    row = _checkout(session, merchant_id, session_id, checkout_id, lock=True)
    if row.status == "placed" and row.order_id:
        existing = session.scalar(
            select(Order).where(Order.merchant_id == merchant_id, Order.order_id == row.order_id)
        )
        if existing is not None:
            return existing  # one order per checkout, whatever key the retry carries
    if row.status == "expired":
        raise Conflict("this checkout was replaced by a newer one: prepare the checkout again")
    if require_recorded_confirmation and row.status != "confirmed":
        raise NotConfirmed("the shopper has not confirmed this checkout summary yet: show it and ask")
    current = view_cart(session, merchant_id, session_id)
    if current.version != row.cart_version:
        raise Conflict("the cart changed after the checkout was prepared: prepare the checkout again")
    if not row.email:
        raise InvalidRequest("an email address is needed to place the order")
    for line in row.lines:
        _take_stock(session, merchant_id, line["sku"], int(line["quantity"]), line["title"])
    order_id = new_order_id()
    promotions.record_redemptions(session, merchant_id, list(row.adjustments), row.email, order_id)
    used = [
        a["promo_id"].removeprefix("offer:") for a in row.adjustments if a["promo_id"].startswith("offer:")
    ]
    if used:
        session.execute(
            update(Offer)
            .where(Offer.merchant_id == merchant_id, Offer.session_id == session_id, Offer.sku.in_(used))
            .where(Offer.status == "offered")
            .values(status="used")
        )
    cur = row.currency
    order = Order(
        merchant_id=merchant_id,
        order_id=order_id,
        email=row.email,
        status="pending",
        currency=cur,
        subtotal_minor=row.subtotal_minor,
        discount_minor=row.discount_minor,
        shipping_minor=row.shipping_minor,
        total_minor=row.total_minor,
        shipping_address=row.shipping_address,
        checkout_id=row.id,
        source="checkout",
        extra={"shipping_method": row.shipping_method, "adjustments": row.adjustments},
    )
    for line in row.lines:
        order.lines.append(
            OrderLine(
                sku=line["sku"],
                title=line["title"],
                unit_price_minor=int(line["unit_price_minor"]),
                currency=cur,
                quantity=int(line["quantity"]),
            )
        )
    result = payment.start(
        PaymentRequest(
            order_id=order.order_id,
            merchant_id=merchant_id,
            email=row.email,
            total=Money(row.total_minor, cur),
            lines=[
                (x["title"], int(x["quantity"]), Money(int(x["unit_price_minor"]), cur)) for x in row.lines
            ],
        )
    )
    order.status = result.order_status
    order.payment_provider = payment.name
    order.payment_status = result.payment_status
    order.payment_reference = result.reference
    order.extra = {
        **order.extra,
        "payment_instructions": result.instructions,
        "payment_url": result.redirect_url,
    }
    order.events.append(
        OrderEvent(kind="placed", data={"checkout_id": row.id, "total_minor": row.total_minor})
    )
    session.add(order)
    row.status = "placed"
    row.order_id = order.order_id
    clear_cart(session, merchant_id, session_id)
    session.flush()
    return order
