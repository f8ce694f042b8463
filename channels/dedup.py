"""Platforms retry a delivery until they get a 200 (WhatsApp for up to 7 days), so every
update id is recorded when first accepted and a repeat is acknowledged without processing.

The unique constraint on ``(channel, update_id)`` makes the check race-free: of two
concurrent deliveries of one update, exactly one insert succeeds.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from shop.db import Database
from shop.models import ProcessedUpdate

RETENTION_DAYS = 8
"""Longer than the longest platform retry period (WhatsApp: 7 days)."""


def claim(db: Database, channel: str, update_id: str, merchant_id: str = "") -> bool:
    """True the first time ``update_id`` arrives on ``channel``; False for a repeat."""
    try:
        with db.session() as session:
            session.add(ProcessedUpdate(channel=channel, update_id=update_id[:200], merchant_id=merchant_id))
    except IntegrityError:
        return False
    return True


def finish(db: Database, channel: str, update_id: str, error: str = "") -> None:
    with db.session() as session:
        session.execute(
            update(ProcessedUpdate)
            .where(ProcessedUpdate.channel == channel, ProcessedUpdate.update_id == update_id[:200])
            .values(status="failed" if error else "done", error=error[:1000])
        )


def prune(db: Database, before: datetime) -> int:
    """Forget updates received before ``before``; returns how many."""
    with db.session() as session:
        result = session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.received_at < before))
        return int(getattr(result, "rowcount", 0) or 0)
