"""Returning shoppers: greet a remembered shopper, be remembered, be forgotten.

Whether the shopper is remembered is read from the "known shopper" block the server puts in
the system prompt (:mod:`agent.known_shopper`), so the engine stays a pure function of the
messages. ``remember_me`` and ``forget_me`` need the shopper's yes like the order writes:
the first call returns the change, the confirmed call (see :func:`confirmed`) makes it.
"""

from __future__ import annotations

from agent.known_shopper import parse
from agent.offline import ordering
from agent.offline.plan import Context, Step

MEMORY_TOOLS = ("remember_me", "forget_me")


def greet(ctx: Context) -> Step:
    w = ctx.writer
    known = parse(ctx.conv.system)
    if known is None:
        return Step.say(w.t("greet"))
    name = str(known.get("name") or "")
    parts = [w.t("welcome_back_named", name=name) if name else w.t("welcome_back")]
    orders = known.get("orders")
    if isinstance(orders, list) and orders and isinstance(orders[0], dict):
        last = orders[0]
        parts.append(
            w.t("welcome_last_order", order_id=last.get("order_id", ""), status=w.status(last.get("status")))
        )
    parts.append(w.t("welcome_help"))
    return Step.say(" ".join(parts))


def _verified_email(ctx: Context) -> str:
    """The email a lookup or an order verified in this conversation (the latest)."""
    for event in reversed(ctx.conv.events()):
        if event.ok and event.name == "lookup_order":
            return str(event.arguments.get("email", ""))
        if event.ok and event.name == "place_order":
            return str((event.result or {}).get("email", ""))
    return ""


def remember(ctx: Context) -> Step:
    w = ctx.writer
    if not ctx.can("remember_me"):
        return Step.say(w.t("unsure"))
    done = ctx.ran("remember_me")
    if done:
        event = done[-1]
        if event.error:
            return Step.say(w.t("remember_need_order"))
        return Step.say(w.t("remember_confirm", email=(event.result or {}).get("email", "")))
    lookups = ctx.ran("lookup_order")
    if lookups and not lookups[-1].ok:
        return Step.say(w.t("order_not_found"))
    slots = ctx.slots
    if not lookups and slots.order_ids and slots.emails:
        return Step.call("lookup_order", order_id=slots.order_ids[0], email=slots.emails[0])
    # Without an email in view the tool takes the one the server verified in this conversation
    # (an early lookup may have been trimmed from the prompt); it refuses when there is none.
    email = str(lookups[-1].arguments.get("email", "")) if lookups else _verified_email(ctx)
    return Step.call("remember_me", email=email or None)


def forget(ctx: Context) -> Step:
    w = ctx.writer
    if not ctx.can("forget_me"):
        return Step.say(w.t("unsure"))
    done = ctx.ran("forget_me")
    if not done:
        return Step.call("forget_me")
    event = done[-1]
    return Step.say(w.t("forget_nothing" if event.error else "forget_confirm"))


def confirmed(ctx: Context) -> Step:
    """The server recorded the shopper's yes: repeat the confirmed call, then say it is done."""
    tool = ctx.conv.confirmed_action()
    if tool not in MEMORY_TOOLS:
        return ordering.confirmed_action(ctx)
    w = ctx.writer
    done = ctx.ran(tool)
    if not done:
        # The earlier call may have been trimmed from the prompt; without arguments the tools use
        # what the server holds (the verified email), which is what the shopper confirmed.
        earlier = ctx.conv.last_event(tool, include_current=False)
        return Step.call(tool, **(earlier.arguments if earlier is not None else {}))
    event = done[-1]
    if event.error:
        return Step.say(w.t("error", error=event.error))
    if tool == "forget_me":
        return Step.say(w.t("forgotten"))
    name = str((event.result or {}).get("name") or "")
    return Step.say(w.t("remembered_named", name=name) if name else w.t("remembered"))
