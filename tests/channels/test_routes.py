"""Platform webhooks end to end: verification, dedup, the agent's turn and the reply through the platform."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from agent.fakes import FunctionModel, call, last_user_text
from agent.llm import Message, Reply, ToolSpec
from channels.hub import ChannelHub
from channels.telegram import SECRET_HEADER
from server import create_app
from shop.db import Database
from shop.models import Cart, ChannelIdentity, Conversation, Order, OutboxEvent, ProcessedUpdate, Product
from tests.channels.conftest import FakePlatforms
from tests.channels.payloads import (
    TG_SECRET,
    WA_USER,
    body,
    messenger,
    meta_headers,
    msg_text,
    telegram_callback,
    telegram_photo,
    telegram_text,
    wa_button,
    wa_text,
    whatsapp,
)
from tests.conftest import MERCHANT
from tests.server.conftest import shop_brain

TG = {SECRET_HEADER: TG_SECRET}


def post_telegram(client: TestClient, update: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return client.post(
        "/v1/channels/telegram", content=body(update), headers=TG if headers is None else headers
    )


def post_meta(client: TestClient, name: str, payload: dict[str, Any], secret: str | None = None) -> Any:
    raw = body(payload)
    headers = meta_headers(raw) if secret is None else meta_headers(raw, secret)
    return client.post(f"/v1/channels/{name}", content=raw, headers=headers)


def count(db: Database, model: type) -> int:
    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


CASES: dict[str, tuple[bytes, dict[str, str]]] = {
    "telegram": (body(telegram_text(1, "Do you have a tent?")), {SECRET_HEADER: "wrong"}),
    "whatsapp": (raw := body(whatsapp([wa_text("wamid.1", "tent?")])), meta_headers(raw, "bad")),
    "messenger": (raw := body(messenger([msg_text("m_1", "tent?")])), meta_headers(raw, "bad")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_unsigned_or_badly_signed_deliveries_are_refused_and_nothing_is_processed(
    name: str, client: TestClient, db: Database, platforms: FakePlatforms, model: FunctionModel
) -> None:
    raw, bad_headers = CASES[name]
    assert client.post(f"/v1/channels/{name}", content=raw).status_code == 401
    refused = client.post(f"/v1/channels/{name}", content=raw, headers=bad_headers)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert count(db, ProcessedUpdate) == 0 and count(db, ChannelIdentity) == 0
    assert model.sent == [] and platforms.sent == []


def test_unconfigured_channel_is_off(settings, agent, platforms: FakePlatforms) -> None:  # type: ignore[no-untyped-def]
    bare = agent.settings.model_copy(update={"telegram_bot_token": None, "whatsapp_token": None})
    agent.settings = bare
    with TestClient(create_app(bare, agent)) as client:
        response = post_telegram(client, telegram_text(1, "hi"))
        assert response.status_code == 404 and "SHOPAGENT_TELEGRAM_BOT_TOKEN" in response.json()["detail"]
        wa = client.get("/v1/channels/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": "wa-verify",
                                                           "hub.challenge": "42"})  # fmt: skip
        assert wa.status_code == 404 and "SHOPAGENT_WHATSAPP_TOKEN" in wa.json()["detail"]


def test_meta_subscription_handshake(client: TestClient) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": "msg-verify", "hub.challenge": "1158201444"}
    ok = client.get("/v1/channels/messenger", params=params)
    assert (
        ok.status_code == 200
        and ok.text == "1158201444"
        and ok.headers["content-type"].startswith("text/plain")
    )
    assert client.get("/v1/channels/whatsapp", params=params).status_code == 403  # WhatsApp's token differs
    assert (
        client.get("/v1/channels/whatsapp", params={**params, "hub.verify_token": "wa-verify"}).text
        == "1158201444"
    )
    assert client.get("/v1/channels/messenger").status_code == 403


def test_telegram_message_gets_the_agents_reply_and_product_cards(
    client: TestClient, db: Database, platforms: FakePlatforms
) -> None:
    response = post_telegram(client, telegram_text(1, "Do you have a tent?"))
    assert response.status_code == 200 and response.json() == {"ok": True, "accepted": 1}
    [reply, *cards] = platforms.calls("/sendMessage")
    assert reply["chat_id"] == "7001" and "Kestrel Trail 3 Tent for 199.00 EUR" in reply["text"]
    assert len(cards) == 3  # at most three cards, each with its store price and an add button when in stock
    with db.read_session() as s:
        products = {p.title: p for p in s.scalars(select(Product).where(Product.merchant_id == MERCHANT))}
        for card in cards:
            title, subtitle = card["text"].splitlines()
            product = products[title]
            in_stock = product.stock is None or product.stock > 0
            assert subtitle == f"{product.price_minor // 100}.{product.price_minor % 100:02d} EUR · " + (
                "in stock" if in_stock else "sold out"
            )
            buttons = card.get("reply_markup", {}).get("inline_keyboard", [[]])[0]
            assert [b["callback_data"] for b in buttons] == ([f"add:{product.id}"] if in_stock else [])
    assert {"in stock", "sold out"} <= {c["text"].split(" · ")[1] for c in cards}
    with db.read_session() as s:
        identity = s.scalars(select(ChannelIdentity)).one()
        conversation = s.get(Conversation, identity.session_id)
        assert conversation is not None and conversation.channel == "telegram"
        assert (identity.channel, identity.platform_user_id, identity.merchant_id) == (
            "telegram",
            "7001",
            MERCHANT,
        )
        assert identity.session_id != "7001"  # sessions are random ids, never the platform's user id
        assert s.scalars(select(ProcessedUpdate)).one().status == "done"


def test_a_retried_delivery_is_processed_once(
    client: TestClient, platforms: FakePlatforms, model: FunctionModel
) -> None:
    update = telegram_text(5, "Do you have a tent?")
    assert post_telegram(client, update).json()["accepted"] == 1
    calls, sent = len(model.sent), len(platforms.sent)
    for _ in range(3):
        retry = post_telegram(client, update)
        assert retry.status_code == 200 and retry.json()["accepted"] == 0
    assert len(model.sent) == calls and len(platforms.sent) == sent
    raw = body(
        whatsapp([wa_text("wamid.X", "socks?"), wa_text("wamid.X", "socks?")])
    )  # duplicated inside one body
    assert (
        client.post("/v1/channels/whatsapp", content=raw, headers=meta_headers(raw)).json()["accepted"] == 1
    )


def test_same_shopper_keeps_one_session_across_messages(client: TestClient, db: Database) -> None:
    post_telegram(client, telegram_text(1, "add TENT-TRAIL3"))
    post_telegram(client, telegram_text(2, "add FOOT-ALP2"))
    post_telegram(client, telegram_text(3, "add FOOT-ALP2", chat_id=9999))
    with db.read_session() as s:
        sessions = {i.platform_user_id: i.session_id for i in s.scalars(select(ChannelIdentity))}
        carts = {c.session_id: {line.sku: line.quantity for line in c.lines} for c in s.scalars(select(Cart))}
    assert carts[sessions["7001"]] == {"TENT-TRAIL3": 1, "FOOT-ALP2": 1}
    assert carts[sessions["9999"]] == {"FOOT-ALP2": 1}


def test_add_to_cart_button_is_answered_by_the_server(
    client: TestClient, db: Database, platforms: FakePlatforms, model: FunctionModel
) -> None:
    with db.read_session() as s:
        pk = s.scalar(select(Product.id).where(Product.merchant_id == MERCHANT, Product.sku == "STOVE-GAS"))
    post_telegram(client, telegram_callback(40, f"add:{pk}"))
    assert model.sent == []
    assert platforms.calls("/answerCallbackQuery") == [{"callback_query_id": "cbq40"}]
    [reply] = platforms.calls("/sendMessage")
    assert reply["text"] == "Added to your cart: Blaze Gas Stove. Your cart: 1 item(s), 45.00 EUR."
    post_telegram(client, telegram_callback(41, "add:999999"))
    assert platforms.calls("/sendMessage")[-1]["text"].startswith("Sorry, I could not add that")


def test_non_text_messages_get_a_localized_notice_without_a_model_call(
    client: TestClient, platforms: FakePlatforms, model: FunctionModel
) -> None:
    post_telegram(client, telegram_photo(50))
    post_meta(
        client,
        "whatsapp",
        whatsapp([{"from": WA_USER, "id": "wamid.s", "timestamp": "1790000000", "type": "sticker"}]),
    )
    assert model.sent == []
    assert platforms.texts() == ["Sorry, I can only read text messages. Please type your question."] * 2


def test_start_greets_in_the_shoppers_platform_language(client: TestClient, model: FunctionModel) -> None:
    post_telegram(client, telegram_text(60, "/start", lang="lt"))
    assert last_user_text(model.sent[0].messages) == "Sveiki"


def test_groups_are_not_served(client: TestClient, platforms: FakePlatforms) -> None:
    assert (
        post_telegram(client, telegram_text(70, "tent?", chat_id=-1001, chat_type="group")).json()["accepted"]
        == 0
    )
    assert platforms.sent == []


def test_platform_refusal_is_logged_with_the_update_and_still_acknowledged(
    client: TestClient, db: Database, platforms: FakePlatforms
) -> None:
    platforms.fail_with = 400
    assert post_meta(client, "messenger", messenger([msg_text("m_9", "tent?")])).status_code == 200
    with db.read_session() as s:
        update = s.scalars(select(ProcessedUpdate)).one()
        assert update.status == "failed" and "Invalid parameter" in update.error


def checkout_brain(messages: list[Message], tools: list[ToolSpec]) -> Reply | str:
    """The server brain, plus: place the prepared order after the shopper's yes."""
    last = messages[-1]
    if (
        last.role == "user"
        and last.content in ("Yes", "Taip", "Evet")
        and any(m.role == "tool" and m.name == "prepare_checkout" for m in messages)
    ):
        return Reply(tool_calls=[call("place_order")])
    if last.role == "tool" and last.name == "place_order":
        return "Your order is placed."
    return shop_brain(messages, tools)


@pytest.mark.parametrize("name", ["whatsapp", "messenger"])
def test_checkout_confirmation_uses_buttons_and_places_one_order(
    name: str, client: TestClient, db: Database, platforms: FakePlatforms, model: FunctionModel
) -> None:
    model.function = checkout_brain

    def say(mid: str, text: str, payload: str = "") -> None:
        if name == "whatsapp":
            message = wa_button(mid, payload, text) if payload else wa_text(mid, text)
            assert post_meta(client, name, whatsapp([message])).status_code == 200
        else:
            assert (
                post_meta(client, name, messenger([msg_text(mid, text, quick_payload=payload)])).status_code
                == 200
            )

    say("1", "add TENT-TRAIL3")
    say("2", "checkout for ruta@example.com")
    last = platforms.sent[-1].body
    if name == "whatsapp":
        assert last["type"] == "interactive" and "199.00" in last["interactive"]["body"]["text"]
        assert [b["reply"]["id"] for b in last["interactive"]["action"]["buttons"]] == [
            "confirm:yes",
            "confirm:no",
        ]
    else:
        assert "199.00" in last["message"]["text"]
        assert [q["payload"] for q in last["message"]["quick_replies"]] == ["confirm:yes", "confirm:no"]
    say("3", "Yes", payload="confirm:yes")
    assert platforms.texts()[-1] == "Your order is placed."
    say("3", "Yes", payload="confirm:yes")  # the platform retries the button press
    with db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(Order).where(Order.source == "checkout")) == 1
        assert [e.type for e in s.scalars(select(OutboxEvent))] == ["order.placed"]


def test_hub_rejects_unknown_channels(hub: ChannelHub) -> None:
    from channels.base import NotConfigured

    with pytest.raises(NotConfigured):
        hub.channel("sms")
