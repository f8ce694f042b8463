"""WhatsApp Cloud API: ``messages`` webhooks in; text, interactive buttons and lists out.

Inside the 24-hour customer-service window (since the shopper's last message) any message
may be sent; outside it WhatsApp only delivers approved templates, so a free-form reply
then becomes the configured follow-up template (its one body parameter carries the text)
or is refused with :class:`OutsideWindow`.
"""

from __future__ import annotations

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
    post_json,
)
from channels.formatting import fit, plain, split_text
from shop.settings import Settings

TEXT_LIMIT = 4096
INTERACTIVE_BODY_LIMIT = 1024
BUTTON_TITLE_LIMIT = 20
MAX_BUTTONS = 3
MAX_ROWS = 10
ROW_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
TEMPLATE_PARAMETER_LIMIT = 1000


class WhatsAppChannel(meta.MetaWebhook):
    name = "whatsapp"

    def __init__(
        self,
        token: str,
        phone_number_id: str,
        app_secret: str,
        verify_token: str,
        client: httpx.Client,
        graph_url: str = "https://graph.facebook.com/v21.0",
        followup_template: str | None = None,
        template_language: str = "en",
    ) -> None:
        self._url = f"{graph_url.rstrip('/')}/{phone_number_id}/messages"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._phone_number_id = phone_number_id
        super().__init__(app_secret, verify_token)
        self._client = client
        self._template = followup_template
        self._template_language = template_language

    @classmethod
    def from_settings(cls, settings: Settings, client: httpx.Client) -> WhatsAppChannel:
        missing = [
            f"SHOPAGENT_{name.upper()}"
            for name in (
                "whatsapp_token",
                "whatsapp_phone_number_id",
                "whatsapp_app_secret",
                "whatsapp_verify_token",
            )
            if not getattr(settings, name)
        ]
        if missing:
            raise NotConfigured("WhatsApp is off: set " + ", ".join(missing))
        assert settings.whatsapp_token and settings.whatsapp_app_secret and settings.whatsapp_verify_token
        return cls(
            settings.whatsapp_token.get_secret_value(),
            str(settings.whatsapp_phone_number_id),
            settings.whatsapp_app_secret.get_secret_value(),
            settings.whatsapp_verify_token.get_secret_value(),
            client,
            settings.graph_api_url,
            settings.whatsapp_followup_template,
            settings.whatsapp_template_language,
        )

    # -- in ------------------------------------------------------------------------------
    def parse(self, body: bytes) -> list[InboundMessage]:
        found: list[InboundMessage] = []
        for entry in meta.entries(body, "whatsapp_business_account"):
            for change in as_list(entry.get("changes")):
                value = change.get("value")
                if change.get("field") != "messages" or not isinstance(value, dict):
                    continue
                number = _obj(value.get("metadata")).get("phone_number_id")
                if number is not None and str(number) != self._phone_number_id:
                    continue  # another number of the same app
                found.extend(m for m in map(_message, as_list(value.get("messages"))) if m is not None)
        return found  # delivery statuses ("sent", "read") carry no shopper message

    # -- out -----------------------------------------------------------------------------
    def send(self, recipient: str, outgoing: Outgoing, context: SendContext) -> list[str]:
        if not meta.within(context.last_inbound_at, context.now):
            return self._send_template(recipient, outgoing)
        sent: list[str] = []
        chunks = split_text(plain(outgoing.text, bold="*"), TEXT_LIMIT)
        buttons = outgoing.buttons[:MAX_BUTTONS]
        carry = buttons and chunks and len(chunks[-1]) <= INTERACTIVE_BODY_LIMIT
        for chunk in chunks[:-1] if carry else chunks:
            sent.append(
                self._post(recipient, {"type": "text", "text": {"body": chunk, "preview_url": False}})
            )
        if buttons:
            body = chunks[-1] if carry else fit(outgoing.button_prompt or "…", INTERACTIVE_BODY_LIMIT)
            sent.append(self._post(recipient, _buttons(body, buttons)))
        rows = [_row(card.title, card.subtitle, card.button) for card in outgoing.cards if card.button]
        if rows:
            sent.append(self._post(recipient, _list(outgoing.cards_label, rows[:MAX_ROWS])))
        return sent

    def acknowledge(self, message: InboundMessage) -> None:
        return None

    def _send_template(self, recipient: str, outgoing: Outgoing) -> list[str]:
        if not self._template:
            raise OutsideWindow(
                "the shopper's last WhatsApp message is more than 24 hours old, so WhatsApp only accepts "
                "template messages: set SHOPAGENT_WHATSAPP_FOLLOWUP_TEMPLATE to an approved template "
                "with one body parameter"
            )
        # Template parameters may not hold line breaks or tabs.
        text = " ".join(plain(outgoing.text or outgoing.button_prompt).split())
        return [
            self._post(
                recipient,
                {
                    "type": "template",
                    "template": {
                        "name": self._template,
                        "language": {"code": self._template_language},
                        "components": [{"type": "body", "parameters": [{"type": "text", "text": part}]}],
                    },
                },
            )
            for part in split_text(text, TEMPLATE_PARAMETER_LIMIT)
        ]

    def _post(self, recipient: str, message: dict[str, Any]) -> str:
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": recipient, **message}
        result = post_json(self._client, self._url, body, headers=self._headers)
        messages = as_list(result.get("messages")) if isinstance(result, dict) else []
        return str(messages[0].get("id", "")) if messages else ""


def _buttons(body: str, buttons: list[Button]) -> dict[str, Any]:
    return {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": body},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": b.id[:256], "title": fit(b.title, BUTTON_TITLE_LIMIT)}}
                    for b in buttons
                ]
            },
        },
    }


def _row(title: str, subtitle: str, button: Button | None) -> dict[str, str]:
    assert button is not None
    return {
        "id": button.id[:200],
        "title": fit(title, ROW_TITLE_LIMIT),
        "description": fit(subtitle, ROW_DESCRIPTION_LIMIT),
    }


def _list(label: str, rows: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": fit(label, INTERACTIVE_BODY_LIMIT)},
            "action": {
                "button": fit(label, BUTTON_TITLE_LIMIT),
                "sections": [{"title": fit(label, ROW_TITLE_LIMIT), "rows": rows}],
            },
        },
    }


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _message(message: dict[str, Any]) -> InboundMessage | None:
    sender, message_id = message.get("from"), message.get("id")
    if not sender or not message_id:
        return None
    kind: InboundKind = "unsupported"
    text = payload = ""
    match message.get("type"):
        case "text":
            text = str(_obj(message.get("text")).get("body", ""))
            kind = "text" if text.strip() else "unsupported"
        case "interactive":
            interactive = _obj(message.get("interactive"))
            reply = _obj(interactive.get("button_reply") or interactive.get("list_reply"))
            kind, payload, text = "button", str(reply.get("id", "")), str(reply.get("title", ""))
        case "button":  # a quick-reply button of a template
            button = _obj(message.get("button"))
            kind, payload, text = "button", str(button.get("payload", "")), str(button.get("text", ""))
        case "reaction":
            return None
    return InboundMessage(
        channel="whatsapp",
        platform_user_id=str(sender),
        update_id=str(message_id),
        kind=kind,
        text=text,
        payload=payload,
        sent_at=from_unix(message.get("timestamp")),
    )
