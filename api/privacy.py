"""Shopper data export and erasure (GDPR articles 15 and 17) for a verified email.

An email counts as verified for a session when the agent verified it there (an order
lookup with id and email), or when the request names an order placed with that email.
Orders are kept for the merchant's books but lose the personal data on them; customer
records, conversations that verified the email, their carts, wishlists, consents and feedback
are deleted (the same erasure as forgetting a remembered shopper, :mod:`shop.forget`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent.state import ConversationState
from shop.errors import NotFound
from shop.forget import forget
from shop.models import Conversation, Customer, Feedback, Order
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
    """Everything the store keeps about the email goes (:func:`shop.forget.forget`: profile,
    consents, conversations, carts, wishlists, ratings); orders stay, anonymised."""
    return {"email": email, **forget(session, merchant_id, emails=[email], session_ids=[session_id])}
