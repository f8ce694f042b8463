"""The τ² write tools: each first call is a dry run that returns the exact change to confirm.

The dry run applies the change inside a savepoint and rolls it back, so every rule of
:mod:`shop.post_purchase` is checked and the figures shown (refunds, price differences)
are the ones that will be booked. The change becomes the conversation's pending action;
only after the shopper's explicit yes in a later message (recorded by the service, see
:mod:`agent.confirmation`) does the identical call go through.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field
from sqlalchemy.orm import Session

from agent import state as conversation
from agent.context import ToolContext
from agent.state import Pending
from agent.tau2_identity import authenticated
from agent.toolkit import ToolError
from shop import customers, post_purchase, product_types
from shop.catalog import get_merchant
from shop.customers import Address
from shop.models import Customer, Order
from shop.money import Money

TRANSFER_MESSAGE = "YOU ARE BEING TRANSFERRED TO A HUMAN AGENT. PLEASE HOLD ON."

Id = Annotated[str, Field(min_length=1, max_length=80)]
Text = Annotated[str, Field(max_length=200)]
ItemIds = Annotated[list[Id], Field(min_length=1, max_length=50)]
Reason = Literal["no longer needed", "ordered by mistake"]
Row = TypeVar("Row", Order, Customer)


def _confirmed(ctx: ToolContext, name: str, arguments: dict[str, Any], change: str) -> bool:
    """True when the shopper said yes to exactly this call; otherwise it becomes the pending action."""
    key = json.dumps(arguments, sort_keys=True, ensure_ascii=False)
    pending = ctx.state.pending
    same = pending is not None and pending.kind == "action" and pending.tool == name and pending.key == key
    if same and pending is not None and pending.confirmed:
        ctx.state.pending = None
        return True
    if not same:
        ctx.state.pending = Pending("action", ctx.state.turn, tool=name, key=key, summary=change)
    return False


def _write(
    ctx: ToolContext,
    name: str,
    arguments: dict[str, Any],
    apply: Callable[[Session, str], Row],
    describe: Callable[[Session, Row], str],
) -> dict[str, Any]:
    """Dry-run ``apply`` (rules checked, nothing kept) and ask; after the shopper's yes, apply it."""
    with ctx.transaction() as session:
        user_id = customers.user_id_of(authenticated(ctx, session))
        savepoint = session.begin_nested()
        try:
            change = describe(session, apply(session, user_id))
        finally:
            savepoint.rollback()
        if not _confirmed(ctx, name, arguments, change):
            return {
                "status": "needs_confirmation",
                "change": change,
                "next": "Nothing has changed yet. Tell the customer exactly this change and ask for an explicit "
                f"yes. After they confirm in a new message, call {name} again with the same arguments.",
            }
        done = apply(session, user_id)
        result = _record(session, done)
    return {"status": "done", "change": change, "result": result}


def _record(session: Session, row: Order | Customer) -> dict[str, Any]:
    if isinstance(row, Order):
        return post_purchase.order_record(session, row)
    currency = get_merchant(session, row.merchant_id).currency
    return customers.customer_details(session, row, currency)


def _money(order: Order, minor: int) -> str:
    return str(Money(minor, order.currency))


def _item_text(session: Session, merchant_id: str, item_id: str) -> str:
    item = product_types.get_item(session, merchant_id, item_id)
    options = ", ".join(f"{k} {v}" for k, v in item.attributes.items())
    return f"{item.title} {item.sku} ({options}; {Money(item.price_minor, item.currency)})"


def _swap_text(session: Session, order: Order, item_ids: list[str], new_item_ids: list[str]) -> str:
    pairs = [
        f"{_item_text(session, order.merchant_id, old)} -> {_item_text(session, order.merchant_id, new)}"
        for old, new in zip(item_ids, new_item_ids, strict=False)
    ]
    return "; ".join(pairs)


def _settlement(order: Order, difference: int, payment_method_id: str) -> str:
    if difference > 0:
        return (
            f"the customer pays the price difference of {_money(order, difference)} with {payment_method_id}"
        )
    if difference < 0:
        return f"the price difference of {_money(order, -difference)} is refunded to {payment_method_id}"
    return "there is no price difference"


def _swap_arguments(
    order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str
) -> dict[str, Any]:
    """The arguments of an item swap (modify or exchange) with the white space stripped: what the
    shopper's yes is matched against."""
    return {
        "order_id": order_id.strip(),
        "item_ids": [i.strip() for i in item_ids],
        "new_item_ids": [i.strip() for i in new_item_ids],
        "payment_method_id": payment_method_id.strip(),
    }


def _address(address1: str, address2: str, city: str, state: str, country: str, zip: str) -> Address:
    return Address(
        address1.strip(), address2.strip(), city.strip(), state.strip(), country.strip(), zip.strip()
    )


def cancel_pending_order(ctx: ToolContext, order_id: Id, reason: Reason) -> dict[str, Any]:
    """Cancel a pending order and refund it (gift cards at once, other methods in 5-7 business days).
    Needs the customer's explicit yes: the first call only returns the change to confirm.

    Args:
        order_id: e.g. #W0000000
        reason: 'no longer needed' or 'ordered by mistake'
    """

    def apply(session: Session, user_id: str) -> Order:
        return post_purchase.cancel_pending_order(session, ctx.merchant_id, order_id, reason, user_id)

    def describe(session: Session, row: Order) -> str:
        refunds = [p for p in post_purchase.payment_history(row) if p["transaction_type"] == "refund"]
        paid = ", ".join(
            f"{_money(row, int(p['amount_minor']))} to {p['payment_method_id']}" for p in refunds
        )
        items = ", ".join(f"{line.title} {line.sku}" for line in row.lines)
        return f"Cancel order {row.order_id} ({items}) because: {reason}. Refund: {paid or 'nothing'}."

    return _write(
        ctx, "cancel_pending_order", {"order_id": order_id.strip(), "reason": reason}, apply, describe
    )


def modify_pending_order_address(
    ctx: ToolContext,
    order_id: Id,
    address1: Text,
    address2: Text,
    city: Text,
    state: Text,
    country: Text,
    zip: Text,
) -> dict[str, Any]:
    """Change the shipping address of a pending order. The first call only returns the change to confirm.

    Args:
        order_id: e.g. #W0000000
        address1: e.g. 123 Main St
        address2: e.g. Apt 1, or empty
        city: e.g. San Francisco
        state: e.g. CA
        country: e.g. USA
        zip: e.g. 12345
    """
    address = _address(address1, address2, city, state, country, zip)

    def apply(session: Session, user_id: str) -> Order:
        return post_purchase.modify_pending_order_address(
            session, ctx.merchant_id, order_id, address, user_id
        )

    def describe(_session: Session, row: Order) -> str:
        return f"Ship order {row.order_id} to: {address.one_line()}."

    arguments = {"order_id": order_id.strip(), **address.to_dict()}
    return _write(ctx, "modify_pending_order_address", arguments, apply, describe)


def modify_pending_order_items(
    ctx: ToolContext, order_id: Id, item_ids: ItemIds, new_item_ids: ItemIds, payment_method_id: Id
) -> dict[str, Any]:
    """Swap items of a pending order for other options of the same products, all in one call: an order's
    items can be modified only once. The first call only returns the change to confirm.

    Args:
        order_id: e.g. #W0000000
        item_ids: the item ids to change (repeat an id to change several units)
        new_item_ids: the new item id for each item, in the same order
        payment_method_id: pays or receives the price difference, e.g. gift_card_0000000
    """
    arguments = _swap_arguments(order_id, item_ids, new_item_ids, payment_method_id)
    olds, news, method = arguments["item_ids"], arguments["new_item_ids"], arguments["payment_method_id"]
    before: dict[str, int] = {}

    def apply(session: Session, user_id: str) -> Order:
        order = post_purchase.get_order(session, ctx.merchant_id, order_id, user_id)
        before["total"] = order.total_minor
        return post_purchase.modify_pending_order_items(
            session, ctx.merchant_id, order_id, olds, news, method, user_id
        )

    def describe(session: Session, row: Order) -> str:
        difference = row.total_minor - before["total"]
        return (
            f"In order {row.order_id} change {_swap_text(session, row, olds, news)}; "
            f"{_settlement(row, difference, method)}. The order's items cannot be modified again afterwards."
        )

    return _write(ctx, "modify_pending_order_items", arguments, apply, describe)


def modify_pending_order_payment(ctx: ToolContext, order_id: Id, payment_method_id: Id) -> dict[str, Any]:
    """Pay a pending order with another single payment method; the old one is refunded.
    The first call only returns the change to confirm.

    Args:
        order_id: e.g. #W0000000
        payment_method_id: the new method, e.g. credit_card_0000000
    """
    method = payment_method_id.strip()

    def apply(session: Session, user_id: str) -> Order:
        return post_purchase.modify_pending_order_payment(session, ctx.merchant_id, order_id, method, user_id)

    def describe(_session: Session, row: Order) -> str:
        payment, refund = post_purchase.payment_history(row)[-2:]
        amount = _money(row, int(payment["amount_minor"]))
        return f"Pay order {row.order_id} with {method} instead of {refund['payment_method_id']}, which is refunded {amount}."

    return _write(
        ctx,
        "modify_pending_order_payment",
        {"order_id": order_id.strip(), "payment_method_id": method},
        apply,
        describe,
    )


def modify_user_address(
    ctx: ToolContext,
    user_id: Id,
    address1: Text,
    address2: Text,
    city: Text,
    state: Text,
    country: Text,
    zip: Text,
) -> dict[str, Any]:
    """Change the customer's default address (not the address of existing orders).
    The first call only returns the change to confirm.

    Args:
        user_id: the authenticated customer's user id
        address1: e.g. 123 Main St
        address2: e.g. Apt 1, or empty
        city: e.g. San Francisco
        state: e.g. CA
        country: e.g. USA
        zip: e.g. 12345
    """
    address = _address(address1, address2, city, state, country, zip)

    def apply(session: Session, mine: str) -> Customer:
        if user_id.strip() != mine:
            raise ToolError(f"you may only change the authenticated customer's address (user id {mine})")
        return customers.change_default_address(session, ctx.merchant_id, mine, address)

    def describe(_session: Session, _row: Customer) -> str:
        return f"Change the default address of {user_id.strip()} to: {address.one_line()}."

    return _write(
        ctx, "modify_user_address", {"user_id": user_id.strip(), **address.to_dict()}, apply, describe
    )


def return_delivered_order_items(
    ctx: ToolContext, order_id: Id, item_ids: ItemIds, payment_method_id: Id
) -> dict[str, Any]:
    """Request the return of delivered items; the refund goes to the original payment method or a gift card.
    The first call only returns the change to confirm.

    Args:
        order_id: e.g. #W0000000
        item_ids: the item ids to return (repeat an id to return several units)
        payment_method_id: receives the refund: the order's original method or a gift card
    """
    items, method = [i.strip() for i in item_ids], payment_method_id.strip()

    def apply(session: Session, user_id: str) -> Order:
        return post_purchase.return_delivered_order_items(
            session, ctx.merchant_id, order_id, items, method, user_id
        )

    def describe(session: Session, row: Order) -> str:
        price = {line.sku: line.unit_price_minor for line in row.lines}
        refund = sum(price[i] for i in items)
        listed = "; ".join(_item_text(session, row.merchant_id, i) for i in items)
        return f"Return from order {row.order_id}: {listed}. Refund {_money(row, refund)} to {method}."

    arguments = {"order_id": order_id.strip(), "item_ids": items, "payment_method_id": method}
    return _write(ctx, "return_delivered_order_items", arguments, apply, describe)


def exchange_delivered_order_items(
    ctx: ToolContext, order_id: Id, item_ids: ItemIds, new_item_ids: ItemIds, payment_method_id: Id
) -> dict[str, Any]:
    """Exchange delivered items for other options of the same products, all in one call (once per order).
    The first call only returns the change to confirm.

    Args:
        order_id: e.g. #W0000000
        item_ids: the item ids to exchange (repeat an id to exchange several units)
        new_item_ids: the new item id for each item, in the same order
        payment_method_id: pays or receives the price difference, e.g. gift_card_0000000
    """
    arguments = _swap_arguments(order_id, item_ids, new_item_ids, payment_method_id)
    olds, news, method = arguments["item_ids"], arguments["new_item_ids"], arguments["payment_method_id"]

    def apply(session: Session, user_id: str) -> Order:
        return post_purchase.exchange_delivered_order_items(
            session, ctx.merchant_id, order_id, olds, news, method, user_id
        )

    def describe(session: Session, row: Order) -> str:
        difference = int(row.extra.get("exchange_price_difference_minor", 0))
        return (
            f"Exchange in order {row.order_id}: {_swap_text(session, row, olds, news)}; "
            f"{_settlement(row, difference, method)}. The customer gets an email on how to send the items back."
        )

    return _write(ctx, "exchange_delivered_order_items", arguments, apply, describe)


def transfer_to_human_agents(
    ctx: ToolContext, summary: Annotated[str, Field(max_length=1000)]
) -> dict[str, Any]:
    """Transfer the customer to a human agent with a summary of their issue: only when they ask for one,
    or when their request cannot be handled with these tools and the policy.

    Args:
        summary: the customer's issue in a few sentences
    """
    ctx.state.handoff_reason = summary[:500]
    conversation.request_handoff(ctx.db, ctx.merchant_id, ctx.session_id)
    return {"status": "transferred", "next": f"Now send the customer exactly: {TRANSFER_MESSAGE}"}
