"""Shopper data export and erasure (GDPR articles 15 and 17) for a verified email.

An email counts as verified for a session when the agent verified it there (an order
lookup with id and email), or when the request names an order placed with that email.
Orders are kept for the merchant's books but lose the personal data on them; customer
records, conversations that verified the email, their carts and feedback are deleted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from agent.state import ConversationState
from shop.errors import NotFound
from shop.models import Cart, Checkout, Conversation, Customer, Feedback, Order, OrderEvent
from shop.orders import find_order, normalize_email, order_to_dict

NOT_VERIFIED = "this email is not verified for this session: include an order id placed with it"


class NotVerified(Exception):
    pass


def verify(session: Session, merchant_id: str, session_id: str, email: str, order_id: str | None) -> str:
    """The normalized email once shown to belong to the caller, else :class:`NotVerified`."""
    wanted = normalize_email(email)
    if order_id:
        try:
            find_order(session, merchant_id, order_id, email)
        except NotFound:
            raise NotVerified(NOT_VERIFIED) from None
        return wanted
    row = session.get(Conversation, session_id)
    if row is not None and row.merchant_id == merchant_id:
        verified = {normalize_email(e) for e in ConversationState.from_dict(row.state or {}).verified_emails}
        if wanted in verified:
            return wanted
    raise NotVerified(NOT_VERIFIED)


def _orders(session: Session, merchant_id: str, email: str) -> list[Order]:
    return list(
        session.scalars(
            select(Order)
            .where(Order.merchant_id == merchant_id, func.lower(Order.email) == email)
            .order_by(Order.id)
        )
    )


def _conversations(session: Session, merchant_id: str, session_id: str, email: str) -> list[Conversation]:
    """The caller's own conversation and every conversation where this email was verified."""
    found = []
    for row in session.scalars(select(Conversation).where(Conversation.merchant_id == merchant_id)):
        emails = {
            normalize_email(e) for e in (row.state or {}).get("verified_emails", []) if isinstance(e, str)
        }
        if row.id == session_id or email in emails:
            found.append(row)
    return found


def export(session: Session, merchant_id: str, session_id: str, email: str) -> dict[str, Any]:
    customer = session.scalar(
        select(Customer).where(Customer.merchant_id == merchant_id, func.lower(Customer.email) == email)
    )
    conversations = _conversations(session, merchant_id, session_id, email)
    ids = [c.id for c in conversations]
    feedback = session.scalars(
        select(Feedback).where(Feedback.merchant_id == merchant_id, Feedback.session_id.in_(ids))
    )
    return {
        "email": email,
        "customer": None
        if customer is None
        else {
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "address": customer.address,
            "profile": customer.profile,
            "created_at": customer.created_at.isoformat(),
        },
        "orders": [order_to_dict(o) for o in _orders(session, merchant_id, email)],
        "conversations": [
            {
                "session_id": c.id,
                "created_at": c.created_at.isoformat(),
                "messages": [
                    {"role": m.get("role"), "content": m.get("content", "")}
                    for m in c.messages or []
                    if isinstance(m, dict) and m.get("role") in ("user", "assistant") and m.get("content")
                ],
            }
            for c in conversations
        ],
        "feedback": [
            {
                "session_id": f.session_id,
                "rating": f.rating,
                "comment": f.comment,
                "created_at": f.created_at.isoformat(),
            }
            for f in feedback
        ],
    }


def erase(session: Session, merchant_id: str, session_id: str, email: str) -> dict[str, Any]:
    customer_ids = list(
        session.scalars(
            select(Customer.id).where(
                Customer.merchant_id == merchant_id, func.lower(Customer.email) == email
            )
        )
    )
    orders = _orders(session, merchant_id, email)
    for order in orders:
        order.email = ""
        order.shipping_address = {}
        order.events.append(OrderEvent(kind="anonymized", data={"reason": "shopper erasure request"}))
    if customer_ids:
        session.execute(update(Order).where(Order.customer_id.in_(customer_ids)).values(customer_id=None))
        session.execute(delete(Customer).where(Customer.id.in_(customer_ids)))
    checkouts = list(
        session.scalars(
            select(Checkout).where(Checkout.merchant_id == merchant_id, func.lower(Checkout.email) == email)
        )
    )
    for checkout in checkouts:
        checkout.email = ""
        checkout.shipping_address = {}
    conversations = _conversations(session, merchant_id, session_id, email)
    ids = [c.id for c in conversations]
    feedback = len(
        list(
            session.scalars(
                select(Feedback.id).where(Feedback.merchant_id == merchant_id, Feedback.session_id.in_(ids))
            )
        )
    )
    session.execute(delete(Feedback).where(Feedback.merchant_id == merchant_id, Feedback.session_id.in_(ids)))
    session.execute(delete(Cart).where(Cart.merchant_id == merchant_id, Cart.session_id.in_(ids)))
    for conversation in conversations:
        session.delete(conversation)
    session.flush()
    return {
        "email": email,
        "customers_deleted": len(customer_ids),
        "orders_anonymized": len(orders),
        "checkouts_anonymized": len(checkouts),
        "conversations_deleted": len(conversations),
        "feedback_deleted": feedback,
    }
