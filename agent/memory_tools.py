"""Tools of a returning shopper: be remembered, be forgotten, rate the conversation.

``remember_me`` and ``forget_me`` change what the store keeps about a person, so like the
order writes they first return the exact change and run only after the shopper's explicit
yes in a later message (:mod:`agent.confirmation`). Being remembered needs an email verified
in this conversation; nothing is remembered without this consent.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from agent.context import ToolContext
from agent.events import ToolCallRecord
from agent.order_tools import _needs_confirmation
from agent.state import ConversationRecord, ConversationState
from agent.toolkit import ToolError
from shop import ratings, shoppers
from shop.db import Database
from shop.forget import forget
from shop.orders import normalize_email
from shop.shoppers import KnownShopper

NOT_VERIFIED = (
    "to remember the shopper an email must be verified in this conversation first: ask for an order id "
    "and the email on that order, call lookup_order, then call remember_me again"
)


def remember_me(ctx: ToolContext, email: str | None = None, reminders: bool = False) -> dict[str, Any]:
    """Remember the shopper next time (greeting, past orders, sizes), only when they ask. Needs an
    email verified here by lookup_order or an order. First call returns the consent to confirm.

    Args:
        email: the verified email (default: the last one verified)
        reminders: also allow one reminder of a cart left with items
    """
    verified = [normalize_email(e) for e in ctx.state.verified_emails]
    mail = normalize_email(email) if email else (verified[-1] if verified else "")
    if not mail or mail not in verified:
        raise ToolError(NOT_VERIFIED)
    extra = "; and send you one reminder if you leave items in your cart" if reminders else ""
    change = (
        f"Remember you as {mail} in this store: greet you next time and use your past orders and sizes"
        f"{extra}. You can ask me to forget you at any time."
    )
    ask = _needs_confirmation(ctx, "remember_me", {"email": mail, "reminders": reminders}, change)
    if ask is not None:
        return {**ask, "email": mail}
    with ctx.transaction() as session:
        customer = shoppers.remember(
            session, ctx.merchant_id, ctx.session_id, mail, ctx.state.lang, reminders
        )
        known = shoppers.describe(session, ctx.merchant_id, customer)
    return {
        "remembered": True,
        "email": mail,
        "name": known.name,
        "reminders": reminders,
        "past_orders": len(known.orders),
    }


def forget_me(ctx: ToolContext) -> dict[str, Any]:
    """Forget the shopper when they ask: delete their profile, conversations, cart and wishlist.
    First call returns what will be deleted, to confirm."""
    with ctx.transaction() as session:
        customer = shoppers.linked_customer(session, ctx.merchant_id, ctx.session_id)
        customer_id, email = (customer.id, customer.email) if customer is not None else (None, "")
    emails = sorted({normalize_email(e) for e in [*ctx.state.verified_emails, email] if e})
    if customer_id is None and not emails:
        raise ToolError(
            "nothing is remembered about this shopper here; to erase the data of an email, verify it "
            "first with lookup_order (order id and email), then call forget_me again"
        )
    who = ", ".join(emails) or "this conversation"
    change = (
        f"Forget you ({who}): delete your profile, consents, conversations, carts and wishlists. Orders "
        "stay in the store's books without your email or address. This cannot be undone."
    )
    ask = _needs_confirmation(ctx, "forget_me", {"emails": emails}, change)
    if ask is not None:
        return ask
    with ctx.transaction() as session:
        counts = forget(
            session,
            ctx.merchant_id,
            emails=emails,
            customer_ids=[customer_id] if customer_id is not None else [],
            session_ids=[ctx.session_id],
            keep=ctx.session_id,
        )
    return {"forgotten": True, **counts}


def rate_conversation(
    ctx: ToolContext,
    rating: Annotated[int, Field(ge=1, le=5)],
    comment: Annotated[str, Field(max_length=2000)] = "",
) -> dict[str, Any]:
    """Record the shopper's rating of this conversation, 1 to 5, when they give one.

    Args:
        rating: stars given
        comment: their words about it
    """
    with ctx.transaction() as session:
        ratings.rate(session, ctx.merchant_id, ctx.session_id, rating, comment, ctx.state.lang)
    return {"rated": rating, "note": "Thank the shopper briefly."}


# -- the service's side ----------------------------------------------------------------------
def known_for(
    db: Database, merchant_id: str, session_id: str, state: ConversationState
) -> KnownShopper | None:
    """The remembered shopper of the conversation, for the prompt (none without their consent)."""
    with db.read_session() as session:  # most conversations: nobody to recognise, nothing to write
        linked = shoppers.linked_customer(session, merchant_id, session_id)
        if (
            linked is None
            and shoppers.remembered_by_email(session, merchant_id, state.verified_emails) is None
        ):
            return None
    with db.session() as session:
        return shoppers.known_shopper(session, merchant_id, session_id, state.verified_emails, state.lang)


def forgot(records: list[ToolCallRecord]) -> bool:
    return any(
        r.name == "forget_me" and isinstance(r.result, dict) and r.result.get("forgotten") for r in records
    )


def clear_record(record: ConversationRecord) -> None:
    """After forget_me the turn's history is not stored either: the conversation starts empty."""
    old = record.state
    record.messages = []
    record.state = ConversationState(
        turn=old.turn, lang=old.lang, lang_locked=old.lang_locked, usage=old.usage
    )
