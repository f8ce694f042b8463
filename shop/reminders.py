"""Abandoned-cart reminders: one per cart, through an outbox the worker claims and acknowledges.

:func:`produce` finds carts that still hold items, have been idle for
``cart_reminder_minutes`` (but not longer than ``cart_reminder_max_age_hours``) and whose
shopper gave contact consent, and writes one ``cart_reminders`` row per cart with the
message already rendered in the shopper's language. ``cart_id`` is unique there, so a cart
is reminded at most once whatever the workers do.

Sending is claim, send, acknowledge: :func:`claim_due` moves due rows to ``sending`` with a
fresh claim id and a lease; :func:`ack` marks a row ``sent`` only for the claim that sent it;
:func:`release` puts a failed one back with a backoff (``failed`` after ``MAX_ATTEMPTS``). A
worker that dies between claim and send leaves its row ``sending``: once the lease ends the
row is claimed again and sent, so nothing is lost and nothing was sent twice. The one window
left is a crash after the mail server accepted the message and before the acknowledgement
is written (a few milliseconds); the retry then carries the same ``Message-ID``, which mail
systems use to drop the duplicate.

The link in the message carries a random token (stored hashed); :func:`restore` copies the
reminded cart into whichever session opens it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop.carts import CartView, set_quantity, view_cart
from shop.catalog import get_merchant
from shop.db import Database
from shop.errors import NotFound, ShopError
from shop.models import (
    Cart,
    CartLine,
    CartReminder,
    ChannelIdentity,
    Consent,
    Conversation,
    Customer,
    as_utc,
)
from shop.settings import Settings
from shop.shoppers import CONTACT

LEASE = timedelta(minutes=5)
"""How long a claim holds a row; longer than any send takes (SMTP and platform timeouts)."""
MAX_ATTEMPTS = 5
BACKOFF = timedelta(minutes=1)
LINK_DAYS = 14
"""How long the link back to the cart works."""
BATCH = 50
CHANNELS = ("telegram", "whatsapp", "messenger")
EXPIRED = "this cart link is unknown or has expired"
LOCAL_URL = "http://127.0.0.1:8000"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@lru_cache(maxsize=1)
def _texts() -> dict[str, dict[str, str]]:
    raw: Any = yaml.safe_load((resources.files("shop") / "reminder_texts.yaml").read_text(encoding="utf-8"))
    return {str(lang): {str(k): str(v) for k, v in entries.items()} for lang, entries in raw.items()}


def text(lang: str, key: str, **values: object) -> str:
    table = _texts()
    entries = table.get(lang.split("-")[0].lower(), table["en"])
    return (entries.get(key) or table["en"][key]).format(**values)


def cart_link(settings: Settings, merchant_id: str, token: str) -> str:
    base = (settings.public_url or LOCAL_URL).rstrip("/")
    return f"{base}/v1/cart/restore/{token}?merchant={merchant_id}"


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def compose(store: str, cart: CartView, lang: str, link: str, name: str, channel: str) -> Message:
    """The reminder in the shopper's language; every figure comes from the cart as the store prices it."""
    subtotal = f"{cart.subtotal.to_str()} {cart.currency}"
    subject = text(lang, "subject", store=store)
    if channel != "email":
        return Message(
            subject, text(lang, "chat", store=store, count=cart.item_count, subtotal=subtotal, link=link)
        )
    lines = "\n".join(
        f"- {line.quantity} x {line.title}: {line.line_total.to_str()} {cart.currency}" for line in cart.lines
    )
    parts = [
        text(lang, "hello_named", name=name) if name else text(lang, "hello"),
        "",
        text(lang, "intro", store=store),
        lines,
        text(lang, "subtotal", subtotal=subtotal),
        "",
        text(lang, "link", link=link),
        "",
        text(lang, "footer"),
    ]
    return Message(subject, "\n".join(parts))


# -- producing ----------------------------------------------------------------------------
def _route(
    session: Session, conversation: Conversation, consent: Consent, email_ok: bool
) -> tuple[str, str] | None:
    """(channel, recipient): the email the shopper gave, else the platform they wrote from."""
    if consent.address:
        return ("email", consent.address) if email_ok else None
    if conversation.channel in CHANNELS:
        recipient = session.scalar(
            select(ChannelIdentity.platform_user_id).where(
                ChannelIdentity.merchant_id == conversation.merchant_id,
                ChannelIdentity.session_id == conversation.id,
            )
        )
        return (conversation.channel, recipient) if recipient else None
    return None


def produce(db: Database, settings: Settings, now: datetime, limit: int = BATCH) -> int:
    """Write the reminder of every cart that is due one; returns how many were written."""
    if settings.cart_reminder_minutes <= 0:
        return 0
    idle_since = now - timedelta(minutes=settings.cart_reminder_minutes)
    too_old = now - timedelta(hours=settings.cart_reminder_max_age_hours)
    consented = (Consent.merchant_id == Cart.merchant_id) & (Consent.kind == CONTACT)
    mine = or_(
        Consent.session_id == Cart.session_id,
        Consent.customer_id.is_not(None) & (Consent.customer_id == Conversation.customer_id),
    )
    written = 0
    with db.session() as session:
        rows = session.execute(
            select(Cart, Conversation, Consent)
            .join(Conversation, Conversation.id == Cart.session_id)
            .join(Consent, consented & mine)
            .outerjoin(CartReminder, CartReminder.cart_id == Cart.id)
            .where(
                CartReminder.id.is_(None),
                Cart.updated_at <= idle_since,
                Cart.updated_at > too_old,
                exists(select(CartLine.id).where(CartLine.cart_id == Cart.id)),
            )
            .order_by(Cart.updated_at, Consent.given_at.desc())
            .limit(limit * 2)
        ).all()
        seen: set[int] = set()
        for cart, conversation, consent in rows:
            if cart.id in seen or len(seen) >= limit:
                continue
            seen.add(cart.id)
            route = _route(session, conversation, consent, bool(settings.smtp_host))
            if route is None:
                continue
            try:
                with session.begin_nested():  # a concurrent worker may have written it first
                    written += _write(session, settings, cart, conversation, consent, route, now)
            except IntegrityError:
                continue
    return written


def _write(
    session: Session,
    settings: Settings,
    cart: Cart,
    conversation: Conversation,
    consent: Consent,
    route: tuple[str, str],
    now: datetime,
) -> int:
    view = view_cart(session, cart.merchant_id, cart.session_id)
    if not view.lines:
        return 0
    merchant = get_merchant(session, cart.merchant_id)
    lang = consent.lang or conversation.lang or str((merchant.languages or ["en"])[0])
    customer = session.get(Customer, conversation.customer_id) if conversation.customer_id else None
    token = secrets.token_urlsafe(24)
    channel, recipient = route
    message = compose(
        merchant.name or merchant.id,
        view,
        lang,
        cart_link(settings, cart.merchant_id, token),
        customer.first_name if customer is not None and customer.remember else "",
        channel,
    )
    session.add(
        CartReminder(
            merchant_id=cart.merchant_id,
            cart_id=cart.id,
            session_id=cart.session_id,
            channel=channel,
            recipient=recipient,
            lang=lang,
            subject=message.subject,
            body=message.body,
            link_hash=_hash(token),
            link_expires_at=now + timedelta(days=LINK_DAYS),
            status="pending",
            claim="",
            attempts=0,
            next_attempt_at=now,
            last_error="",
            created_at=now,
        )
    )
    session.flush()
    return 1


# -- sending: claim, acknowledge, release -----------------------------------------------------
@dataclass(frozen=True)
class Claimed:
    id: int
    claim: str
    merchant_id: str
    session_id: str
    channel: str
    recipient: str
    lang: str
    subject: str
    body: str
    attempt: int

    @property
    def message_id(self) -> str:
        """The same for every attempt, so a receiver can drop a duplicate."""
        return f"<cart-reminder-{self.id}.{self.merchant_id}@shopagent>"


def claim_due(db: Database, now: datetime, limit: int = BATCH) -> list[Claimed]:
    """Claim every reminder due now (pending, or sending under a lease that has run out)."""
    claimed: list[Claimed] = []
    with db.session() as session:
        rows = session.scalars(
            select(CartReminder)
            .where(CartReminder.status.in_(("pending", "sending")), CartReminder.next_attempt_at <= now)
            .order_by(CartReminder.next_attempt_at, CartReminder.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            if not session.scalar(select(exists().where(CartLine.cart_id == row.cart_id))):
                row.status, row.claim = "cancelled", ""  # ordered or emptied since: nothing to remind of
                continue
            row.status, row.claim = "sending", secrets.token_hex(8)
            row.attempts += 1
            row.next_attempt_at = now + LEASE
            claimed.append(
                Claimed(
                    row.id,
                    row.claim,
                    row.merchant_id,
                    row.session_id,
                    row.channel,
                    row.recipient,
                    row.lang,
                    row.subject,
                    row.body,
                    row.attempts,
                )
            )
    return claimed


def ack(db: Database, item: Claimed, now: datetime) -> bool:
    """Mark it sent; False when the claim was lost (its lease ran out and another worker took it)."""
    with db.session() as session:
        result = session.execute(
            update(CartReminder)
            .where(
                CartReminder.id == item.id, CartReminder.claim == item.claim, CartReminder.status == "sending"
            )
            .values(status="sent", sent_at=now, claim="", last_error="")
        )
        return bool(getattr(result, "rowcount", 0))


def release(db: Database, item: Claimed, now: datetime, error: str) -> str:
    """Give a failed send back: retried after a backoff, or ``failed`` after the last attempt."""
    done = item.attempt >= MAX_ATTEMPTS
    status = "failed" if done else "pending"
    with db.session() as session:
        session.execute(
            update(CartReminder)
            .where(
                CartReminder.id == item.id, CartReminder.claim == item.claim, CartReminder.status == "sending"
            )
            .values(
                status=status,
                claim="",
                last_error=error[:500],
                next_attempt_at=now if done else now + BACKOFF * 2 ** (item.attempt - 1),
            )
        )
    return status


# -- the link back ---------------------------------------------------------------------------
def restore(session: Session, merchant_id: str, token: str, into_session_id: str, now: datetime) -> CartView:
    """Put the reminded cart's items into ``into_session_id`` (quantities are not added up twice
    when the link is opened again); items sold out or withdrawn since are skipped."""
    row = session.scalar(select(CartReminder).where(CartReminder.link_hash == _hash(token)))
    if row is None or row.merchant_id != merchant_id or as_utc(row.link_expires_at) <= now:
        raise NotFound(EXPIRED)
    if row.session_id != into_session_id:
        wanted = view_cart(session, merchant_id, row.session_id)
        have = view_cart(session, merchant_id, into_session_id).quantities()
        for line in wanted.lines:
            if have.get(line.sku, 0) >= line.quantity:
                continue
            try:
                with session.begin_nested():
                    set_quantity(session, merchant_id, into_session_id, line.sku, line.quantity)
            except ShopError:
                continue
    return view_cart(session, merchant_id, into_session_id)
