"""Messenger: handshake, signature, parsing, quick replies, generic-template cards and message tags."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from channels.base import (
    Button,
    Card,
    Outgoing,
    OutsideWindow,
    SendContext,
    SignatureInvalid,
    SignatureMissing,
)
from channels.messenger import MessengerChannel
from tests.channels.conftest import NOW, FakePlatforms
from tests.channels.payloads import (
    META_SECRET,
    MSG_USER,
    body,
    messenger,
    meta_headers,
    msg_echo,
    msg_postback,
    msg_read,
    msg_text,
)


def make(platforms: FakePlatforms) -> MessengerChannel:
    client = httpx.Client(transport=httpx.MockTransport(platforms.handle))
    return MessengerChannel("page-token", META_SECRET, "msg-verify", client)


def test_handshake_and_signature(platforms: FakePlatforms) -> None:
    channel = make(platforms)
    assert channel.handshake("subscribe", "msg-verify", "abc") == "abc"
    with pytest.raises(SignatureInvalid):
        channel.handshake("subscribe", "wa-verify", "abc")
    raw = body(messenger([msg_text("m_1", "hi")]))
    channel.verify(meta_headers(raw), raw)
    with pytest.raises(SignatureMissing):
        channel.verify({}, raw)
    with pytest.raises(SignatureInvalid):
        channel.verify(meta_headers(raw + b"\n"), raw)


def test_parses_text_quick_replies_postbacks_and_skips_echoes_and_receipts(platforms: FakePlatforms) -> None:
    channel = make(platforms)
    attachment = {"sender": {"id": MSG_USER}, "recipient": {"id": "p"}, "timestamp": 1_790_000_000_000,
                  "message": {"mid": "m_5", "attachments": [{"type": "image", "payload": {"url": "https://x/y.jpg"}}]}}  # fmt: skip
    payload = messenger([msg_text("m_1", "Merhaba"), msg_text("m_2", "Evet", quick_payload="confirm:yes"),
                         msg_postback("m_3", "add:4", "Add to cart"), msg_echo("m_4"), msg_read(), attachment])  # fmt: skip
    text, quick, postback, image = channel.parse(body(payload))
    assert (text.kind, text.text, text.platform_user_id, text.update_id) == (
        "text",
        "Merhaba",
        MSG_USER,
        "m_1",
    )
    assert text.sent_at is not None and text.sent_at.year == 2026  # milliseconds understood
    assert (quick.kind, quick.payload) == ("button", "confirm:yes")
    assert (postback.kind, postback.payload, postback.update_id) == ("button", "add:4", "m_3")
    assert image.kind == "unsupported"


def test_reply_splits_at_2000_with_quick_replies_on_the_last_message(platforms: FakePlatforms) -> None:
    channel = make(platforms)
    text = ("Bu çadır yürüyüş için idealdir. " * 100).strip()
    buttons = [Button("confirm:yes", "Evet"), Button("confirm:no", "Hayır")]
    channel.send(MSG_USER, Outgoing(text=text, buttons=buttons), SendContext(now=NOW, last_inbound_at=NOW))
    sent = platforms.sent
    assert all(s.params == {"access_token": "page-token"} and s.path == "/v21.0/me/messages" for s in sent)
    messages = [s.body["message"] for s in sent]
    assert len(messages) == 2 and all(len(m["text"]) <= 2000 for m in messages)
    assert "quick_replies" not in messages[0]
    assert messages[1]["quick_replies"] == [
        {"content_type": "text", "title": "Evet", "payload": "confirm:yes"},
        {"content_type": "text", "title": "Hayır", "payload": "confirm:no"},
    ]
    assert all(
        s.body["messaging_type"] == "RESPONSE" and s.body["recipient"] == {"id": MSG_USER} for s in sent
    )


def test_cards_are_a_generic_template(platforms: FakePlatforms) -> None:
    channel = make(platforms)
    cards = [Card("Nordvik Alp 2 Trekking Tent (Forest Green)", "249.00 EUR · in stock",
                  "https://shop.example/t.jpg", button=Button("add:1", "Add to cart")),
             Card("Skyline UL1", "329.00 EUR · sold out", "/relative.jpg")]  # fmt: skip
    channel.send(
        MSG_USER, Outgoing(text="Found two.", cards=cards), SendContext(now=NOW, last_inbound_at=NOW)
    )
    template = platforms.sent[1].body["message"]["attachment"]["payload"]
    assert template["template_type"] == "generic"
    first, second = template["elements"]
    assert first == {
        "title": "Nordvik Alp 2 Trekking Tent (Forest Green)",
        "subtitle": "249.00 EUR · in stock",
        "image_url": "https://shop.example/t.jpg",
        "buttons": [{"type": "postback", "title": "Add to cart", "payload": "add:1"}],
    }
    assert "image_url" not in second and "buttons" not in second


def test_a_person_may_answer_for_seven_days_with_the_human_agent_tag(platforms: FakePlatforms) -> None:
    channel = make(platforms)
    three_days = SendContext(now=NOW, last_inbound_at=NOW - timedelta(days=3), human=True)
    channel.send(MSG_USER, Outgoing(text="Sorry for the wait!"), three_days)
    assert platforms.sent[0].body["messaging_type"] == "MESSAGE_TAG"
    assert platforms.sent[0].body["tag"] == "HUMAN_AGENT"
    with pytest.raises(OutsideWindow):  # the assistant itself may not use the tag
        channel.send(
            MSG_USER, Outgoing(text="Hi"), SendContext(now=NOW, last_inbound_at=NOW - timedelta(days=3))
        )
    with pytest.raises(OutsideWindow):
        channel.send(
            MSG_USER,
            Outgoing(text="Hi"),
            SendContext(now=NOW, last_inbound_at=NOW - timedelta(days=8), human=True),
        )
    assert len(platforms.sent) == 1
