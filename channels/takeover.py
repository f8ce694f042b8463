"""Human takeover: while a person handles a conversation, the assistant stays silent.

``Conversation.handoff`` moves ``''`` -> ``requested`` (the assistant handed off) ->
``taken`` (a merchant took it, or replied) -> ``handled`` (released: the assistant answers
again). While ``taken`` the assistant never answers; while ``requested`` it waits
``handoff_wait_minutes`` for a person (0 = until released), so a store nobody watches does
not go mute for good. Messages from both sides are kept in the conversation, so the
merchant reads what the shopper wrote and the assistant, once released, knows what the
person said.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from channels.base import aware
from shop.db import Database
from shop.errors import NotFound
from shop.models import Conversation, utcnow

MERCHANT_AUTHOR = "merchant"
"""``name`` on assistant messages written by a person from the store."""


@dataclass(frozen=True)
class Handoff:
    merchant_id: str
    session_id: str
    channel: str
    state: str
    since: datetime | None


def assistant_silent(state: str, since: datetime | None, now: datetime, wait_minutes: int) -> bool:
    if state == "taken":
        return True
    if state != "requested":
        return False
    return wait_minutes == 0 or since is None or now - since < timedelta(minutes=wait_minutes)


def _own(session: Session, merchant_id: str, session_id: str) -> Conversation:
    row = session.get(Conversation, session_id)
    if row is None or row.merchant_id != merchant_id:
        raise NotFound("unknown conversation")
    return row


def _snapshot(row: Conversation) -> Handoff:
    return Handoff(row.merchant_id, row.id, row.channel, row.handoff, aware(row.handoff_at or row.updated_at))


def status(db: Database, merchant_id: str, session_id: str) -> Handoff:
    with db.read_session() as session:
        return _snapshot(_own(session, merchant_id, session_id))


def take(db: Database, merchant_id: str, session_id: str) -> Handoff:
    with db.session() as session:
        row = _own(session, merchant_id, session_id)
        if row.handoff != "taken":
            row.handoff = "taken"
            row.handoff_at = utcnow()
        session.flush()
        return _snapshot(row)


def release(db: Database, merchant_id: str, session_id: str) -> Handoff:
    with db.session() as session:
        row = _own(session, merchant_id, session_id)
        row.handoff = "handled"
        row.handoff_at = utcnow()
        session.flush()
        return _snapshot(row)


def hold_if_silent(
    db: Database, merchant_id: str, session_id: str, text: str, now: datetime, wait_minutes: int
) -> bool:
    """Keep the shopper's message for the person and return True when the assistant must stay silent."""
    with db.session() as session:
        row = _own(session, merchant_id, session_id)
        if not assistant_silent(row.handoff, aware(row.handoff_at or row.updated_at), now, wait_minutes):
            return False
        if text:
            row.messages = [*(row.messages or []), {"role": "user", "content": text}]
        return True


def record_merchant_reply(db: Database, merchant_id: str, session_id: str, text: str) -> Handoff:
    """Store a person's reply; replying takes the conversation over."""
    with db.session() as session:
        row = _own(session, merchant_id, session_id)
        if row.handoff != "taken":
            row.handoff = "taken"
            row.handoff_at = utcnow()
        row.messages = [
            *(row.messages or []),
            {"role": "assistant", "content": text, "name": MERCHANT_AUTHOR},
        ]
        session.flush()
        return _snapshot(row)
