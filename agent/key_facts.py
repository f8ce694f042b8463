"""Facts a reply must not leave out, added from the turn's own tool results.

A small model often words a turn well and drops the figure the shopper needs: "Done, I
changed the quantity!" without the new total, "Your order is on its way" without the
tracking number, "I could not add that" without saying it is sold out. The claim check
(:mod:`agent.claims`) removes what is wrong; this module adds what is missing. For the
latest result of each kind in the turn it checks that the reply states the key fact and,
when it does not, returns the store's own line for it from the offline engine's templates,
in the shopper's language, to append to the reply:

- a cart that was shown or changed: its subtotal (else the cart's lines and subtotal);
- a prepared checkout: its total (else the checkout summary);
- a placed order: its order id (else the confirmation line);
- a looked-up order: its status and tracking number (else the status or tracking line);
- an add refused for stock, or a sold-out product the reply names: that it is sold out;
- an applied coupon: what it takes off the cart now; a refused one: that it was not applied;
- a discount offer made: the price with it;
- a cart change the store refused with a limit ("at most 10 of one item"): the limit.

Every appended figure comes from a tool result, so nothing unsupported is added.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from agent.claims import numbers_in, says_sold_out
from agent.events import ToolCallRecord
from agent.offline.render import Writer, join
from agent.offline.selling import coupon_refused, coupon_saving, offer_text
from agent.offline.text import fold
from agent.safe_answer import base_title, product_records, writer_for

CART_TOOLS = ("add_to_cart", "update_cart", "view_cart")


def _amount(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


def _states_amount(reply: str, value: Any) -> bool:
    wanted = _amount(value)
    return wanted is None or wanted in {n.quantize(Decimal("0.01")) for n in numbers_in(reply)}


def _latest(records: list[ToolCallRecord], names: tuple[str, ...]) -> ToolCallRecord | None:
    return next((r for r in reversed(records) if r.name in names), None)


def _cart(w: Writer, reply: str, record: ToolCallRecord) -> str:
    result = record.result if isinstance(record.result, dict) else {}
    cart = result.get("cart")
    if record.error is not None or not isinstance(cart, dict) or not cart.get("lines"):
        return ""
    return "" if _states_amount(reply, cart.get("subtotal")) else join(w.cart_block(cart))


def _checkout(w: Writer, reply: str, record: ToolCallRecord) -> str:
    summary = record.result.get("checkout") if isinstance(record.result, dict) else None
    if record.error is not None or not isinstance(summary, dict):
        return ""
    return "" if _states_amount(reply, summary.get("total")) else join(w.checkout_block(summary))


def _placed(w: Writer, reply: str, record: ToolCallRecord) -> str:
    result = record.result if isinstance(record.result, dict) else {}
    order_id = str(result.get("order_id") or "")
    if record.error is not None or not order_id or order_id.lower() in reply.lower():
        return ""
    return w.t("order_placed", order_id=order_id, total=w.money(result.get("total"), result.get("currency")))


def _order(w: Writer, reply: str, record: ToolCallRecord) -> str:
    order = record.result.get("order") if isinstance(record.result, dict) else None
    if record.error is not None or not isinstance(order, dict):
        return ""
    lines: list[str] = []
    status = str(order.get("status") or "")
    folded = fold(reply)
    if status and fold(status) not in folded and fold(w.status(status)) not in folded:
        lines.append(w.t("order_status", order_id=order.get("order_id", ""), status=w.status(status)))
    tracking = str(order.get("tracking_number") or "")
    if tracking and tracking.lower() not in reply.lower():
        lines.append(w.t("order_tracking", carrier=order.get("carrier") or "-", tracking=tracking))
    return join(*lines)


def _coupon(w: Writer, reply: str, record: ToolCallRecord) -> str:
    code = str(record.arguments.get("code", "")).strip().upper()
    if record.error is not None:  # refused: the store's own line, whatever the model made of it
        refused = coupon_refused(w, code, record.error)
        return "" if refused in reply else refused
    result = record.result if isinstance(record.result, dict) else {}
    return "" if _states_amount(reply, result.get("cart_discount_now")) else coupon_saving(w, result)


def _offer(w: Writer, reply: str, record: ToolCallRecord) -> str:
    result = record.result if isinstance(record.result, dict) else {}
    if record.error is not None or not isinstance(result.get("offer"), dict):
        return ""
    return "" if _states_amount(reply, result.get("price_with_offer")) else offer_text(w, result, None)


def _limit(w: Writer, reply: str, records: list[ToolCallRecord]) -> str:
    stated = numbers_in(reply)
    refused = dict.fromkeys(
        r.error for r in records
        if r.name in ("add_to_cart", "update_cart") and r.error and "stock" not in r.error.lower()
        and numbers_in(r.error) and not numbers_in(r.error) <= stated
    )  # fmt: skip
    return join(*(w.t("error", error=error) for error in refused if error))


def _sold_out(w: Writer, reply: str, records: list[ToolCallRecord]) -> str:
    if says_sold_out(reply):
        return ""
    products = product_records(records)
    refused = [r for r in records if r.name == "add_to_cart" and "stock" in (r.error or "").lower()]
    skus = dict.fromkeys(str(r.arguments.get("sku", "")) for r in refused)
    lines = [w.t("not_added_stock", title=products.get(sku, {}).get("title", sku)) for sku in skus if sku]
    lowered = reply.lower()
    named = [
        p for sku, p in products.items()
        if sku not in skus and p.get("in_stock") is False and base_title(str(p["title"])).lower() in lowered
    ]  # fmt: skip
    return join(*lines, [w.product_line(p) for p in named])


def missing(reply: str, records: list[ToolCallRecord], lang: str) -> str:
    """The lines to append to ``reply`` so that it states the turn's key facts ('' if it does)."""
    w = writer_for(lang)
    parts: list[str] = []
    checkout = _latest(records, ("prepare_checkout",))
    cart = _latest(records, CART_TOOLS)
    if checkout is not None:
        parts.append(_checkout(w, reply, checkout))
    elif cart is not None:
        parts.append(_cart(w, reply, cart))
    for tool, fact in (("place_order", _placed), ("lookup_order", _order), ("apply_coupon", _coupon),
                       ("make_offer", _offer)):  # fmt: skip
        latest = _latest(records, (tool,))
        if latest is not None:
            parts.append(fact(w, reply, latest))
    parts.append(_limit(w, reply, records))
    parts.append(_sold_out(w, reply, records))
    return join(*(p for p in parts if p))
