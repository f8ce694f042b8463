"""Returning shoppers, only with their consent: remember, recognise, describe.

A shopper opts in with an email verified in the conversation (an order looked up with its
id and that email, or an order placed there). Their profile is the ``customers`` row of the
email with ``remember`` set and a ``remember`` consent beside it. A conversation is linked to
the profile (``conversations.customer_id``) when it presents the browser's remember-me token
(a random value, stored hashed) or verifies the same email again. Nothing is kept or linked
without that consent: a conversation that verified an email knows the order only for itself.

Consents are rows of ``consents``: ``remember`` (one per profile) and ``contact`` (one per
conversation: may we send one reminder of a cart left with items, by email or on the
messaging channel the shopper wrote from).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from shop.customers import find_by_email
from shop.errors import NotFound
from shop.models import Consent, Conversation, Customer, Order, Product, ShopperToken, as_utc, utcnow
from shop.orders import normalize_email

REMEMBER = "remember"
CONTACT = "contact"
MAX_ORDERS = 5
"""Past orders shown to the model: the most recent ones."""
MAX_TOKENS = 10
"""Remembered browsers per profile; the oldest token goes when an eleventh is issued."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- consent ------------------------------------------------------------------------------
def _orders_of(session: Session, merchant_id: str, email: str, customer_id: int | None) -> list[Order]:
    match = func.lower(Order.email) == normalize_email(email)
    if customer_id is not None:
        match = or_(match, Order.customer_id == customer_id)
    return list(
        session.scalars(
            select(Order)
            .where(Order.merchant_id == merchant_id, match)
            .order_by(Order.placed_at.desc(), Order.id.desc())
        )
    )


def _first_name(customer: Customer, orders: list[Order]) -> str:
    if customer.first_name:
        return customer.first_name
    for order in orders:
        name = str((order.shipping_address or {}).get("name") or "").strip()
        if name:
            return name.split()[0][:100]
    return ""


def remember(
    session: Session, merchant_id: str, session_id: str, email: str, lang: str, contact: bool = False
) -> Customer:
    """Record the shopper's consent to be remembered by ``email`` (verified by the caller) and
    link this conversation to the profile; ``contact`` also allows one cart reminder (by email
    from the web, on the messaging channel when the conversation came from one)."""
    conversation = session.get(Conversation, session_id)
    channel = conversation.channel if conversation is not None else "web"
    address = normalize_email(email)
    try:
        customer = find_by_email(session, merchant_id, address)
    except NotFound:
        customer = Customer(merchant_id=merchant_id, email=address, profile={"source": REMEMBER})
        session.add(customer)
        session.flush()
    if not customer.first_name:
        customer.first_name = _first_name(customer, _orders_of(session, merchant_id, address, customer.id))
    customer.remember = True
    customer.profile = {**(customer.profile or {}), "lang": lang, "remembered_at": utcnow().isoformat()}
    consent = session.scalar(
        select(Consent).where(Consent.customer_id == customer.id, Consent.kind == REMEMBER)
    )
    if consent is None:
        consent = Consent(merchant_id=merchant_id, kind=REMEMBER, customer_id=customer.id)
        session.add(consent)
    consent.session_id, consent.channel, consent.lang, consent.given_at = session_id, channel, lang, utcnow()
    link(session, merchant_id, session_id, customer)
    if contact:
        allow_contact(session, merchant_id, session_id, channel, address if channel == "web" else "", lang)
    session.flush()
    return customer


def allow_contact(
    session: Session, merchant_id: str, session_id: str, channel: str, address: str, lang: str
) -> Consent:
    """The conversation's consent to one reminder of its cart: to ``address`` by email, or on
    its messaging channel when ``address`` is empty."""
    row = session.scalar(
        select(Consent).where(
            Consent.merchant_id == merchant_id, Consent.session_id == session_id, Consent.kind == CONTACT
        )
    )
    if row is None:
        row = Consent(merchant_id=merchant_id, kind=CONTACT, session_id=session_id)
        session.add(row)
    conversation = session.get(Conversation, session_id)
    row.customer_id = conversation.customer_id if conversation is not None else None
    row.channel, row.address, row.lang, row.given_at = channel, address, lang, utcnow()
    session.flush()
    return row


def withdraw_contact(session: Session, merchant_id: str, session_id: str) -> int:
    result = session.execute(
        delete(Consent).where(
            Consent.merchant_id == merchant_id, Consent.session_id == session_id, Consent.kind == CONTACT
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def contact_consent(session: Session, merchant_id: str, session_id: str) -> Consent | None:
    return session.scalar(
        select(Consent).where(
            Consent.merchant_id == merchant_id, Consent.session_id == session_id, Consent.kind == CONTACT
        )
    )


# -- recognising a returning shopper ---------------------------------------------------------
def issue_token(session: Session, merchant_id: str, customer_id: int, days: int) -> str:
    """A new remember-me token for one browser; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    session.add(
        ShopperToken(
            merchant_id=merchant_id,
            customer_id=customer_id,
            token_hash=token_hash(token),
            expires_at=utcnow() + timedelta(days=days),
        )
    )
    session.flush()
    older = session.scalars(
        select(ShopperToken.id)
        .where(ShopperToken.customer_id == customer_id)
        .order_by(ShopperToken.id.desc())
        .offset(MAX_TOKENS)
    ).all()
    if older:  # one token per browser; a profile does not collect them without bound
        session.execute(delete(ShopperToken).where(ShopperToken.id.in_(older)))
    return token


def customer_of_token(session: Session, merchant_id: str, token: str) -> Customer | None:
    """The remembered shopper a live token belongs to, else ``None``."""
    if not token or len(token) > 200:
        return None
    row = session.scalar(select(ShopperToken).where(ShopperToken.token_hash == token_hash(token)))
    if row is None or row.merchant_id != merchant_id or as_utc(row.expires_at) <= utcnow():
        return None
    customer = session.get(Customer, row.customer_id)
    return customer if customer is not None and customer.remember else None


def link(session: Session, merchant_id: str, session_id: str, customer: Customer) -> None:
    """Link the conversation to the profile; a conversation not yet started takes their language."""
    row = session.get(Conversation, session_id)
    if row is None or row.merchant_id != merchant_id or row.customer_id == customer.id:
        return
    row.customer_id = customer.id
    lang = str((customer.profile or {}).get("lang") or "")
    state = dict(row.state or {})
    if lang and not state.get("lang") and not row.messages:
        state["lang"] = lang
        row.state, row.lang = state, lang


def linked_customer(session: Session, merchant_id: str, session_id: str) -> Customer | None:
    """The remembered shopper of this conversation, if any (with the consent still standing)."""
    row = session.get(Conversation, session_id)
    if row is None or row.merchant_id != merchant_id or row.customer_id is None:
        return None
    customer = session.get(Customer, row.customer_id)
    return customer if customer is not None and customer.remember else None


def remembered_by_email(session: Session, merchant_id: str, emails: list[str]) -> Customer | None:
    """The remembered shopper of one of these (verified) emails, the latest first."""
    wanted = [normalize_email(e) for e in emails if e.strip()]
    if not wanted:
        return None
    rows = {
        normalize_email(c.email): c
        for c in session.scalars(
            select(Customer).where(
                Customer.merchant_id == merchant_id,
                Customer.remember.is_(True),
                func.lower(Customer.email).in_(wanted),
            )
        )
    }
    return next((rows[e] for e in reversed(wanted) if e in rows), None)


# -- what the agent may know --------------------------------------------------------------
@dataclass(frozen=True)
class KnownShopper:
    """What the model is told about a remembered shopper (``to_dict`` is the context block)."""

    customer_id: int
    email: str
    name: str
    lang: str
    reminders: bool
    orders: list[dict[str, Any]] = field(default_factory=list)
    sizes: dict[str, str] = field(default_factory=dict)
    """Sizes they bought, by product category (the latest order wins)."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("customer_id")
        return data


def _size(attributes: dict[str, Any]) -> str:
    for key, value in (attributes or {}).items():
        if "size" in str(key).lower() and str(value).strip():
            return str(value).strip()[:40]
    return ""


def describe(session: Session, merchant_id: str, customer: Customer) -> KnownShopper:
    orders = _orders_of(session, merchant_id, customer.email, customer.id)
    skus = {line.sku for order in orders for line in order.lines}
    products = {
        p.sku: p
        for p in session.scalars(
            select(Product).where(Product.merchant_id == merchant_id, Product.sku.in_(skus))
        )
    }
    sizes: dict[str, str] = {}
    for order in reversed(orders):  # oldest first, so the latest purchase of a category wins
        for line in order.lines:
            product = products.get(line.sku)
            size = _size(line.attributes) or (_size(product.attributes) if product is not None else "")
            if size and product is not None and product.category:
                sizes[product.category] = size
    shown = []
    for order in orders[:MAX_ORDERS]:
        items = []
        for line in order.lines:
            product = products.get(line.sku)
            size = _size(line.attributes) or (_size(product.attributes) if product is not None else "")
            items.append(
                {"sku": line.sku, "title": line.title or (product.title if product else line.sku)}
                | ({"size": size} if size else {})
                | {"quantity": line.quantity}
            )
        placed = as_utc(order.placed_at).date().isoformat() if order.placed_at else ""
        shown.append(
            {"order_id": order.order_id, "placed_at": placed, "status": order.status, "items": items}
        )
    reminders = session.scalar(
        select(func.count()).where(Consent.customer_id == customer.id, Consent.kind == CONTACT)
    )
    return KnownShopper(
        customer_id=customer.id,
        email=customer.email,
        name=_first_name(customer, orders),
        lang=str((customer.profile or {}).get("lang") or ""),
        reminders=bool(reminders),
        orders=shown,
        sizes=sizes,
    )


def known_shopper(
    session: Session, merchant_id: str, session_id: str, verified_emails: list[str], lang: str = ""
) -> KnownShopper | None:
    """The remembered shopper of this conversation: linked already, or just recognised by an
    email verified here. ``lang`` (the conversation's) becomes their language for next time."""
    customer = linked_customer(session, merchant_id, session_id)
    if customer is None and verified_emails:
        customer = remembered_by_email(session, merchant_id, verified_emails)
        if customer is not None:
            link(session, merchant_id, session_id, customer)
    if customer is None:
        return None
    if lang and (customer.profile or {}).get("lang") != lang:
        customer.profile = {**(customer.profile or {}), "lang": lang}
    return describe(session, merchant_id, customer)
