"""Platform payloads in the documented formats (Bot API Update, Cloud API and Messenger webhooks)."""

from __future__ import annotations

import json
from typing import Any

from channels.signing import sign_meta

TG_SECRET = "tg-secret-token-123"
META_SECRET = "meta-app-secret"
WA_PHONE_ID = "106540352242922"
WA_USER = "37060012345"
MSG_USER = "6783481721759302"
PAGE_ID = "102030405060708"


def telegram_text(
    update_id: int, text: str, chat_id: int = 7001, lang: str = "en", chat_type: str = "private"
) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Ruta", "language_code": lang}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 100 + update_id,
            "from": user,
            "chat": {"id": chat_id, "first_name": "Ruta", "type": chat_type},
            "date": 1_790_000_000,
            "text": text,
        },
    }


def telegram_photo(update_id: int, chat_id: int = 7001) -> dict[str, Any]:
    update = telegram_text(update_id, "", chat_id)
    del update["message"]["text"]
    update["message"]["photo"] = [{"file_id": "AgAC", "file_unique_id": "AQAD", "width": 90, "height": 67}]
    return update


def telegram_callback(update_id: int, data: str, chat_id: int = 7001) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Ruta", "language_code": "en"}
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cbq{update_id}",
            "from": user,
            "message": {
                "message_id": 55,
                "chat": {"id": chat_id, "type": "private"},
                "date": 1_790_000_000,
                "text": "…",
            },
            "chat_instance": "-81234",
            "data": data,
        },
    }


def whatsapp(
    messages: list[dict[str, Any]], statuses: list[dict[str, Any]] | None = None, phone_id: str = WA_PHONE_ID
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": phone_id},
        "contacts": [{"profile": {"name": "Ruta"}, "wa_id": WA_USER}],
    }
    if messages:
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA1", "changes": [{"value": value, "field": "messages"}]}],
    }


def wa_text(message_id: str, body: str, timestamp: int = 1_790_000_000) -> dict[str, Any]:
    return {
        "from": WA_USER,
        "id": message_id,
        "timestamp": str(timestamp),
        "type": "text",
        "text": {"body": body},
    }


def wa_button(message_id: str, reply_id: str, title: str, timestamp: int = 1_790_000_000) -> dict[str, Any]:
    return {
        "context": {"from": "15550001111", "id": "wamid.prev"},
        "from": WA_USER,
        "id": message_id,
        "timestamp": str(timestamp),
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}},
    }


def wa_list(message_id: str, row_id: str, title: str) -> dict[str, Any]:
    return {
        "from": WA_USER,
        "id": message_id,
        "timestamp": "1790000000",
        "type": "interactive",
        "interactive": {
            "type": "list_reply",
            "list_reply": {"id": row_id, "title": title, "description": "x"},
        },
    }


def wa_image(message_id: str) -> dict[str, Any]:
    return {"from": WA_USER, "id": message_id, "timestamp": "1790000000", "type": "image",
            "image": {"mime_type": "image/jpeg", "sha256": "abc", "id": "media1"}}  # fmt: skip


def messenger(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": PAGE_ID, "time": 1_790_000_000_000, "messaging": events}]}


def msg_text(
    mid: str, text: str, quick_payload: str = "", timestamp: int = 1_790_000_000_000
) -> dict[str, Any]:
    message: dict[str, Any] = {"mid": mid, "text": text}
    if quick_payload:
        message["quick_reply"] = {"payload": quick_payload}
    return {
        "sender": {"id": MSG_USER},
        "recipient": {"id": PAGE_ID},
        "timestamp": timestamp,
        "message": message,
    }


def msg_postback(mid: str, payload: str, title: str) -> dict[str, Any]:
    return {"sender": {"id": MSG_USER}, "recipient": {"id": PAGE_ID}, "timestamp": 1_790_000_000_000,
            "postback": {"mid": mid, "title": title, "payload": payload}}  # fmt: skip


def msg_echo(mid: str) -> dict[str, Any]:
    return {"sender": {"id": PAGE_ID}, "recipient": {"id": MSG_USER}, "timestamp": 1_790_000_000_000,
            "message": {"mid": mid, "is_echo": True, "app_id": 1, "text": "our reply"}}  # fmt: skip


def msg_read() -> dict[str, Any]:
    return {"sender": {"id": MSG_USER}, "recipient": {"id": PAGE_ID}, "timestamp": 1_790_000_000_000,
            "read": {"watermark": 1_790_000_000_000}}  # fmt: skip


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def meta_headers(raw: bytes, secret: str = META_SECRET) -> dict[str, str]:
    return {"X-Hub-Signature-256": sign_meta(secret, raw), "Content-Type": "application/json"}
