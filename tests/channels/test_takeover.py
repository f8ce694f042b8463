"""Human takeover end to end: handoff, the assistant falls silent, a person replies through the
shopper's own channel, and the assistant answers again once released."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from agent.fakes import FunctionModel
from channels.hub import ChannelHub
from shop.db import Database
from shop.models import ChannelIdentity, Conversation, OutboxEvent
from tests.channels.conftest import Clock, FakePlatforms
from tests.channels.payloads import WA_USER, telegram_text, wa_text, whatsapp
from tests.channels.test_routes import post_meta, post_telegram
from tests.conftest import MERCHANT

BASE = f"/v1/merchants/{MERCHANT}"


def session_of(db: Database, platform_user_id: str) -> str:
    with db.read_session() as s:
        return s.scalars(
            select(ChannelIdentity.session_id).where(ChannelIdentity.platform_user_id == platform_user_id)
        ).one()


def test_takeover_from_handoff_to_release(
    client: TestClient, db: Database, platforms: FakePlatforms, model: FunctionModel, auth: dict[str, str]
) -> None:
    post_telegram(client, telegram_text(1, "I want to talk to a human"))
    assert platforms.calls("/sendMessage")[-1]["text"] == "A person will reply: help@trailtest.example"
    sid = session_of(db, "7001")
    with db.read_session() as s:
        assert s.get(Conversation, sid).handoff == "requested"  # type: ignore[union-attr]
        [event] = s.scalars(select(OutboxEvent)).all()
        assert (event.type, event.payload["session_id"], event.payload["channel"]) == (
            "handoff.requested",
            sid,
            "telegram",
        )
    queue = client.get(f"{BASE}/handoffs", headers=auth).json()["items"]
    assert [c["session_id"] for c in queue] == [sid]

    # The shopper writes while waiting: nobody answers automatically, the message is kept for the person.
    calls, sent = len(model.sent), len(platforms.sent)
    post_telegram(client, telegram_text(2, "hello? anyone there?"))
    assert len(model.sent) == calls and len(platforms.sent) == sent

    taken = client.post(f"{BASE}/conversations/{sid}/takeover", headers=auth)
    assert taken.status_code == 200 and taken.json() == {
        "session_id": sid,
        "channel": "telegram",
        "handoff": "taken",
    }
    reply = client.post(
        f"{BASE}/conversations/{sid}/replies", headers=auth, json={"text": "Hi Ruta, Jonas here."}
    )
    assert reply.status_code == 200
    assert reply.json() == {"session_id": sid, "channel": "telegram", "handoff": "taken", "delivered": True,
                            "message_ids": [str(len(platforms.sent))]}  # fmt: skip
    assert (
        platforms.sent[-1].body["chat_id"] == "7001"
        and platforms.sent[-1].body["text"] == "Hi Ruta, Jonas here."
    )

    post_telegram(client, telegram_text(3, "Great, is the Kestrel tent waterproof?"))
    assert len(model.sent) == calls  # still silent while the person has it
    transcript = client.get(f"{BASE}/conversations/{sid}", headers=auth).json()["messages"]
    assert [m["content"] for m in transcript][-4:] == [
        "A person will reply: help@trailtest.example",
        "hello? anyone there?",
        "Hi Ruta, Jonas here.",
        "Great, is the Kestrel tent waterproof?",
    ]

    released = client.post(f"{BASE}/conversations/{sid}/release", headers=auth)
    assert released.json()["handoff"] == "handled"
    before = len(platforms.calls("/sendMessage"))
    post_telegram(client, telegram_text(4, "Do you have a tent?"))
    assert len(model.sent) > calls
    assert any(
        "Kestrel Trail 3 Tent for 199.00 EUR" in m["text"] for m in platforms.calls("/sendMessage")[before:]
    )
    # The person's words are part of the history the assistant sees when it takes over again.
    assert any(m.content == "Hi Ruta, Jonas here." and m.role == "assistant" for m in model.sent[-1].messages)


def test_takeover_routes_are_the_merchants_own(
    client: TestClient, db: Database, auth: dict[str, str]
) -> None:
    from api.keys import create_api_key

    post_telegram(client, telegram_text(1, "hi"))
    sid = session_of(db, "7001")
    other = {"Authorization": f"Bearer {create_api_key(db, 'other').key}"}
    assert client.post(f"{BASE}/conversations/{sid}/takeover", headers=other).status_code == 403
    assert client.post(f"/v1/merchants/other/conversations/{sid}/takeover", headers=other).status_code == 404
    assert client.post(f"{BASE}/conversations/{sid}/replies", json={"text": "x"}).status_code == 401
    assert (
        client.post(f"{BASE}/conversations/{sid}/replies", headers=auth, json={"text": "  "}).status_code
        == 422
    )


def test_an_unanswered_handoff_stops_silencing_after_the_wait(
    client: TestClient, hub: ChannelHub, clock: Clock, model: FunctionModel
) -> None:
    post_telegram(client, telegram_text(1, "human please"))
    clock.now = datetime.now(UTC) + timedelta(minutes=29)
    calls = len(model.sent)
    post_telegram(client, telegram_text(2, "still there?"))
    assert len(model.sent) == calls
    clock.now = datetime.now(UTC) + timedelta(minutes=31)
    post_telegram(client, telegram_text(3, "Do you have a tent?"))
    assert len(model.sent) > calls


def test_whatsapp_reply_after_the_window_is_refused_without_a_template(
    client: TestClient,
    db: Database,
    platforms: FakePlatforms,
    clock: Clock,
    auth: dict[str, str],
    hub: ChannelHub,
) -> None:
    post_meta(client, "whatsapp", whatsapp([wa_text("wamid.1", "I want to talk to a human")]))
    sid = session_of(db, WA_USER)
    sent = len(platforms.sent)
    clock.advance(hours=25)
    late = client.post(
        f"{BASE}/conversations/{sid}/replies", headers=auth, json={"text": "Sorry for the delay!"}
    )
    assert late.status_code == 409 and "24 hours" in late.json()["detail"]
    assert len(platforms.sent) == sent
    hub.channel("whatsapp")._template = "store_reply"  # type: ignore[attr-defined]
    ok = client.post(
        f"{BASE}/conversations/{sid}/replies", headers=auth, json={"text": "Sorry for the delay!"}
    )
    assert ok.status_code == 200
    assert (
        platforms.sent[-1].body["template"]["components"][0]["parameters"][0]["text"]
        == "Sorry for the delay!"
    )


def test_web_conversations_keep_the_reply_for_the_widget(
    client: TestClient, db: Database, auth: dict[str, str]
) -> None:
    sid = client.post("/v1/chat", json={"message": "I need a human"}).json()["session_id"]
    reply = client.post(f"{BASE}/conversations/{sid}/replies", headers=auth, json={"text": "On it."})
    assert reply.json()["delivered"] is False and reply.json()["channel"] == "web"
    with db.read_session() as s:
        messages = s.get(Conversation, sid).messages  # type: ignore[union-attr]
        assert messages[-1] == {"role": "assistant", "content": "On it.", "name": "merchant"}


def test_web_chat_respects_takeover(
    client: TestClient, db: Database, model: FunctionModel, auth: dict[str, str]
) -> None:
    first = client.post("/v1/chat", json={"message": "hi"}).json()
    sid = first["session_id"]
    assert first["held"] is False
    assert client.post(f"{BASE}/conversations/{sid}/takeover", headers=auth).status_code == 200

    calls = len(model.sent)
    held = client.post("/v1/chat", json={"message": "is anyone there?", "session_id": sid}).json()
    assert held["held"] is True and held["handoff"] is True and held["reply"] == ""
    assert len(model.sent) == calls  # the assistant stayed silent
    streamed = client.post("/v1/chat/stream", json={"message": "hello?", "session_id": sid})
    assert '"held":true' in streamed.text and len(model.sent) == calls

    reply = client.post(f"{BASE}/conversations/{sid}/replies", headers=auth, json={"text": "Jonas here."})
    assert reply.status_code == 200 and reply.json()["delivered"] is False  # no channel: the widget polls
    seen = client.get("/v1/chat/messages", headers={"X-Session-Id": sid}).json()
    assert [(m["author"], m["text"]) for m in seen["messages"]][-3:] == [
        ("user", "is anyone there?"),
        ("user", "hello?"),
        ("merchant", "Jonas here."),
    ]
    assert seen["handoff"] == "taken"
    newer = client.get("/v1/chat/messages", params={"after": seen["next"]}, headers={"X-Session-Id": sid})
    assert newer.json()["messages"] == []
    # Another session (no cookie, an id the server never issued) sees nothing of it.
    cookies = dict(client.cookies)
    client.cookies.clear()
    assert client.get("/v1/chat/messages", headers={"X-Session-Id": "s_" + "x" * 30}).json()["messages"] == []
    client.cookies.update(cookies)

    client.post(f"{BASE}/conversations/{sid}/release", headers=auth)
    again = client.post("/v1/chat", json={"message": "do you have a tent?", "session_id": sid}).json()
    assert again["held"] is False and len(model.sent) > calls
