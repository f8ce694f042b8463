"""Who the customer is, for the τ² tools: authenticated once per conversation, then only their data.

A customer is authenticated by ``find_user_id_by_email`` or ``find_user_id_by_name_zip``;
their email is kept in the conversation state (``verified_emails``), so the server, not
the model, knows whose profile and orders may be read or changed. A conversation serves
one customer, and failed lookups are capped so details cannot be guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from agent.context import ToolContext
from agent.toolkit import ToolError
from shop import customers
from shop.errors import NotFound
from shop.models import Customer

MAX_FAILED_LOOKUPS = 5


def authenticated(ctx: ToolContext, session: Session) -> Customer:
    """The customer this conversation authenticated, or a :class:`ToolError` saying how to."""
    for email in ctx.state.verified_emails:
        try:
            return customers.find_by_email(session, ctx.merchant_id, email)
        except NotFound:
            continue
    raise ToolError(
        "the customer is not authenticated yet: ask for their email (or name and zip code) and call "
        "find_user_id_by_email or find_user_id_by_name_zip first"
    )


def authenticate(ctx: ToolContext, session: Session, find: Callable[[], Customer]) -> dict[str, Any]:
    """Run a lookup; the customer it finds becomes (or must already be) the conversation's."""
    if ctx.state.failed_lookups >= MAX_FAILED_LOOKUPS:
        raise ToolError(
            "too many failed lookups in this conversation: transfer the customer to a human agent"
        )
    try:
        customer = find()
    except NotFound:
        ctx.state.failed_lookups += 1
        raise
    email = customer.email.lower()
    if ctx.state.verified_emails and email not in ctx.state.verified_emails:
        current = authenticated(ctx, session)
        if current.id != customer.id:
            raise ToolError(
                "this conversation already serves another customer; one customer per conversation: "
                "deny requests about other customers"
            )
    if email not in ctx.state.verified_emails:
        ctx.state.verified_emails.append(email)
    return {"user_id": customers.user_id_of(customer)}


def own_user_id(ctx: ToolContext, session: Session, user_id: str) -> str:
    """``user_id`` when it is the authenticated customer's; a :class:`ToolError` otherwise."""
    mine = customers.user_id_of(authenticated(ctx, session))
    if user_id.strip() != mine:
        raise ToolError(f"you may only access the authenticated customer's profile (user id {mine})")
    return mine
