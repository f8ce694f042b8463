"""Running an agent turn for HTTP: in a worker thread, as one JSON answer or as server-sent events.

``Agent.turn`` is blocking (database and model calls), so it runs in a thread pool capped
by ``AppState.turns``; events it emits from that thread are handed to the event loop with
``call_soon_threadsafe`` and written out as SSE frames (``event: NAME`` + JSON ``data``).
The stream ends with ``done``, whose data is exactly the JSON answer of ``POST /v1/chat``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

import anyio
from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.events import AgentEvent, TurnResult
from api.cards import card_skus, pending_checkout, product_cards
from api.deps import AppState
from api.sessions import ShopperSession
from channels import takeover
from shop.carts import view_cart
from shop.db import Database
from shop.errors import NotFound
from shop.models import Conversation, Product, utcnow

log = logging.getLogger("shopagent.chat")
FORWARDED = frozenset({"token", "tool_started", "tool_finished", "cart", "error"})
"""Agent events passed through to the stream; ``done`` is replaced by the full answer."""


def cart_public(db: Database, merchant_id: str, session_id: str) -> dict[str, Any]:
    with db.read_session() as session:
        cart = view_cart(session, merchant_id, session_id)
    data = cart.to_dict()
    for line, view in zip(data["lines"], cart.lines, strict=True):
        line["image_url"] = view.image_url
    return data


def _with_images(session: Session, merchant_id: str, cart: dict[str, Any]) -> dict[str, Any]:
    """The agent's cart view plus each line's image, for the widget's cart panel."""
    skus = [line["sku"] for line in cart.get("lines", [])]
    if skus:
        rows = session.execute(
            select(Product.sku, Product.image_url).where(
                Product.merchant_id == merchant_id, Product.sku.in_(skus)
            )
        )
        images = {sku: url for sku, url in rows}
        cart = {
            **cart,
            "lines": [{**line, "image_url": images.get(line["sku"], "")} for line in cart["lines"]],
        }
    return cart


def shape(db: Database, merchant_id: str, result: TurnResult) -> dict[str, Any]:
    """The JSON answer of a turn: reply, cart, tool calls, product cards, pending checkout."""
    skus = card_skus(result.tool_calls)
    cart = result.cart
    if skus or cart.get("lines"):
        with db.read_session() as session:
            cards = product_cards(session, merchant_id, skus)
            cart = _with_images(session, merchant_id, cart)
    else:
        cards = []  # the common small-talk turn needs no second look at the store
    return {
        "session_id": result.session_id,
        "reply": result.reply,
        "cart": cart,
        "tool_calls": [
            {"name": c.name, "arguments": c.arguments, "error": c.error} for c in result.tool_calls
        ],
        "products": cards,
        "checkout": pending_checkout(result.tool_calls),
        "handoff": result.handoff,
        "lang": result.lang,
    }


def _held(state: AppState, shopper: ShopperSession, message: str) -> dict[str, Any] | None:
    """While a person from the store handles the conversation the assistant stays silent: the
    message is kept for them and the answer says so (``held``), as on the messaging channels."""
    try:
        silent = takeover.hold_if_silent(
            state.db,
            shopper.merchant_id,
            shopper.session_id,
            message,
            utcnow(),
            state.settings.handoff_wait_minutes,
        )
    except NotFound:  # no conversation yet: nobody can have taken it over
        return None
    if not silent:
        return None
    return {
        "session_id": shopper.session_id,
        "reply": "",
        "cart": cart_public(state.db, shopper.merchant_id, shopper.session_id),
        "tool_calls": [],
        "products": [],
        "checkout": None,
        "handoff": True,
        "held": True,
        "lang": "",
    }


def _lookup_gate(state: AppState, address: str) -> Callable[[], bool]:
    """The per-address order-lookup limit of ``POST /v1/orders/lookup``, for the agent's order
    tools: new sessions from one address share it, so they cannot multiply their guesses."""

    def allowed() -> bool:
        try:
            state.limits.lookup.check("", address)
        except HTTPException:
            return False
        return True

    return allowed


def _run_and_shape(
    state: AppState,
    shopper: ShopperSession,
    message: str,
    on_event: Callable[[AgentEvent], None] | None,
    address: str,
) -> dict[str, Any]:
    held = _held(state, shopper, message)
    if held is not None:
        return held
    gate = _lookup_gate(state, address) if address else None
    result = state.agent.turn(shopper.merchant_id, shopper.session_id, message, on_event, gate)
    return shape(state.db, shopper.merchant_id, result)


def visible_messages(db: Database, merchant_id: str, session_id: str, after: int) -> dict[str, Any]:
    """What the shopper sees of their conversation from message ``after`` on: their own words,
    the assistant's replies and a person's replies (``author: merchant``); never tool traffic."""
    with db.read_session() as session:
        row = session.get(Conversation, session_id)
        if row is None or row.merchant_id != merchant_id:
            return {"handoff": "", "messages": [], "next": 0}
        messages = list(row.messages or [])
        shown = []
        for index, item in enumerate(messages[after:], start=after):
            role, text = item.get("role"), item.get("content")
            if role not in ("user", "assistant") or not isinstance(text, str) or not text.strip():
                continue
            author = "merchant" if item.get("name") == takeover.MERCHANT_AUTHOR else role
            shown.append({"index": index, "author": author, "text": text})
        return {"handoff": row.handoff, "messages": shown, "next": len(messages)}


async def answer(
    state: AppState,
    shopper: ShopperSession,
    message: str,
    on_event: Callable[[AgentEvent], None] | None = None,
    address: str = "",
) -> dict[str, Any]:
    """Run the turn in a worker thread and shape its JSON answer; ``address`` is the client's."""
    return await anyio.to_thread.run_sync(
        partial(_run_and_shape, state, shopper, message, on_event, address), limiter=state.turns
    )


def sse(event: str, data: Any) -> bytes:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"event: {event}\ndata: {payload}\n\n".encode()


async def stream(
    state: AppState, shopper: ShopperSession, message: str, address: str = ""
) -> AsyncIterator[bytes]:
    """SSE frames of one turn: ``session``, then the agent's events as they happen, then ``done``."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[AgentEvent] = asyncio.Queue()

    def on_event(event: AgentEvent) -> None:
        if event.type in FORWARDED:
            loop.call_soon_threadsafe(queue.put_nowait, event)

    yield sse("session", {"session_id": shopper.session_id})
    task = asyncio.ensure_future(answer(state, shopper, message, on_event, address))
    try:
        while not task.done() or not queue.empty():
            getter = asyncio.ensure_future(queue.get())
            await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                event = getter.result()
                yield sse(event.type, event.data)
            else:
                getter.cancel()
        try:
            yield sse("done", task.result())
        except Exception:
            log.exception("streamed turn failed")
            yield sse("error", {"message": "the assistant failed to answer; please try again", "fatal": True})
    finally:
        # The shopper left mid-turn: the turn still completes and is saved; keep its outcome quiet.
        if not task.done():
            task.add_done_callback(_consume)


def _consume(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("turn failed after the client disconnected", exc_info=task.exception())
