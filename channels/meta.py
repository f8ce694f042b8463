"""What WhatsApp Cloud API and Messenger share: Meta's webhook handshake and signature, and the
customer-service window.

Subscribing a webhook, Meta calls ``GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C``
and expects ``C`` back when ``T`` is the token entered in the app dashboard. Every delivery
is signed with the app secret in ``X-Hub-Signature-256``.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from channels.base import SignatureInvalid, as_list, load_object
from channels.signing import verify_meta

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


def entries(body: bytes, object_type: str) -> list[dict[str, Any]]:
    """The ``entry`` items of a verified webhook body, or none when it is about another ``object``."""
    data = load_object(body)
    if data.get("object") != object_type:
        return []
    return as_list(data.get("entry"))


class MetaWebhook:
    """Holds the app secret and verify token of a Meta channel, and checks its webhooks with them."""

    def __init__(self, app_secret: str, verify_token: str) -> None:
        self._app_secret = app_secret
        self.verify_token = verify_token

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        verify_meta(self._app_secret, headers, body)

    def handshake(self, mode: str, token: str, challenge: str) -> str:
        return handshake(self.verify_token, mode, token, challenge)
