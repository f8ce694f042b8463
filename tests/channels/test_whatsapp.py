"""WhatsApp Cloud API: handshake, signature, parsing, interactive messages and the 24-hour window."""

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
from channels.whatsapp import WhatsAppChannel
from tests.channels.conftest import NOW, FakePlatforms
from tests.channels.payloads import (
    META_SECRET,
    WA_PHONE_ID,
    WA_USER,
    body,
    meta_headers,
    wa_button,
    wa_image,
    wa_list,
    wa_text,
    whatsapp,
)

OPEN = SendContext(now=NOW, last_inbound_at=NOW - timedelta(hours=1))
CLOSED = SendContext(now=NOW, last_inbound_at=NOW - timedelta(hours=24, seconds=1))


def make(platforms: FakePlatforms, template: str | None = None) -> WhatsAppChannel:
    client = httpx.Client(transport=httpx.MockTransport(platforms.handle))
    return WhatsAppChannel(
        "wa-token", WA_PHONE_ID, META_SECRET, "wa-verify", client, followup_template=template
    )


def test_handshake_echoes_the_challenge_only_for_the_right_token(platforms: FakePlatforms) -> None:
    channel = make(platforms)
    assert channel.handshake("subscribe", "wa-verify", "1158201444") == "1158201444"
    with pytest.raises(SignatureInvalid):
        channel.handshake("subscribe", "wrong", "1158201444")
    with pytest.raises(SignatureInvalid):
        channel.handshake("unsubscribe", "wa-verify", "1158201444")


def test_signature_is_checked_over_the_raw_body(platforms: FakePlatforms) -> None:
    channel = make(platforms)
    raw = body(whatsapp([wa_text("wamid.1", "Labas")]))
    channel.verify(meta_headers(raw), raw)
    with pytest.raises(SignatureMissing):
        channel.verify({}, raw)
    with pytest.raises(SignatureInvalid):
        channel.verify(meta_headers(raw, "another-app"), raw)


def test_parses_text_buttons_lists_and_skips_statuses(platforms: FakePlatforms) -> None:
    channel = make(platforms)
    statuses = [{"id": "wamid.0", "status": "read", "timestamp": "1790000000", "recipient_id": WA_USER}]
    payload = whatsapp(
        [wa_text("wamid.1", "Ar turite palapinių?"), wa_button("wamid.2", "confirm:yes", "Taip"),
         wa_list("wamid.3", "add:7", "Nordvik Alp 2"), wa_image("wamid.4")],
        statuses,
    )  # fmt: skip
    text, button, row, image = channel.parse(body(payload))
    assert (text.kind, text.text, text.platform_user_id, text.update_id) == (
        "text",
        "Ar turite palapinių?",
        WA_USER,
        "wamid.1",
    )
    assert (button.kind, button.payload, button.text) == ("button", "confirm:yes", "Taip")
    assert (row.kind, row.payload) == ("button", "add:7")
    assert image.kind == "unsupported"
    assert channel.parse(body(whatsapp([], statuses))) == []
    assert channel.parse(body(whatsapp([wa_text("wamid.5", "hi")], phone_id="999"))) == []  # another number
    assert channel.parse(b'{"object": "instagram"}') == []


def test_long_reply_splits_at_4096_and_buttons_ride_on_the_last_part(platforms: FakePlatforms) -> None:
    channel = make(platforms)
    text = ("هذه الخيمة خفيفة ومناسبة للرحلات. " * 150).strip()
    out = Outgoing(text=text, buttons=[Button("confirm:yes", "نعم"), Button("confirm:no", "لا")])
    channel.send(WA_USER, out, OPEN)
    sent = [s.body for s in platforms.sent]
    assert [b["type"] for b in sent] == ["text", "interactive"]
    assert len(sent[0]["text"]["body"]) <= 4096
    interactive = sent[1]["interactive"]
    assert interactive["type"] == "button" and len(interactive["body"]["text"]) <= 1024
    assert [b["reply"]["id"] for b in interactive["action"]["buttons"]] == ["confirm:yes", "confirm:no"]
    assert " ".join([sent[0]["text"]["body"], interactive["body"]["text"]]) == text
    assert all(b["to"] == WA_USER and b["messaging_product"] == "whatsapp" for b in sent)
    assert platforms.sent[0].path == f"/v21.0/{WA_PHONE_ID}/messages"


def test_at_most_three_buttons_with_titles_fitted(platforms: FakePlatforms) -> None:
    channel = make(platforms)
    buttons = [Button(f"b{i}", f"A very long button title {i}") for i in range(5)]
    channel.send(WA_USER, Outgoing(text="Pick one", buttons=buttons), OPEN)
    action = platforms.sent[0].body["interactive"]["action"]
    assert len(action["buttons"]) == 3
    assert all(len(b["reply"]["title"]) <= 20 for b in action["buttons"])


def test_cards_become_a_list_of_at_most_ten_rows(platforms: FakePlatforms) -> None:
    channel = make(platforms)
    cards = [Card(f"Nordvik Alp 2 Trekking Tent {i}", "249.00 EUR · in stock", button=Button(f"add:{i}", "Add"))
             for i in range(12)]  # fmt: skip
    channel.send(WA_USER, Outgoing(cards=cards, cards_label="Products"), OPEN)
    interactive = platforms.sent[0].body["interactive"]
    assert interactive["type"] == "list"
    rows = interactive["action"]["sections"][0]["rows"]
    assert len(rows) == 10 and rows[0] == {
        "id": "add:0",
        "title": "Nordvik Alp 2 Trekking…",
        "description": "249.00 EUR · in stock",
    }
    assert all(len(r["title"]) <= 24 for r in rows)


def test_outside_the_24_hour_window_free_text_is_refused(platforms: FakePlatforms) -> None:
    channel = make(platforms)
    with pytest.raises(OutsideWindow, match="SHOPAGENT_WHATSAPP_FOLLOWUP_TEMPLATE"):
        channel.send(WA_USER, Outgoing(text="Your parcel left today."), CLOSED)
    with pytest.raises(OutsideWindow):
        channel.send(WA_USER, Outgoing(text="Hello"), SendContext(now=NOW, last_inbound_at=None))
    assert platforms.sent == []


def test_outside_the_window_the_followup_template_carries_the_text(platforms: FakePlatforms) -> None:
    channel = make(platforms, template="store_reply")
    channel.send(WA_USER, Outgoing(text="Your parcel\nleft today.", buttons=[Button("x", "X")]), CLOSED)
    [sent] = [s.body for s in platforms.sent]
    assert sent["type"] == "template"
    assert sent["template"]["name"] == "store_reply"
    assert sent["template"]["components"] == [
        {"type": "body", "parameters": [{"type": "text", "text": "Your parcel left today."}]}
    ]
