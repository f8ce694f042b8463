"""Reading the message history the loop hands the model: turns, tool calls and their results.

The offline engine keeps no state of its own: everything it knows (the products shown,
the cart, a prepared checkout, the ids and emails the shopper gave) is read back from the
messages on every call, so it is a pure function of the history like any other model.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from agent.llm import Message
from agent.toolkit import DATA_LABEL

# Sentences the server adds to the system prompt about a write awaiting the shopper's yes
# (see agent/prompting.py); tests pin them so a change there is noticed here.
CHECKOUT_CONFIRMED = "The shopper confirmed the checkout summary"
ACTION_CONFIRMED = "The shopper confirmed this change"
CART_TOOLS = ("add_to_cart", "update_cart", "move_wishlist_to_cart")
"""Tools that change the cart's lines."""
WISHLIST_TOOLS = ("save_to_wishlist", "view_wishlist", "remove_from_wishlist", "move_wishlist_to_cart")
_CONFIRMED_TOOL = re.compile(r"The shopper confirmed this change: .*? Call (\w+) again", re.DOTALL)


@dataclass
class Event:
    """One tool call of the conversation and what came back."""

    name: str
    arguments: dict[str, Any]
    result: dict[str, Any] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None and self.error is None


@dataclass
class Turn:
    user: str
    events: list[Event] = field(default_factory=list)
    reply: str = ""


def parse_tool_content(content: str) -> tuple[dict[str, Any] | None, str | None]:
    """(result, error) of a tool message; compacted or odd content degrades to an error."""
    body = content.removeprefix(DATA_LABEL).lstrip("\n")
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return None, body[:300] or "no result"
    if isinstance(data, dict) and set(data) == {"error"}:
        return None, str(data["error"])
    if isinstance(data, dict):
        return data, None
    return {"value": data}, None


def _records(value: Any) -> list[dict[str, Any]]:
    return (
        [item for item in value if isinstance(item, dict) and "sku" in item]
        if isinstance(value, list)
        else []
    )


def listed_products(event: Event) -> list[dict[str, Any]]:
    """Products a tool result put in front of the shopper, in the order they were shown."""
    result = event.result or {}
    if event.name == "search_products":
        return _records(result.get("results")) + _records(result.get("alternatives"))
    if event.name == "compare_products":
        return _records(result.get("products"))
    if event.name == "get_product" and "sku" in result:
        return [result]
    if event.name in ("add_to_cart", "update_cart", "view_cart"):
        cart = result.get("cart")
        return _records(cart.get("lines")) if isinstance(cart, dict) else []
    if event.name == "recommend":
        return [r for key in ("bought_together", "goes_with", "similar") for r in _records(result.get(key))]
    if event.name in WISHLIST_TOOLS:
        return _records(result.get("wishlist"))
    return []


@dataclass
class Conversation:
    system: str
    turns: list[Turn]

    @classmethod
    def parse(cls, messages: list[Message]) -> Conversation:
        system = "\n".join(m.content for m in messages if m.role == "system")
        turns: list[Turn] = []
        calls: dict[str, Event] = {}
        for message in messages:
            if message.role == "user":
                turns.append(Turn(message.content))
                continue
            if not turns:
                continue  # assistant text before any shopper message (a summary, a greeting)
            turn = turns[-1]
            if message.role == "assistant":
                for call in message.tool_calls:
                    event = Event(call.name, dict(call.arguments))
                    calls[call.id] = event
                    turn.events.append(event)
                if message.content and not message.tool_calls:
                    turn.reply = message.content
            elif message.role == "tool":
                found = calls.get(message.tool_call_id)
                if found is not None:
                    found.result, found.error = parse_tool_content(message.content)
        return cls(system, turns)

    # -- where we are -----------------------------------------------------------------
    @property
    def current(self) -> Turn:
        return self.turns[-1]

    @property
    def earlier(self) -> list[Turn]:
        return self.turns[:-1]

    def events(self, include_current: bool = True) -> list[Event]:
        turns = self.turns if include_current else self.earlier
        return [e for t in turns for e in t.events]

    def last_event(self, *names: str, include_current: bool = True, ok: bool = True) -> Event | None:
        for event in reversed(self.events(include_current)):
            if event.name in names and (event.ok or not ok):
                return event
        return None

    # -- what the shopper has seen ------------------------------------------------------
    def products(self) -> dict[str, dict[str, Any]]:
        """Every product record seen, by SKU; later records win (fresher stock and price)."""
        seen: dict[str, dict[str, Any]] = {}
        for event in self.events():
            for record in listed_products(event):
                merged = {**seen.get(record["sku"], {}), **record}
                seen[record["sku"]] = merged
            for key in ("variants", "suggestions"):
                for record in _records((event.result or {}).get(key)):
                    seen.setdefault(record["sku"], record)
        return seen

    def listing(self, include_current: bool = False) -> list[dict[str, Any]]:
        """The last list of products shown (search results, a comparison, the cart)."""
        for event in reversed(self.events(include_current)):
            if event.ok and event.name in ("search_products", "compare_products", "view_cart", "recommend"):
                shown = listed_products(event)
                if shown:
                    return shown
        return []

    def focus(self, include_current: bool = False) -> dict[str, Any] | None:
        """The one product the conversation is about: the last detailed, added or changed one."""
        products = self.products()
        for event in reversed(self.events(include_current)):
            if not event.ok:
                continue
            if event.name == "get_product":
                return event.result
            if event.name in (*CART_TOOLS, "make_offer", "save_to_wishlist"):
                sku = str(event.arguments.get("sku", ""))
                if sku in products:
                    return products[sku]
            if event.name == "search_products":
                shown = listed_products(event)
                return shown[0] if len(shown) == 1 else None
        return None

    def cart(self) -> dict[str, Any] | None:
        for event in reversed(self.events()):
            if event.ok and event.name in (*CART_TOOLS, "view_cart", "apply_coupon"):
                cart = (event.result or {}).get("cart")
                if isinstance(cart, dict):
                    return cart
            if event.ok and event.name == "place_order":
                return {"lines": [], "item_count": 0}
        return None

    def checkout(self) -> Event | None:
        """The prepared checkout awaiting confirmation, if no order was placed since."""
        for event in reversed(self.events()):
            if event.name == "place_order" and event.ok:
                return None
            if event.name in CART_TOOLS and event.ok:
                return None  # the cart changed: that summary is stale
            if event.name == "prepare_checkout" and event.ok:
                return event
        return None

    # -- what the server says ------------------------------------------------------------
    @property
    def checkout_confirmed(self) -> bool:
        return CHECKOUT_CONFIRMED in self.system

    def confirmed_action(self) -> str:
        """The write tool the shopper confirmed (cancel_order, return_items), if any."""
        match = _CONFIRMED_TOOL.search(self.system)
        return match.group(1) if match else ""
