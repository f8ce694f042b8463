"""Write tools (checkout, cancel, return) and order lookup, guarded by server-side rules.

The model cannot place, cancel or return on its own say-so. ``prepare_checkout`` and the
first call of ``cancel_order``/``return_items`` record a pending write and return the exact
change; only after the shopper's explicit yes in a *later* message (recorded by the loop,
see :mod:`agent.confirmation`) does the identical call go through. Order tools need the
order id and the email on the order.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from agent import state as conversation
from agent.context import ToolContext
from agent.state import Pending
from agent.toolkit import ToolError
from shop import checkout, orders
from shop.catalog import get_merchant
from shop.checkout import CheckoutSummary
from shop.errors import InvalidRequest, NotFound
from shop.models import Checkout, Order
from shop.money import Money

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ShippingAddress(BaseModel):
    name: str = Field(max_length=200)
    line1: str = Field(max_length=300)
    city: str = Field(max_length=120)
    postal_code: str = Field(max_length=20)
    country: str = Field(min_length=2, max_length=2, description="ISO country code, e.g. LT")


class ReturnLine(BaseModel):
    sku: str
    quantity: int = Field(ge=1, le=99)


def _email(ctx: ToolContext, email: str) -> str:
    """``email`` when it is an address the shopper wrote or one verified in this conversation: a
    model must not guess one (it would look up, or send a receipt to, somebody else)."""
    value = email.strip()
    if not EMAIL.match(value):
        raise ToolError(f"{value!r} is not an email address: ask the shopper for the email on the order")
    if ctx.messages and value.lower() not in ctx.state.verified_emails and not ctx.shopper_wrote(value):
        raise ToolError("the shopper has not given that email: ask them for their email, never guess one")
    return value


def checkout_text(summary: CheckoutSummary) -> str:
    """The summary a shopper confirms, rendered by the server from the frozen checkout."""
    cur = summary.currency
    lines = [
        f"{line['quantity']} x {line['title']} ({line['sku']}): {Money(line['line_total_minor'], cur)}"
        for line in summary.lines
    ]
    lines.append(f"Shipping ({summary.shipping_method}): {summary.shipping}")
    if summary.discount.minor:
        lines.append(f"Discount: -{summary.discount}")
    lines.append(f"Total: {summary.total}")
    return "\n".join(lines)


def prepare_checkout(
    ctx: ToolContext,
    email: str | None = None,
    shipping_method: Literal["standard", "express"] = "standard",
    shipping_address: ShippingAddress | None = None,
) -> dict[str, Any]:
    """Freeze the cart into an order summary for the shopper to confirm. Nothing is charged yet.

    Args:
        email: the shopper's email for the order
        shipping_method: standard or express
        shipping_address: where to ship
    """
    address = shipping_address.model_dump() if shipping_address else {}
    known = ctx.state.verified_emails[-1] if ctx.state.verified_emails else ""
    mail = _email(ctx, email) if email else known
    if not mail:
        raise ToolError("an email is needed for the order: ask the shopper for it, then call again")
    with ctx.transaction() as session:
        summary = checkout.prepare(session, ctx.merchant_id, ctx.session_id, mail, address, shipping_method)
    ctx.state.pending = Pending(
        "checkout", ctx.state.turn, checkout_id=summary.checkout_id, summary=checkout_text(summary)
    )
    return {
        "checkout": summary.to_dict(),
        "next": "Show this exact summary (items, shipping, total) and ask the shopper to confirm with a yes. "
        "Call place_order only after they confirm in a new message.",
    }


def _confirmed_in_store(ctx: ToolContext, checkout_id: str) -> bool:
    """The shopper may also have confirmed with the widget's button, recorded on the checkout."""
    with ctx.transaction() as session:
        row = session.get(Checkout, checkout_id)
        return row is not None and row.session_id == ctx.session_id and row.status == "confirmed"


def place_order(ctx: ToolContext, checkout_id: str | None = None) -> dict[str, Any]:
    """Place the order of the prepared checkout, after the shopper confirmed its summary.

    Args:
        checkout_id: the id prepare_checkout returned
    """
    pending = ctx.state.pending
    if pending is None or pending.kind != "checkout":
        raise ToolError("there is no prepared checkout: call prepare_checkout and show its summary first")
    if checkout_id and checkout_id.strip() != pending.checkout_id:
        raise ToolError("that is not the current checkout: use the id of the latest prepare_checkout")
    if not pending.confirmed and not _confirmed_in_store(ctx, pending.checkout_id):
        raise ToolError(
            "the shopper has not confirmed this order yet: show the summary and wait for their explicit yes"
        )
    order = checkout.confirm(
        ctx.db,
        ctx.merchant_id,
        ctx.session_id,
        pending.checkout_id,
        f"chat:{ctx.session_id}:{pending.checkout_id}",
        ctx.payment,
        require_recorded_confirmation=True,
    )
    ctx.state.pending = None
    ctx.cart_changed = True
    if order.email.lower() not in ctx.state.verified_emails:
        ctx.state.verified_emails.append(order.email.lower())
    return {
        "order_id": order.order_id,
        "status": order.status,
        "total": Money(order.total_minor, order.currency).to_str(),
        "currency": order.currency,
        "email": order.email,
        "payment_instructions": order.extra.get("payment_instructions", ""),
        "payment_url": order.extra.get("payment_url", ""),
    }


def _check_lookups(ctx: ToolContext) -> None:
    if ctx.state.failed_lookups >= ctx.settings.lookup_limit_per_session:
        raise ToolError("too many failed order lookups in this conversation: offer a human instead")
    if ctx.lookup_gate is not None and not ctx.lookup_gate():
        # Many new sessions from one address must not multiply the per-conversation limit.
        raise ToolError("too many order lookups from this address: offer a human instead")


def _find_order(ctx: ToolContext, session: Session, order_id: str, email: str) -> Order:
    """The order with this id and email. A wrong pair counts toward the conversation's limit as a
    failed lookup does, so cancel and return cannot be used to guess orders either."""
    _check_lookups(ctx)
    try:
        return orders.find_order(session, ctx.merchant_id, order_id, email)
    except NotFound:
        ctx.state.failed_lookups += 1
        raise


def lookup_order(ctx: ToolContext, order_id: str, email: str) -> dict[str, Any]:
    """Status, items and tracking of an order. Needs the order id and the email on the order.

    Args:
        order_id: e.g. A1001
        email: the email used for the order
    """
    _check_lookups(ctx)
    with ctx.transaction() as session:
        try:
            result = orders.lookup(session, ctx.merchant_id, order_id, _email(ctx, email))
        except NotFound:
            ctx.state.failed_lookups += 1
            raise
    verified = email.strip().lower()
    if verified not in ctx.state.verified_emails:
        ctx.state.verified_emails.append(verified)
    return {"order": result}


def _needs_confirmation(
    ctx: ToolContext, tool: str, key_args: dict[str, Any], change: str
) -> dict[str, Any] | None:
    """None when this exact call was confirmed by the shopper; otherwise record it and ask."""
    key = json.dumps(key_args, sort_keys=True, ensure_ascii=False)
    pending = ctx.state.pending
    same = pending is not None and pending.kind == "action" and pending.tool == tool and pending.key == key
    if same and pending is not None and pending.confirmed:
        ctx.state.pending = None
        return None
    if not same:
        ctx.state.pending = Pending("action", ctx.state.turn, tool=tool, key=key, summary=change)
    return {
        "status": "needs_confirmation",
        "change": change,
        "next": f"Tell the shopper exactly this change and ask for an explicit yes. After they confirm in a "
        f"new message, call {tool} again with the same arguments.",
    }


def _order_key(order_id: str, email: str) -> dict[str, Any]:
    return {"order_id": order_id.strip().lstrip("#"), "email": email.strip().lower()}


def cancel_order(ctx: ToolContext, order_id: str, email: str, reason: str = "") -> dict[str, Any]:
    """Cancel an order that has not shipped. First call returns the change to confirm with the shopper.

    Args:
        order_id: the order id
        email: the email on the order
        reason: why, in the shopper's words
    """
    mail = _email(ctx, email)
    with ctx.transaction() as session:
        order = _find_order(ctx, session, order_id, mail)
        if order.status not in orders.CANCELLABLE:
            raise InvalidRequest(
                f"order {order.order_id} is {order.status}; only pending or paid orders can be cancelled"
            )
        items = ", ".join(f"{line.quantity} x {line.title}" for line in order.lines)
        change = f"Cancel order {order.order_id} ({items}; total {Money(order.total_minor, order.currency)})."
        ask = _needs_confirmation(ctx, "cancel_order", _order_key(order_id, mail), change)
        if ask is not None:
            return ask
        return {"cancelled": orders.cancel(session, ctx.merchant_id, order_id, mail, reason)}


def return_items(
    ctx: ToolContext, order_id: str, email: str, items: list[ReturnLine] | None = None
) -> dict[str, Any]:
    """Return delivered items (all of them when items is empty). First call returns the change to confirm.

    Args:
        order_id: the order id
        email: the email on the order
        items: which SKUs and how many; leave out to return everything
    """
    mail = _email(ctx, email)
    wanted: dict[str, int] = {}
    for line in items or []:
        wanted[line.sku.strip()] = wanted.get(line.sku.strip(), 0) + line.quantity
    with ctx.transaction() as session:
        order = _find_order(ctx, session, order_id, mail)
        if order.status not in orders.RETURNABLE:
            raise InvalidRequest(
                f"order {order.order_id} is {order.status}; only delivered orders can be returned"
            )
        left = {line.sku: line.quantity - line.returned_quantity for line in order.lines}
        plan = wanted or {sku: n for sku, n in left.items() if n > 0}
        for sku, qty in plan.items():
            if sku not in left:
                raise InvalidRequest(f"{sku} is not part of order {order.order_id}")
            if qty > left[sku]:
                raise InvalidRequest(f"{sku}: you can return at most {left[sku]} of it")
        prices = {line.sku: line.unit_price_minor for line in order.lines}
        refund = Money(sum(prices[s] * q for s, q in plan.items()), order.currency)
        described = ", ".join(f"{q} x {s}" for s, q in sorted(plan.items()))
        change = f"Return from order {order.order_id}: {described}; refund {refund}."
        key = {**_order_key(order_id, mail), "items": dict(sorted(plan.items()))}
        ask = _needs_confirmation(ctx, "return_items", key, change)
        if ask is not None:
            return ask
        return {"returned": orders.return_items(session, ctx.merchant_id, order_id, mail, plan)}


def handoff_to_human(ctx: ToolContext, reason: Annotated[str, Field(max_length=500)] = "") -> dict[str, Any]:
    """Hand the conversation to a person on the store's team and get how to reach them.

    Args:
        reason: short reason for the handoff
    """
    ctx.state.handoff_reason = reason
    conversation.request_handoff(ctx.db, ctx.merchant_id, ctx.session_id)
    with ctx.transaction() as session:
        contact = get_merchant(session, ctx.merchant_id).handoff_contact
    return {"status": "requested", "contact": contact or "the store's team will reply in this chat"}
