"""The channel seam: what a platform module parses, and what it is asked to send.

A platform module turns a verified webhook body into :class:`InboundMessage` values and
renders an :class:`Outgoing` reply (text, product cards, buttons) as the platform allows.
Adding a channel means writing one class that satisfies :class:`Channel`.

Errors of the seam::

    ChannelError
    ├── NotConfigured       the platform's settings are missing (404: the route is off)
    ├── SignatureMissing    no signature header (401)
    ├── SignatureInvalid    a signature that does not match (403)
    ├── BadUpdate           a verified body that is not the platform's format (400)
    ├── OutsideWindow       free-form message after the platform's customer-service window (409)
    └── DeliveryFailed      the platform API refused or could not be reached (502)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import httpx

InboundKind = Literal["text", "button", "unsupported"]


class ChannelError(Exception):
    status_code = 400


class NotConfigured(ChannelError):
    status_code = 404


class SignatureMissing(ChannelError):
    status_code = 401


class SignatureInvalid(ChannelError):
    status_code = 403


class BadUpdate(ChannelError):
    status_code = 400


class OutsideWindow(ChannelError):
    status_code = 409


class DeliveryFailed(ChannelError):
    status_code = 502


@dataclass(frozen=True)
class InboundMessage:
    """One shopper action on a platform: a text, a button press, or something we cannot read."""

    channel: str
    platform_user_id: str
    """Where replies go (Telegram chat id, WhatsApp wa_id, Messenger page-scoped id)."""
    update_id: str
    """The platform's id of this delivery; a retry carries the same one."""
    kind: InboundKind = "text"
    text: str = ""
    payload: str = ""
    """The id of the pressed button (callback data, reply id, postback payload)."""
    lang_hint: str = ""
    """The language the platform reports for the user, if any."""
    sent_at: datetime | None = None
    callback_id: str = ""
    """Telegram callback query to acknowledge, so the button stops spinning."""


@dataclass(frozen=True)
class Button:
    id: str
    """Payload returned when pressed: ``confirm:yes``, ``add:42`` ..."""
    title: str


@dataclass(frozen=True)
class Card:
    """A product as the store sells it: price, stock and image are re-read from the catalog."""

    title: str
    subtitle: str
    """Price and availability, already worded in the shopper's language."""
    image_url: str = ""
    """Absolute https URL, or empty when the store has none a platform could fetch."""
    url: str = ""
    button: Button | None = None


@dataclass
class Outgoing:
    text: str = ""
    cards: list[Card] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    """Quick replies offered after the text (at most 3 on WhatsApp)."""
    button_prompt: str = ""
    """Short text for an interactive message when the reply itself is too long to carry buttons."""
    cards_label: str = "Products"
    """Heading of the product list (and the WhatsApp button that opens it)."""


@dataclass(frozen=True)
class SendContext:
    """What the platform's messaging rules depend on."""

    now: datetime
    last_inbound_at: datetime | None = None
    human: bool = False
    """A person from the store writes (Messenger allows the HUMAN_AGENT tag for 7 days)."""


class Channel(Protocol):
    name: str

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Raise :class:`SignatureMissing` or :class:`SignatureInvalid` unless the platform sent ``body``."""
        ...

    def parse(self, body: bytes) -> list[InboundMessage]:
        """The shopper messages in a verified body; events of no interest are skipped."""
        ...

    def send(self, recipient: str, outgoing: Outgoing, context: SendContext) -> list[str]:
        """Deliver a reply; returns the platform's message ids."""
        ...

    def acknowledge(self, message: InboundMessage) -> None:
        """Tell the platform a button press was seen (a no-op where not needed)."""
        ...


def platform_error(response: httpx.Response) -> str:
    """The platform's own explanation of a refused call, kept short for logs."""
    try:
        data = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return f"HTTP {response.status_code}: {str(error['message'])[:300]}"
        if data.get("description"):
            return f"HTTP {response.status_code}: {str(data['description'])[:300]}"
    return f"HTTP {response.status_code}"


def post_json(
    client: httpx.Client,
    url: str,
    body: object,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> object:
    """POST to a platform API; any failure becomes :class:`DeliveryFailed` naming the platform's reason."""
    try:
        response = client.post(url, json=body, headers=dict(headers or {}), params=dict(params or {}))
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"could not reach {httpx.URL(url).host}: {exc.__class__.__name__}") from None
    if response.is_error:
        raise DeliveryFailed(platform_error(response))
    try:
        result: object = response.json()
    except ValueError:
        return {}
    return result


def load_object(body: bytes) -> dict[str, Any]:
    """A JSON object from a verified body, or :class:`BadUpdate`."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadUpdate("the body is not JSON") from None
    if not isinstance(data, dict):
        raise BadUpdate("the body is not a JSON object")
    return data


def as_list(value: object) -> list[dict[str, Any]]:
    """The dict items of a JSON array (anything else in a platform payload is skipped)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def from_unix(value: object) -> datetime | None:
    try:
        seconds = float(str(value))
    except ValueError:
        return None
    if seconds > 1e11:  # Messenger sends milliseconds
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def is_public_url(url: str) -> bool:
    """Platforms fetch images themselves: only absolute https URLs of raster images will do."""
    lowered = url.lower().split("?")[0]
    return lowered.startswith("https://") and not lowered.endswith(".svg")


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything here is stored in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def make_client(timeout_s: float = 10.0) -> httpx.Client:
    """The HTTP client for platform APIs and webhook deliveries (redirects are not followed)."""
    # httpx logs every request URL at INFO, and Telegram's URLs carry the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return httpx.Client(timeout=timeout_s, follow_redirects=False, headers={"User-Agent": "shopagent"})
