"""Checkout and orders: summaries to confirm, placing, status, cancelling and returning.

The engine never decides that the shopper confirmed: the server does (see
:mod:`agent.confirmation`), and tells every model through the system prompt. The engine
shows the exact summary, asks for a yes, and after the server has recorded it repeats
the call. Cancels and returns look the order up first, so the confirmation question can
list the order's own figures in the shopper's language.
"""

from __future__ import annotations

import re
from typing import Any

from agent.offline.history import Event
from agent.offline.plan import Context, Step
from agent.offline.refs import pick_by_name
from agent.offline.render import join

_REFUND = re.compile(r"refund (\d+(?:\.\d+)?) ([A-Z]{3})")
CANCELLABLE = ("pending", "paid")
RETURNABLE = ("delivered",)


def _email(ctx: Context) -> str:
    """The email the shopper gave in this message, else the latest one they gave."""
    if ctx.slots.emails:
        return ctx.slots.emails[-1]
    for turn in reversed(ctx.conv.turns):
        found = re.findall(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", turn.user)
        if found:
            return str(found[-1])
    return ""


def _order_id(ctx: Context) -> str:
    if ctx.slots.order_ids:
        return ctx.slots.order_ids[-1]
    for event in reversed(ctx.conv.events()):
        if event.name in ("lookup_order", "cancel_order", "return_items") and event.arguments.get("order_id"):
            return str(event.arguments["order_id"])
        if event.name == "place_order" and event.ok:
            return str((event.result or {}).get("order_id", ""))
    return ""


# -- checkout ------------------------------------------------------------------------------
def checkout(ctx: Context) -> Step:
    w = ctx.writer
    prepared = ctx.ran("prepare_checkout")
    if not prepared:
        args: dict[str, Any] = {"shipping_method": "express" if ctx.slots.express else "standard"}
        email = _email(ctx)
        if email:
            args["email"] = email
        return Step.call("prepare_checkout", **args)
    event = prepared[-1]
    if event.error:
        error = event.error.lower()
        if "email" in error:
            return Step.say(w.t("ask_email"))
        if "empty" in error:
            return Step.say(w.t("empty_cart_checkout"))
        return Step.say(w.t("error", error=event.error))
    summary = (event.result or {}).get("checkout") or {}
    return Step.say(join(w.checkout_block(summary), w.t("checkout_confirm")))


def place_order(ctx: Context) -> Step:
    w = ctx.writer
    placed = ctx.ran("place_order")
    if not placed:
        prepared = ctx.conv.checkout()
        checkout_id = (
            str(((prepared.result or {}).get("checkout") or {}).get("checkout_id", "")) if prepared else ""
        )
        return Step.call("place_order", checkout_id=checkout_id or None)
    event = placed[-1]
    if event.error:
        return Step.say(w.t("error", error=event.error))
    result = event.result or {}
    order_id = str(result.get("order_id", ""))
    total = w.money(result.get("total"), result.get("currency"))
    return Step.say(join(w.t("order_placed", order_id=order_id, total=total), *_payment(ctx, result, total)))


def _payment(ctx: Context, result: dict[str, Any], total: str) -> list[str]:
    """How to pay. The provider writes its instructions in English; a bank transfer (the
    order id as reference) is retold in the shopper's language from the order's own figures."""
    w = ctx.writer
    out: list[str] = []
    order_id = str(result.get("order_id", ""))
    instructions = str(result.get("payment_instructions") or "").strip()
    if instructions:
        transfer = "transfer" in instructions.lower() and order_id and order_id in instructions
        if transfer and w.lang != "en":
            out.append(w.t("payment_transfer", total=total, order_id=order_id))
        else:
            out.append(w.t("payment_info", text=instructions))
    url = str(result.get("payment_url") or "").strip()
    if url:
        out.append(w.t("payment_link", url=url))
    return out


def declined(ctx: Context) -> Step:
    previous = ctx.conv.earlier[-1] if ctx.conv.earlier else None
    was_checkout = previous is not None and any(e.name == "prepare_checkout" for e in previous.events)
    return Step.say(ctx.writer.t("order_not_placed" if was_checkout else "action_declined"))


# -- orders --------------------------------------------------------------------------------
def _ask_order(ctx: Context, order_id: str, email: str) -> Step:
    w = ctx.writer
    if not order_id and not email:
        return Step.say(w.t("ask_order"))
    return Step.say(w.t("ask_order_id" if not order_id else "ask_order_email"))


def _lookup_failed(ctx: Context, event: Event) -> Step:
    w = ctx.writer
    if "too many" in (event.error or "").lower():
        return Step.say(w.t("too_many_lookups"))
    if "no order matches" in (event.error or "").lower() or "not an email" in (event.error or "").lower():
        return Step.say(w.t("order_not_found"))
    return Step.say(w.t("error", error=event.error))


def order_text(ctx: Context, order: dict[str, Any]) -> str:
    w = ctx.writer
    currency = order.get("currency")
    items = [
        "- " + w.t("order_item", quantity=i.get("quantity"), title=i.get("title", i.get("sku", "")))
        for i in order.get("items") or []
        if isinstance(i, dict)
    ]
    tracking = ""
    if order.get("carrier") or order.get("tracking_number"):
        tracking = w.t(
            "order_tracking",
            carrier=order.get("carrier") or "-",
            tracking=order.get("tracking_number") or "-",
        )
    return join(
        w.t("order_status", order_id=order.get("order_id", ""), status=w.status(order.get("status"))),
        [w.t("order_items")] + items if items else [],
        w.t("order_total", total=w.money(order.get("total"), currency)),
        tracking,
    )


def order_status(ctx: Context) -> Step:
    looked = ctx.ran("lookup_order")
    if not looked:
        order_id, email = _order_id(ctx), _email(ctx)
        if not (order_id and email):
            return _ask_order(ctx, order_id, email)
        return Step.call("lookup_order", order_id=order_id, email=email)
    event = looked[-1]
    if event.error:
        return _lookup_failed(ctx, event)
    return Step.say(order_text(ctx, (event.result or {}).get("order") or {}))


def _write(ctx: Context, tool: str) -> Step:
    """cancel_order / return_items: look the order up, check its status, ask to confirm."""
    w = ctx.writer
    looked = ctx.ran("lookup_order")
    writes = ctx.ran(tool)
    if not looked and not writes:
        order_id, email = _order_id(ctx), _email(ctx)
        if not (order_id and email):
            return _ask_order(ctx, order_id, email)
        return Step.call("lookup_order", order_id=order_id, email=email)
    if looked and looked[-1].error:
        return _lookup_failed(ctx, looked[-1])
    order = ((looked[-1].result or {}).get("order") or {}) if looked else {}
    status = str(order.get("status", ""))
    order_id = str(order.get("order_id", ""))
    if not writes:
        allowed = CANCELLABLE if tool == "cancel_order" else RETURNABLE
        if status not in allowed:
            key = "cannot_cancel" if tool == "cancel_order" else "cannot_return"
            return Step.say(w.t(key, order_id=order_id, status=w.status(status)))
        args: dict[str, Any] = dict(looked[-1].arguments)
        if tool == "cancel_order":
            args["reason"] = ctx.slots.query[:200]
        else:
            items = _return_items(ctx, order)
            if items:
                args["items"] = items
        return Step.call(tool, **args)
    event = writes[-1]
    if event.error:
        return Step.say(w.t("error", error=event.error))
    result = event.result or {}
    if result.get("status") == "needs_confirmation":
        return Step.say(_confirm_text(ctx, tool, order, event))
    return Step.say(_done_text(ctx, tool, result))


def _return_items(ctx: Context, order: dict[str, Any]) -> list[dict[str, Any]]:
    """The order lines the shopper named; empty means the whole order."""
    lines = [i for i in order.get("items") or [] if isinstance(i, dict) and "sku" in i]
    if ctx.slots.all_items or len(lines) <= 1:
        return []
    named = pick_by_name(ctx.frame.text, lines, ctx.slots.colors)
    if named is None:
        return []
    left = int(named.get("quantity", 1)) - int(named.get("returned_quantity", 0) or 0)
    quantity = min(ctx.slots.quantity or left, left)
    return [{"sku": named["sku"], "quantity": max(quantity, 1)}]


def _confirm_text(ctx: Context, tool: str, order: dict[str, Any], event: Event) -> str:
    w = ctx.writer
    order_id = order.get("order_id", event.arguments.get("order_id", ""))
    if tool == "cancel_order":
        return w.t(
            "cancel_confirm", order_id=order_id, total=w.money(order.get("total"), order.get("currency"))
        )
    titles = {i.get("sku"): i.get("title") for i in order.get("items") or [] if isinstance(i, dict)}
    wanted = event.arguments.get("items") or [
        {"sku": i.get("sku"), "quantity": int(i.get("quantity", 1)) - int(i.get("returned_quantity", 0) or 0)}
        for i in order.get("items") or []
        if isinstance(i, dict)
    ]
    items = ", ".join(f"{x.get('quantity')} × {titles.get(x.get('sku'), x.get('sku'))}" for x in wanted)
    change = str((event.result or {}).get("change", ""))
    match = _REFUND.search(change)
    refund = w.money(match.group(1), match.group(2)) if match else "-"
    return w.t("return_confirm", order_id=order_id, items=items, refund=refund)


def _done_text(ctx: Context, tool: str, result: dict[str, Any]) -> str:
    w = ctx.writer
    if tool == "cancel_order":
        order = result.get("cancelled") or {}
        return w.t("cancelled", order_id=order.get("order_id", ""))
    order = result.get("returned") or {}
    return w.t(
        "returned",
        order_id=order.get("order_id", ""),
        refund=w.money(order.get("refund"), order.get("currency")),
    )


def cancel(ctx: Context) -> Step:
    return _write(ctx, "cancel_order")


def return_order(ctx: Context) -> Step:
    return _write(ctx, "return_items")


def confirmed_action(ctx: Context) -> Step:
    """The server recorded the shopper's yes: repeat the confirmed call exactly."""
    tool = ctx.conv.confirmed_action()
    done = ctx.ran(tool)
    if not done:
        earlier = ctx.conv.last_event(tool, include_current=False)
        if earlier is None:
            return Step.say(ctx.writer.t("unsure"))
        return Step.call(tool, **earlier.arguments)
    event = done[-1]
    if event.error:
        return Step.say(ctx.writer.t("error", error=event.error))
    return Step.say(_done_text(ctx, tool, event.result or {}))
