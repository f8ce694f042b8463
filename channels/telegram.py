"""Telegram Bot API: webhook updates in, ``sendMessage``/``sendPhoto`` with inline keyboards out.

Telegram echoes the ``secret_token`` given to ``setWebhook`` in the
``X-Telegram-Bot-Api-Secret-Token`` header of every update; without it configured the
channel stays off. Only private chats are served: in a group, one shopper's cart and
order answers would be read by everyone.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

import httpx

from channels.base import (
    Button,
    Card,
    InboundKind,
    InboundMessage,
    NotConfigured,
    Outgoing,
    SendContext,
    SignatureInvalid,
    SignatureMissing,
    from_unix,
    is_public_url,
    load_object,
    post_json,
)
from channels.formatting import fit, plain, split_text, utf16_units
from shop.settings import Settings

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_BYTES = 64
MAX_CARDS = 3


class TelegramChannel:
    name = "telegram"

    def __init__(
        self, token: str, secret_token: str, client: httpx.Client, api_url: str = "https://api.telegram.org"
    ) -> None:
        self._base = f"{api_url.rstrip('/')}/bot{token}"
        self._secret = secret_token
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings, client: httpx.Client) -> TelegramChannel:
        if settings.telegram_bot_token is None or settings.telegram_secret_token is None:
            raise NotConfigured(
                "Telegram is off: set SHOPAGENT_TELEGRAM_BOT_TOKEN and SHOPAGENT_TELEGRAM_SECRET_TOKEN"
            )
        return cls(
            settings.telegram_bot_token.get_secret_value(),
            settings.telegram_secret_token.get_secret_value(),
            client,
            settings.telegram_api_url,
        )

    # -- in ------------------------------------------------------------------------------
    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        presented = headers.get(SECRET_HEADER) or headers.get(SECRET_HEADER.lower()) or ""
        if not presented:
            raise SignatureMissing(f"missing {SECRET_HEADER} header")
        if not hmac.compare_digest(presented.encode(), self._secret.encode()):
            raise SignatureInvalid(f"{SECRET_HEADER} does not match")

    def parse(self, body: bytes) -> list[InboundMessage]:
        update = load_object(body)
        update_id = str(update.get("update_id", ""))
        if not update_id:
            return []
        if isinstance(query := update.get("callback_query"), dict):
            return _callback(update_id, query)
        if isinstance(message := update.get("message"), dict):
            return _message(update_id, message)
        return []  # edits, channel posts, membership changes: nothing to answer

    # -- out -----------------------------------------------------------------------------
    def send(self, recipient: str, outgoing: Outgoing, context: SendContext) -> list[str]:
        sent: list[str] = []
        chunks = split_text(plain(outgoing.text), TEXT_LIMIT, utf16_units)
        keyboard = _keyboard(outgoing.buttons)
        if keyboard and not chunks:
            chunks = [outgoing.button_prompt or "…"]
        for i, chunk in enumerate(chunks):
            body: dict[str, Any] = {
                "chat_id": recipient,
                "text": chunk,
                "link_preview_options": {"is_disabled": True},
            }
            if keyboard and i == len(chunks) - 1:
                body["reply_markup"] = keyboard
            sent.append(self._call("sendMessage", body))
        for card in outgoing.cards[:MAX_CARDS]:
            sent.append(self._card(recipient, card))
        return sent

    def acknowledge(self, message: InboundMessage) -> None:
        if message.callback_id:
            post_json(
                self._client, f"{self._base}/answerCallbackQuery", {"callback_query_id": message.callback_id}
            )

    def _card(self, recipient: str, card: Card) -> str:
        caption = "\n".join(part for part in (card.title, card.subtitle, card.url) if part)
        markup = _keyboard([card.button] if card.button else [])
        if card.image_url and is_public_url(card.image_url):
            body: dict[str, Any] = {
                "chat_id": recipient,
                "photo": card.image_url,
                "caption": fit(caption, CAPTION_LIMIT, utf16_units, lines=True),
            }
            method = "sendPhoto"
        else:
            body = {
                "chat_id": recipient,
                "text": fit(caption, TEXT_LIMIT, utf16_units, lines=True),
                "link_preview_options": {"is_disabled": True},
            }
            method = "sendMessage"
        if markup:
            body["reply_markup"] = markup
        return self._call(method, body)

    def _call(self, method: str, body: dict[str, Any]) -> str:
        result = post_json(self._client, f"{self._base}/{method}", body)
        message = result.get("result") if isinstance(result, dict) else None
        return str(message.get("message_id", "")) if isinstance(message, dict) else ""


def _keyboard(buttons: list[Button]) -> dict[str, Any] | None:
    usable = [b for b in buttons if 0 < len(b.id.encode()) <= CALLBACK_DATA_BYTES]
    if not usable:
        return None
    return {"inline_keyboard": [[{"text": fit(b.title, 64), "callback_data": b.id} for b in usable]]}


def _lang(user: object) -> str:
    code = user.get("language_code") if isinstance(user, dict) else None
    return str(code).split("-")[0].lower() if code else ""


def _private_chat(message: dict[str, Any]) -> str:
    chat = message.get("chat")
    if not isinstance(chat, dict) or chat.get("type") != "private" or "id" not in chat:
        return ""
    return str(chat["id"])


def _message(update_id: str, message: dict[str, Any]) -> list[InboundMessage]:
    chat_id = _private_chat(message)
    sender = message.get("from")
    if not chat_id or (isinstance(sender, dict) and sender.get("is_bot")):
        return []
    text = message.get("text") if isinstance(message.get("text"), str) else message.get("caption")
    kind: InboundKind = "unsupported"
    payload = ""
    if isinstance(text, str) and text.strip():
        kind = "text"
        if text.strip().split("@")[0].split(" ")[0] == "/start":
            kind, payload, text = "button", "start", ""
    return [
        InboundMessage(
            channel="telegram",
            platform_user_id=chat_id,
            update_id=update_id,
            kind=kind,
            text=text if isinstance(text, str) and kind == "text" else "",
            payload=payload,
            lang_hint=_lang(sender),
            sent_at=from_unix(message.get("date")),
        )
    ]


def _callback(update_id: str, query: dict[str, Any]) -> list[InboundMessage]:
    message = query.get("message")
    sender = query.get("from")
    if isinstance(message, dict):
        chat_id = _private_chat(message)
    else:  # the pressed message is too old to be included; in a private chat its id is the user's
        chat_id = str(sender["id"]) if isinstance(sender, dict) and "id" in sender else ""
    if not chat_id:
        return []
    data = query.get("data")
    return [
        InboundMessage(
            channel="telegram",
            platform_user_id=chat_id,
            update_id=update_id,
            kind="button",
            payload=data if isinstance(data, str) else "",
            lang_hint=_lang(sender),
            callback_id=str(query.get("id", "")),
        )
    ]
