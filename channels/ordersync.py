"""Order sync in: the merchant's platform pushes status and tracking changes, so the
assistant's order lookups answer with what the warehouse knows.

Each update names an order by the id shoppers see. Platforms may deliver pushes out of
order: an update carrying ``updated_at`` older than the last one applied is reported as
``stale`` and changes nothing. Only the fields sent are changed; every applied change is
kept as an ``OrderEvent`` (``synced``). Stock is not touched: the platform owns it and
re-ingesting the catalog carries it over. Synced changes produce no webhooks, so a platform
never hears its own update echoed back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.base import aware
from shop.models import Order, OrderEvent

Result = Literal["updated", "unchanged", "stale", "unknown"]


@dataclass(frozen=True)
class OrderUpdate:
    order_id: str
    status: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    updated_at: datetime | None = None


def _synced_at(order: Order) -> datetime | None:
    raw = (order.extra or {}).get("synced_at")
    try:
        return aware(datetime.fromisoformat(raw)) if isinstance(raw, str) else None
    except ValueError:
        return None


def apply(session: Session, merchant_id: str, update: OrderUpdate) -> Result:
    order = session.scalar(
        select(Order).where(
            Order.merchant_id == merchant_id, Order.order_id == update.order_id.strip().lstrip("#")
        )
    )
    if order is None:
        return "unknown"
    last, current = _synced_at(order), aware(update.updated_at)
    if current is not None and last is not None and current <= last:
        return "stale"
    changes: dict[str, Any] = {}
    for name in ("status", "carrier", "tracking_number"):
        value = getattr(update, name)
        if value is not None and value != getattr(order, name):
            changes[name] = [getattr(order, name), value]
            setattr(order, name, value)
    extra = dict(order.extra or {})
    if update.tracking_url is not None and update.tracking_url != extra.get("tracking_url"):
        changes["tracking_url"] = [extra.get("tracking_url"), update.tracking_url]
        extra["tracking_url"] = update.tracking_url
    if current is not None:
        extra["synced_at"] = current.isoformat()
    # JSON columns are not mutation-tracked: assign a new mapping.
    order.extra = extra
    if not changes:
        return "unchanged"
    order.events.append(
        OrderEvent(
            kind="synced",
            data={
                "changes": changes,
                "updated_at": update.updated_at.isoformat() if update.updated_at else None,
            },
        )
    )
    session.flush()
    return "updated"


def apply_all(session: Session, merchant_id: str, updates: list[OrderUpdate]) -> list[dict[str, str]]:
    return [{"order_id": u.order_id, "result": apply(session, merchant_id, u)} for u in updates]
