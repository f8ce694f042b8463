"""Merchant events written to the outbox in the same transaction as the change they report.

:func:`install` registers two session hooks. ``before_flush`` stamps ``Conversation.handoff_at``
when a handoff state changes; ``after_flush`` turns order events (``placed``, ``cancelled``,
``returned``) and conversations entering ``requested`` into ``outbox_events`` rows on the
same connection. So an order is never committed without its event, nor an event without its
order, and the domain code in ``shop/`` and ``agent/`` needs no knowledge of webhooks.
The worker (:mod:`channels.webhooks`) delivers the rows afterwards.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session, UOWTransaction

from shop.models import Conversation, Order, OrderEvent, OutboxEvent, utcnow
from shop.orders import order_to_dict

ORDER_EVENTS = {"placed": "order.placed", "cancelled": "order.cancelled", "returned": "order.returned"}
HANDOFF_REQUESTED = "handoff.requested"
EVENT_TYPES = (*ORDER_EVENTS.values(), HANDOFF_REQUESTED)
TEST_EVENT = "webhook.test"
"""Sent on demand to check an endpoint; never produced by the shop itself."""


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(12)


def order_payload(order: Order, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "order": {**order_to_dict(order), "email": order.email, "source": order.source},
        "change": {"kind": kind, **data},
    }


def handoff_payload(row: Conversation) -> dict[str, Any]:
    return {
        "session_id": row.id,
        "channel": row.channel,
        "lang": row.lang,
        "conversation": f"/v1/merchants/{row.merchant_id}/conversations/{row.id}",
    }


def _changed_handoff(row: Conversation) -> bool:
    return bool(inspect(row).attrs.handoff.history.added)


def _stamp_handoff(session: Session, _context: UOWTransaction, _instances: object) -> None:
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Conversation) and obj.handoff and _changed_handoff(obj):
            obj.handoff_at = utcnow()


def _collect(session: Session, _context: UOWTransaction) -> None:
    rows: list[dict[str, Any]] = []
    now = utcnow()
    for obj in session.new:
        if isinstance(obj, OrderEvent) and obj.kind in ORDER_EVENTS and obj.order is not None:
            order = obj.order
            rows.append(
                _row(
                    order.merchant_id,
                    ORDER_EVENTS[obj.kind],
                    order_payload(order, obj.kind, obj.data or {}),
                    now,
                )
            )
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Conversation) and obj.handoff == "requested" and _changed_handoff(obj):
            rows.append(_row(obj.merchant_id, HANDOFF_REQUESTED, handoff_payload(obj), now))
    if rows:
        # Core insert on the flushing connection: part of the same transaction, no nested flush.
        session.connection().execute(insert(OutboxEvent), rows)


def _row(merchant_id: str, kind: str, payload: dict[str, Any], now: Any) -> dict[str, Any]:
    return {
        "event_id": new_event_id(),
        "merchant_id": merchant_id,
        "type": kind,
        "payload": payload,
        "dispatched": False,
        "created_at": now,
    }


def install() -> None:
    """Record merchant events from every session in this process (idempotent)."""
    if not event.contains(Session, "before_flush", _stamp_handoff):
        event.listen(Session, "before_flush", _stamp_handoff)
    if not event.contains(Session, "after_flush", _collect):
        event.listen(Session, "after_flush", _collect)


def record(session: Session, merchant_id: str, kind: str, payload: dict[str, Any]) -> OutboxEvent:
    """Add an event explicitly (test pings, events without a domain row)."""
    row = OutboxEvent(event_id=new_event_id(), merchant_id=merchant_id, type=kind, payload=payload)
    session.add(row)
    session.flush()
    return row
