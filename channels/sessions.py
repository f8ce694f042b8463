"""Shoppers on a platform get one conversation (session) per merchant, keyed by channel and
platform user id, so the cart, checkout and order rules are exactly the web widget's.

The session id is a fresh random id like every other session: a platform user id (a phone
number on WhatsApp) never becomes a guessable session id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from agent.state import new_session_id
from channels.base import aware
from shop.db import Database
from shop.models import ChannelIdentity, Conversation


@dataclass(frozen=True)
class ChannelSession:
    merchant_id: str
    channel: str
    platform_user_id: str
    session_id: str
    lang_hint: str
    last_inbound_at: datetime | None


def _snapshot(row: ChannelIdentity) -> ChannelSession:
    return ChannelSession(
        merchant_id=row.merchant_id,
        channel=row.channel,
        platform_user_id=row.platform_user_id,
        session_id=row.session_id,
        lang_hint=row.lang_hint,
        last_inbound_at=aware(row.last_inbound_at),
    )


def open_session(
    db: Database,
    merchant_id: str,
    channel: str,
    platform_user_id: str,
    lang_hint: str = "",
    seen_at: datetime | None = None,
) -> ChannelSession:
    """The shopper's session (created on first contact); ``seen_at`` opens the reply window."""
    for _ in range(3):
        try:
            with db.session() as session:
                row = session.scalar(
                    select(ChannelIdentity).where(
                        ChannelIdentity.merchant_id == merchant_id,
                        ChannelIdentity.channel == channel,
                        ChannelIdentity.platform_user_id == platform_user_id,
                    )
                )
                if row is None:
                    session_id = new_session_id()
                    # The platform's language seeds the conversation; the shopper's own words win later.
                    state = {"lang": lang_hint} if lang_hint else {}
                    session.add(
                        Conversation(
                            id=session_id,
                            merchant_id=merchant_id,
                            channel=channel,
                            lang=lang_hint,
                            messages=[],
                            state=state,
                        )
                    )
                    session.flush()
                    row = ChannelIdentity(
                        merchant_id=merchant_id,
                        channel=channel,
                        platform_user_id=platform_user_id,
                        session_id=session_id,
                    )
                    session.add(row)
                if lang_hint:
                    row.lang_hint = lang_hint
                last = aware(row.last_inbound_at)
                if seen_at is not None and (last is None or seen_at > last):
                    row.last_inbound_at = seen_at
                session.flush()
                return _snapshot(row)
        except IntegrityError:  # two first messages raced: the other one created the identity
            continue
    raise RuntimeError(f"could not open a {channel} session")


def find_by_session(db: Database, merchant_id: str, session_id: str) -> ChannelSession | None:
    """The platform identity behind a conversation, or ``None`` for a web session."""
    with db.read_session() as session:
        row = session.scalar(
            select(ChannelIdentity).where(
                ChannelIdentity.merchant_id == merchant_id, ChannelIdentity.session_id == session_id
            )
        )
        return _snapshot(row) if row is not None else None
