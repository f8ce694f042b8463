"""Facebook Messenger (Send API): page webhooks in; text with quick replies and generic-template
cards out.

Replies inside 24 hours of the shopper's last message go out as ``RESPONSE``. A person from
the store may answer for up to 7 days with the ``HUMAN_AGENT`` tag (the app needs Meta's
Human Agent permission); anything later is refused with :class:`OutsideWindow`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from channels import meta
from channels.base import (
    Button,
    InboundKind,
    InboundMessage,
    NotConfigured,
    Outgoing,
    OutsideWindow,
    SendContext,
    as_list,
    from_unix,
    is_public_url,
    post_json,
)
from channels.formatting import fit, plain, split_text
from shop.settings import Settings

TEXT_LIMIT = 2000
QUICK_REPLY_TITLE_LIMIT = 20
MAX_QUICK_REPLIES = 13
MAX_ELEMENTS = 10
ELEMENT_TEXT_LIMIT = 80
BUTTON_TITLE_LIMIT = 20
PAYLOAD_LIMIT = 1000
HUMAN_AGENT_WINDOW = timedelta(days=7)


class MessengerChannel(meta.MetaWebhook):
    name = "messenger"

    def __init__(
        self,
        page_token: str,
        app_secret: str,
        verify_token: str,
        client: httpx.Client,
        graph_url: str = "https://graph.facebook.com/v21.0",
    ) -> None:
        self._url = f"{graph_url.rstrip('/')}/me/messages"
        self._token = page_token
        super().__init__(app_secret, verify_token)
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings, client: httpx.Client) -> MessengerChannel:
        missing = [
            f"SHOPAGENT_{name.upper()}"
            for name in ("messenger_page_token", "messenger_app_secret", "messenger_verify_token")
            if not getattr(settings, name)
        ]
        if missing:
            raise NotConfigured("Messenger is off: set " + ", ".join(missing))
        assert (
            settings.messenger_page_token
            and settings.messenger_app_secret
            and settings.messenger_verify_token
        )
        return cls(
            settings.messenger_page_token.get_secret_value(),
            settings.messenger_app_secret.get_secret_value(),
            settings.messenger_verify_token.get_secret_value(),
            client,
            settings.graph_api_url,
        )

    # -- in ------------------------------------------------------------------------------
    def parse(self, body: bytes) -> list[InboundMessage]:
        found = []
        for entry in meta.entries(body, "page"):
            for event in as_list(entry.get("messaging")):
                message = _event(event)
                if message is not None:
                    found.append(message)
        return found

    # -- out -----------------------------------------------------------------------------
    def send(self, recipient: str, outgoing: Outgoing, context: SendContext) -> list[str]:
        envelope = self._envelope(recipient, context)
        sent: list[str] = []
        chunks = split_text(plain(outgoing.text), TEXT_LIMIT)
        quick = _quick_replies(outgoing.buttons)
        if quick and not chunks:
            chunks = [outgoing.button_prompt or "…"]
        elements = [
            _element(card.title, card.subtitle, card.image_url, card.button) for card in outgoing.cards
        ]
        for i, chunk in enumerate(chunks):
            message: dict[str, Any] = {"text": chunk}
            if quick and not elements and i == len(chunks) - 1:
                message["quick_replies"] = quick
            sent.append(self._post({**envelope, "message": message}))
        if elements:
            template = {"template_type": "generic", "elements": elements[:MAX_ELEMENTS]}
            cards: dict[str, Any] = {"attachment": {"type": "template", "payload": template}}
            if quick:  # quick replies only show on the last message
                cards["quick_replies"] = quick
            sent.append(self._post({**envelope, "message": cards}))
        return sent

    def acknowledge(self, message: InboundMessage) -> None:
        return None

    def _envelope(self, recipient: str, context: SendContext) -> dict[str, Any]:
        envelope: dict[str, Any] = {"recipient": {"id": recipient}}
        if meta.within(context.last_inbound_at, context.now):
            envelope["messaging_type"] = "RESPONSE"
        elif context.human and meta.within(context.last_inbound_at, context.now, HUMAN_AGENT_WINDOW):
            envelope["messaging_type"] = "MESSAGE_TAG"
            envelope["tag"] = "HUMAN_AGENT"
        else:
            raise OutsideWindow(
                "Messenger only accepts replies within 24 hours of the shopper's last message "
                "(7 days for a person from the store): wait until the shopper writes again"
            )
        return envelope

    def _post(self, body: dict[str, Any]) -> str:
        result = post_json(self._client, self._url, body, params={"access_token": self._token})
        return str(result.get("message_id", "")) if isinstance(result, dict) else ""


def _quick_replies(buttons: list[Button]) -> list[dict[str, str]]:
    return [
        {"content_type": "text", "title": fit(b.title, QUICK_REPLY_TITLE_LIMIT), "payload": b.id}
        for b in buttons[:MAX_QUICK_REPLIES]
        if 0 < len(b.id) <= PAYLOAD_LIMIT
    ]


def _element(title: str, subtitle: str, image_url: str, button: Button | None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "title": fit(title, ELEMENT_TEXT_LIMIT),
        "subtitle": fit(subtitle, ELEMENT_TEXT_LIMIT),
    }
    if image_url and is_public_url(image_url):
        element["image_url"] = image_url
    if button is not None:
        element["buttons"] = [
            {"type": "postback", "title": fit(button.title, BUTTON_TITLE_LIMIT), "payload": button.id}
        ]
    return element


def _event(event: dict[str, Any]) -> InboundMessage | None:
    sender = event.get("sender")
    sender_id = str(sender.get("id", "")) if isinstance(sender, dict) else ""
    if not sender_id:
        return None
    message, postback = event.get("message"), event.get("postback")
    kind: InboundKind
    if isinstance(postback, dict):
        kind, text, payload = "button", str(postback.get("title", "")), str(postback.get("payload", ""))
        update_id = str(postback.get("mid") or "")
    elif isinstance(message, dict):
        if message.get("is_echo"):
            return None  # our own message, echoed back to the page
        raw = message.get("text")
        text = raw if isinstance(raw, str) else ""
        quick = message.get("quick_reply")
        payload = str(quick.get("payload", "")) if isinstance(quick, dict) else ""
        kind = "button" if payload else ("text" if text.strip() else "unsupported")
        update_id = str(message.get("mid") or "")
    else:
        return None  # delivery and read receipts
    return InboundMessage(
        channel="messenger",
        platform_user_id=sender_id,
        update_id=update_id or f"{sender_id}:{event.get('timestamp', '')}",
        kind=kind,
        text=text,
        payload=payload,
        sent_at=from_unix(event.get("timestamp")),
    )
