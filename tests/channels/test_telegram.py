"""Telegram: secret-token check, parsing of Bot API updates, and the calls a reply becomes."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from channels.base import (
    Button,
    Card,
    DeliveryFailed,
    Outgoing,
    SendContext,
    SignatureInvalid,
    SignatureMissing,
)
from channels.telegram import SECRET_HEADER, TelegramChannel
from tests.channels.conftest import NOW
from tests.channels.payloads import TG_SECRET, body, telegram_callback, telegram_photo, telegram_text

API = "https://api.telegram.org/bot123:T"


@pytest.fixture
def telegram() -> TelegramChannel:
    return TelegramChannel("123:T", TG_SECRET, httpx.Client())


def test_secret_token_is_required_and_compared(telegram: TelegramChannel) -> None:
    raw = body(telegram_text(1, "hi"))
    telegram.verify({SECRET_HEADER: TG_SECRET}, raw)
    with pytest.raises(SignatureMissing):
        telegram.verify({}, raw)
    with pytest.raises(SignatureInvalid):
        telegram.verify({SECRET_HEADER: TG_SECRET + "x"}, raw)


def test_parses_text_start_callback_and_non_text(telegram: TelegramChannel) -> None:
    [text] = telegram.parse(body(telegram_text(10, "Do you have a tent?", lang="lt")))
    assert (text.kind, text.text, text.platform_user_id, text.update_id, text.lang_hint) == (
        "text", "Do you have a tent?", "7001", "10", "lt")  # fmt: skip
    assert text.sent_at is not None and text.sent_at.year == 2026
    [start] = telegram.parse(body(telegram_text(11, "/start campaign42")))
    assert (start.kind, start.payload) == ("button", "start")
    [pressed] = telegram.parse(body(telegram_callback(12, "confirm:yes")))
    assert (pressed.kind, pressed.payload, pressed.callback_id) == ("button", "confirm:yes", "cbq12")
    [photo] = telegram.parse(body(telegram_photo(13)))
    assert photo.kind == "unsupported"


def test_ignores_groups_edits_and_bots(telegram: TelegramChannel) -> None:
    assert telegram.parse(body(telegram_text(20, "hi all", chat_id=-100, chat_type="group"))) == []
    edited = telegram_text(21, "edited")
    edited["edited_message"] = edited.pop("message")
    assert telegram.parse(body(edited)) == []
    from_bot = telegram_text(22, "beep")
    from_bot["message"]["from"]["is_bot"] = True
    assert telegram.parse(body(from_bot)) == []
    group_button = telegram_callback(23, "confirm:yes")
    group_button["callback_query"]["message"]["chat"] = {"id": -100, "type": "supergroup"}
    assert telegram.parse(body(group_button)) == []


@respx.mock
def test_reply_is_split_at_4096_with_the_keyboard_on_the_last_part(telegram: TelegramChannel) -> None:
    route = respx.post(f"{API}/sendMessage").mock(
        return_value=httpx.Response(200, json={"ok": True, "result": {"message_id": 9}})
    )
    text = ("Ši palapinė tinka žygiams. " * 200).strip()
    out = Outgoing(text=text, buttons=[Button("confirm:yes", "Taip"), Button("confirm:no", "Ne")])
    ids = telegram.send("7001", out, SendContext(now=NOW))
    bodies = [json.loads(call.request.content) for call in route.calls]
    assert ids == ["9"] * len(bodies) and len(bodies) == 2
    assert all(len(b["text"].encode("utf-16-le")) // 2 <= 4096 for b in bodies)
    assert "reply_markup" not in bodies[0]
    assert bodies[1]["reply_markup"] == {
        "inline_keyboard": [[{"text": "Taip", "callback_data": "confirm:yes"},
                             {"text": "Ne", "callback_data": "confirm:no"}]]}  # fmt: skip
    assert " ".join(b["text"] for b in bodies) == text
    assert all("parse_mode" not in b for b in bodies)  # plain text: nothing is interpreted as markup


@respx.mock
def test_cards_become_photos_when_the_image_is_public(telegram: TelegramChannel) -> None:
    photo = respx.post(f"{API}/sendPhoto").mock(
        return_value=httpx.Response(200, json={"ok": True, "result": {"message_id": 1}})
    )
    message = respx.post(f"{API}/sendMessage").mock(
        return_value=httpx.Response(200, json={"ok": True, "result": {"message_id": 2}})
    )
    cards = [
        Card(
            "Tent",
            "249.00 EUR · in stock",
            "https://shop.example/t.jpg",
            button=Button("add:1", "Add to cart"),
        ),
        Card("Socks", "19.90 EUR · in stock", "https://shop.example/s.svg"),  # Telegram cannot show SVG
    ]
    telegram.send("7001", Outgoing(cards=cards), SendContext(now=NOW))
    sent_photo = json.loads(photo.calls[0].request.content)
    assert sent_photo["photo"] == "https://shop.example/t.jpg"
    assert sent_photo["caption"] == "Tent\n249.00 EUR · in stock"
    assert sent_photo["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "add:1"
    assert json.loads(message.calls[0].request.content)["text"] == "Socks\n19.90 EUR · in stock"


@respx.mock
def test_platform_refusal_names_the_reason(telegram: TelegramChannel) -> None:
    respx.post(f"{API}/sendMessage").mock(
        return_value=httpx.Response(
            403, json={"ok": False, "description": "Forbidden: bot was blocked by the user"}
        )
    )
    with pytest.raises(DeliveryFailed, match="blocked by the user"):
        telegram.send("7001", Outgoing(text="hi"), SendContext(now=NOW))


@respx.mock
def test_button_presses_are_acknowledged(telegram: TelegramChannel) -> None:
    route = respx.post(f"{API}/answerCallbackQuery").mock(
        return_value=httpx.Response(200, json={"ok": True, "result": True})
    )
    [pressed] = telegram.parse(body(telegram_callback(30, "add:5")))
    telegram.acknowledge(pressed)
    assert json.loads(route.calls[0].request.content) == {"callback_query_id": "cbq30"}
