"""What WhatsApp Cloud API and Messenger share: Meta's webhook handshake and signature, and the
customer-service window.

Subscribing a webhook, Meta calls ``GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C``
and expects ``C`` back when ``T`` is the token entered in the app dashboard. Every delivery
is signed with the app secret in ``X-Hub-Signature-256``.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

from channels.base import SignatureInvalid

WINDOW = timedelta(hours=24)
"""Free-form messages are allowed for 24 hours after the shopper's last message."""


def handshake(verify_token: str, mode: str, token: str, challenge: str) -> str:
    """The challenge to echo, or :class:`SignatureInvalid` (403) for a wrong token."""
    if mode != "subscribe" or not hmac.compare_digest(token.encode(), verify_token.encode()):
        raise SignatureInvalid("hub.verify_token does not match")
    return challenge


def within(last_inbound_at: datetime | None, now: datetime, window: timedelta = WINDOW) -> bool:
    """Whether ``now`` is inside the window opened by the shopper's last message."""
    return last_inbound_at is not None and now - last_inbound_at < window
