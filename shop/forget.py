"""Forgetting a shopper: everything the store keeps about them goes, except what the law needs.

Deleted: the profile (``customers`` row), its consents and remember-me tokens, every
conversation linked to it or that verified one of its emails, and with those conversations
their carts, cart reminders, wishlists, offers, ratings and messaging-channel identities.

Kept, anonymised: orders, because the merchant must keep its sales records (bookkeeping and
tax law: typically 5 to 10 years). An order loses its email, its link to the profile and its
shipping address, and gets an ``anonymized`` event. The frozen checkouts behind orders and
promotion redemptions lose the email too, and undelivered merchant events (webhooks) have
the email and session ids blanked out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Text, cast, delete, func, or_, select, update
from sqlalchemy.orm import Session

from shop.models import (
    Cart,
    CartReminder,
    ChannelIdentity,
    Checkout,
    Consent,
    Conversation,
    Customer,
    Feedback,
    Offer,
    Order,
    OrderEvent,
    OutboxEvent,
    Redemption,
    ShopperToken,
    Wishlist,
)
from shop.orders import normalize_email

ERASED = ""


def _conversations(
    session: Session, merchant_id: str, session_ids: set[str], customer_ids: set[int], emails: set[str]
) -> set[str]:
    """The conversations to delete: named, linked to the profile, or where an email was verified."""
    found: set[str] = set()
    rows = session.execute(
        select(Conversation.id, Conversation.customer_id, Conversation.state).where(
            Conversation.merchant_id == merchant_id
        )
    )
    for sid, customer_id, state in rows:
        verified = state.get("verified_emails", []) if isinstance(state, dict) else []
        mentioned = (
            {normalize_email(e) for e in verified if isinstance(e, str)}
            if isinstance(verified, list)
            else set()
        )
        if sid in session_ids or customer_id in customer_ids or mentioned & emails:
            found.add(sid)
    return found


def _scrub(value: Any, needles: set[str]) -> Any:
    """``value`` with every string that contains one of ``needles`` blanked out."""
    if isinstance(value, str):
        folded = value.lower()
        return ERASED if any(n in folded for n in needles) else value
    if isinstance(value, list):
        return [_scrub(v, needles) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, needles) for k, v in value.items()}
    return value


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def forget(
    session: Session,
    merchant_id: str,
    emails: Sequence[str] = (),
    customer_ids: Sequence[int] = (),
    session_ids: Sequence[str] = (),
    keep: str = "",
) -> dict[str, int]:
    """Erase the shopper behind these emails, profiles and conversations; returns counts.

    ``keep`` names the conversation the request came from when it goes on (a chat turn): it is
    emptied instead of deleted, so the session id (random, nothing personal) stays valid."""
    mails = {normalize_email(e) for e in emails if e.strip()}
    pks = set(customer_ids)
    if mails:
        pks |= set(
            session.scalars(
                select(Customer.id).where(
                    Customer.merchant_id == merchant_id, func.lower(Customer.email).in_(mails)
                )
            )
        )
    if pks:
        mails |= {
            normalize_email(e)
            for e in session.scalars(
                select(Customer.email).where(Customer.id.in_(pks), Customer.merchant_id == merchant_id)
            )
        }
    sids = _conversations(session, merchant_id, set(session_ids), pks, mails)
    counts: dict[str, int] = {}
    mine = Consent.merchant_id == merchant_id
    counts["consents_deleted"] = _count(
        session.execute(
            delete(Consent).where(
                mine,
                or_(
                    Consent.customer_id.in_(pks),
                    Consent.session_id.in_(sids),
                    func.lower(Consent.address).in_(mails),
                ),
            )
        )
    )
    counts["tokens_deleted"] = _count(
        session.execute(
            delete(ShopperToken).where(
                ShopperToken.merchant_id == merchant_id, ShopperToken.customer_id.in_(pks)
            )
        )
    )
    counts["reminders_deleted"] = _count(
        session.execute(
            delete(CartReminder).where(
                CartReminder.merchant_id == merchant_id, CartReminder.session_id.in_(sids)
            )
        )
    )
    counts["carts_deleted"] = _count(
        session.execute(delete(Cart).where(Cart.merchant_id == merchant_id, Cart.session_id.in_(sids)))
    )
    owners = [f"session:{s}" for s in sids] + [f"email:{m}" for m in mails] + [f"customer:{p}" for p in pks]
    counts["wishlists_deleted"] = _count(
        session.execute(
            delete(Wishlist).where(Wishlist.merchant_id == merchant_id, Wishlist.owner.in_(owners))
        )
    )
    counts["feedback_deleted"] = _count(
        session.execute(
            delete(Feedback).where(Feedback.merchant_id == merchant_id, Feedback.session_id.in_(sids))
        )
    )
    counts["offers_deleted"] = _count(
        session.execute(delete(Offer).where(Offer.merchant_id == merchant_id, Offer.session_id.in_(sids)))
    )
    needles = mails | sids
    orders = list(
        session.scalars(
            select(Order).where(
                Order.merchant_id == merchant_id,
                or_(func.lower(Order.email).in_(mails), Order.customer_id.in_(pks)),
            )
        )
    )
    for order in orders:
        order.email, order.customer_id, order.shipping_address = ERASED, None, {}
        order.extra = _scrub(order.extra or {}, needles)
        order.events.append(
            OrderEvent(kind="anonymized", data={"reason": "the shopper asked to be forgotten"})
        )
    counts["orders_anonymized"] = len(orders)
    counts["checkouts_anonymized"] = _count(
        session.execute(
            update(Checkout)
            .where(
                Checkout.merchant_id == merchant_id,
                or_(Checkout.session_id.in_(sids), func.lower(Checkout.email).in_(mails)),
            )
            .values(email=ERASED, shipping_address={})
        )
    )
    session.execute(
        update(Redemption)
        .where(Redemption.merchant_id == merchant_id, func.lower(Redemption.email).in_(mails))
        .values(email=ERASED)
    )
    if needles:
        as_text = func.lower(cast(OutboxEvent.payload, Text))
        mentioning = or_(*[as_text.contains(n, autoescape=True) for n in needles])
        for event in session.scalars(
            select(OutboxEvent).where(OutboxEvent.merchant_id == merchant_id, mentioning)
        ):
            event.payload = _scrub(event.payload, needles)
    session.execute(
        delete(ChannelIdentity).where(
            ChannelIdentity.merchant_id == merchant_id, ChannelIdentity.session_id.in_(sids)
        )
    )
    counts["conversations_deleted"] = _count(
        session.execute(
            delete(Conversation).where(
                Conversation.merchant_id == merchant_id, Conversation.id.in_(sids - {keep})
            )
        )
    )
    kept = session.get(Conversation, keep) if keep else None
    if kept is not None and kept.merchant_id == merchant_id:
        lang = str((kept.state or {}).get("lang") or kept.lang or "")
        kept.messages, kept.state, kept.customer_id, kept.handoff = (
            [],
            {"lang": lang} if lang else {},
            None,
            "",
        )
        counts["conversations_deleted"] += 1
    session.execute(update(Order).where(Order.customer_id.in_(pks)).values(customer_id=None))
    counts["customers_deleted"] = _count(
        session.execute(delete(Customer).where(Customer.merchant_id == merchant_id, Customer.id.in_(pks)))
    )
    session.flush()
    return counts
