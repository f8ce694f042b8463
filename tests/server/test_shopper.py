"""Shopper routes, in process: chat (JSON and SSE), sessions, cart, checkout, lookup, feedback, privacy."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.logs import fingerprint
from api.sessions import SESSION_HEADER, cookie_name
from server import create_app
from shop.checkout import request_hash
from shop.db import Database
from shop.models import Conversation, Feedback, IdempotencyKey, Order
from tests.conftest import MERCHANT

ADDRESS = {
    "name": "Ruta K",
    "line1": "Gedimino pr. 1",
    "city": "Vilnius",
    "postal_code": "01103",
    "country": "LT",
}


def sse_events(body: str) -> list[tuple[str, Any]]:
    events = []
    for frame in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def fresh(client: TestClient) -> TestClient:
    """Forget the cookie: the next request is a new shopper."""
    client.cookies.clear()
    return client


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/v1/chat",
        "/v1/chat/stream",
        "/v1/checkout/confirm",
        "/v1/merchants/{merchant_id}/uploads",
    } <= set(paths)
    assert client.get("/docs").status_code == 200


def test_chat_answers_with_cards_cart_and_a_session_cookie(client: TestClient) -> None:
    response = client.post("/v1/chat", json={"message": "Do you have a tent?"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"session_id", "reply", "cart", "tool_calls"}
    assert [c["name"] for c in body["tool_calls"]] == ["search_products"]
    assert "Kestrel Trail 3 Tent for 199.00 EUR" in body["reply"]
    card = next(p for p in body["products"] if p["sku"] == "TENT-ALP2-GRN")
    assert card == {
        "sku": "TENT-ALP2-GRN",
        "title": "Nordvik Alp 2 Trekking Tent (Forest Green)",
        "price": "249.00",
        "currency": "EUR",
        "in_stock": True,
        "stock": 3,
        "image_url": "/static/demo/tents.svg",
        "url": "",
    }
    assert body["cart"]["lines"] == []
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{cookie_name(MERCHANT)}={body['session_id']};")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert response.headers[SESSION_HEADER] == body["session_id"]
    assert len(body["session_id"]) >= 32

    again = client.post("/v1/chat", json={"message": "hello"})
    assert again.json()["session_id"] == body["session_id"]  # the cookie carried the session


def test_unknown_or_foreign_session_ids_get_a_fresh_session(client: TestClient, db: Database) -> None:
    guessed = "A" * 32
    body = client.post("/v1/chat", json={"session_id": guessed, "message": "hello"}).json()
    assert body["session_id"] != guessed
    with db.read_session() as session:
        assert session.get(Conversation, guessed) is None

    own = body["session_id"]
    other = fresh(client).get("/v1/cart", params={"merchant": "other"}, headers={SESSION_HEADER: own})
    assert other.headers[SESSION_HEADER] != own  # a session belongs to one merchant


def test_stream_sends_session_tokens_tools_and_done(client: TestClient) -> None:
    with client.stream("POST", "/v1/chat/stream", json={"message": "tents please"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response.read().decode())
    names = [name for name, _ in events]
    assert names[0] == "session" and names[-1] == "done"
    assert names.index("tool_started") < names.index("tool_finished") < names.index("token")
    tokens = "".join(data["text"] for name, data in events if name == "token")
    done = events[-1][1]
    assert tokens == done["reply"]
    assert done["session_id"] == events[0][1]["session_id"]
    assert any(p["sku"] == "TENT-TRAIL3" for p in done["products"])


def test_stream_reports_a_cart_event_when_the_agent_changes_the_cart(client: TestClient) -> None:
    with client.stream("POST", "/v1/chat/stream", json={"message": "add TENT-TRAIL3"}) as response:
        events = sse_events(response.read().decode())
    carts = [data for name, data in events if name == "cart"]
    assert carts and carts[-1]["lines"][0]["sku"] == "TENT-TRAIL3"
    assert events[-1][1]["cart"]["lines"][0]["quantity"] == 1


def test_cart_routes(client: TestClient) -> None:
    cart = client.post("/v1/cart/items", json={"sku": "TENT-TRAIL3", "quantity": 2}).json()
    assert cart["lines"][0]["line_total"] == "398.00" and cart["subtotal"] == "398.00"
    assert cart["lines"][0]["image_url"] == "/static/demo/tents.svg"
    cart = client.put("/v1/cart/items/TENT-TRAIL3", json={"quantity": 1}).json()
    assert cart["item_count"] == 1
    assert client.post("/v1/cart/items", json={"sku": "NOPE", "quantity": 1}).status_code == 404
    sold_out = client.post("/v1/cart/items", json={"sku": "TENT-UL1", "quantity": 1})
    assert sold_out.status_code == 409 and sold_out.json()["code"] == "out_of_stock"
    assert client.post("/v1/cart/items", json={"sku": "TENT-TRAIL3", "quantity": 500}).status_code == 422
    assert client.delete("/v1/cart/items/TENT-TRAIL3").json()["lines"] == []
    assert client.delete("/v1/cart/items/TENT-TRAIL3").status_code == 404
    assert client.get("/v1/cart").json()["lines"] == []


def test_one_session_cannot_read_or_order_from_another_sessions_cart(client: TestClient) -> None:
    client.post("/v1/cart/items", json={"sku": "BAG-SYN-0", "quantity": 1})
    summary = client.post("/v1/checkout", json={"email": "a@example.com", "shipping_address": ADDRESS}).json()
    alice = client.cookies[cookie_name(MERCHANT)]

    bob = fresh(client)
    assert bob.get("/v1/cart").json()["lines"] == []
    assert bob.cookies[cookie_name(MERCHANT)] != alice
    stolen = bob.post(
        "/v1/checkout/confirm",
        json={"checkout_id": summary["checkout_id"]},
        headers={"Idempotency-Key": "k-bob"},
    )
    assert stolen.status_code == 404


def _prepared(client: TestClient, sku: str = "BAG-SYN-0") -> dict[str, Any]:
    client.post("/v1/cart/items", json={"sku": sku, "quantity": 1})
    response = client.post("/v1/checkout", json={"email": "ruta@example.com", "shipping_address": ADDRESS})
    assert response.status_code == 200, response.text
    return response.json()


def test_checkout_confirm_is_idempotent(client: TestClient, db: Database) -> None:
    summary = _prepared(client)
    assert (summary["subtotal"], summary["shipping"], summary["total"]) == ("89.00", "0.00", "89.00")
    first = client.post(
        "/v1/checkout/confirm",
        json={"checkout_id": summary["checkout_id"]},
        headers={"Idempotency-Key": "key-1"},
    )
    assert first.status_code == 201, first.text
    order = first.json()
    assert order["total"] == "89.00" and order["status"] == "paid"

    replay = client.post(
        "/v1/checkout/confirm",
        json={"checkout_id": summary["checkout_id"]},
        headers={"Idempotency-Key": "key-1"},
    )
    assert replay.status_code == 201 and replay.json()["order_id"] == order["order_id"]

    second = _prepared(client, "STOVE-GAS")
    reused = client.post(
        "/v1/checkout/confirm",
        json={"checkout_id": second["checkout_id"]},
        headers={"Idempotency-Key": "key-1"},
    )
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_mismatch"
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Order).where(Order.source == "checkout")) == 1


def test_confirm_while_the_same_key_is_in_flight_answers_409(client: TestClient, db: Database) -> None:
    summary = _prepared(client)
    session_id = client.cookies[cookie_name(MERCHANT)]
    with db.session() as session:  # the first request has claimed the key and is still running
        session.add(
            IdempotencyKey(
                merchant_id=MERCHANT,
                key="busy",
                request_hash=request_hash({"session": session_id, "checkout": summary["checkout_id"]}),
                status="started",
            )
        )
    response = client.post(
        "/v1/checkout/confirm",
        json={"checkout_id": summary["checkout_id"]},
        headers={"Idempotency-Key": "busy"},
    )
    assert response.status_code == 409


def test_concurrent_confirms_place_one_order(client: TestClient, db: Database) -> None:
    summary = _prepared(client)
    statuses: list[int] = []
    order_ids: set[str] = set()

    def confirm() -> None:
        response = client.post(
            "/v1/checkout/confirm",
            json={"checkout_id": summary["checkout_id"]},
            headers={"Idempotency-Key": "same"},
        )
        statuses.append(response.status_code)
        if response.status_code == 201:
            order_ids.add(response.json()["order_id"])

    threads = [threading.Thread(target=confirm) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(statuses) <= {201, 409} and 201 in statuses
    assert len(order_ids) == 1
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Order).where(Order.source == "checkout")) == 1


def test_confirm_needs_an_idempotency_key(client: TestClient) -> None:
    summary = _prepared(client)
    response = client.post("/v1/checkout/confirm", json={"checkout_id": summary["checkout_id"]})
    assert response.status_code == 422


def test_order_lookup_needs_the_matching_email(client: TestClient) -> None:
    found = client.post("/v1/orders/lookup", json={"order_id": "A1002", "email": "Mehmet@Example.org"})
    assert found.status_code == 200 and found.json()["status"] == "paid"
    wrong = client.post("/v1/orders/lookup", json={"order_id": "A1002", "email": "ruta@example.com"})
    unknown = client.post("/v1/orders/lookup", json={"order_id": "Z9999", "email": "ruta@example.com"})
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()


def test_feedback_is_stored(client: TestClient, db: Database) -> None:
    client.post("/v1/chat", json={"message": "hello"})
    response = client.post("/v1/feedback", json={"rating": -1, "message_index": 0, "comment": "too vague"})
    assert response.status_code == 201
    assert client.post("/v1/feedback", json={"rating": 0}).status_code == 422
    session_id = client.cookies[cookie_name(MERCHANT)]
    with db.read_session() as session:
        row = session.scalar(select(Feedback).where(Feedback.session_id == session_id))
        assert row is not None and (row.rating, row.comment) == (-1, "too vague")


def test_privacy_export_and_delete_need_a_verified_email(client: TestClient, db: Database) -> None:
    denied = client.post("/v1/privacy/export", json={"email": "mehmet@example.org"})
    assert denied.status_code == 403
    wrong = client.post("/v1/privacy/export", json={"email": "mehmet@example.org", "order_id": "A1001"})
    assert wrong.status_code == 403

    export = client.post("/v1/privacy/export", json={"email": "mehmet@example.org", "order_id": "A1002"})
    assert export.status_code == 200
    assert [o["order_id"] for o in export.json()["orders"]] == ["A1002"]

    erased = client.post("/v1/privacy/delete", json={"email": "mehmet@example.org", "order_id": "A1002"})
    assert erased.status_code == 200 and erased.json()["orders_anonymized"] == 1
    with db.read_session() as session:
        order = session.scalar(select(Order).where(Order.order_id == "A1002"))
        assert order is not None and order.email == "" and order.shipping_address == {}
        assert order.total_minor == 8900  # the merchant's books keep the amounts
    assert (
        client.post(
            "/v1/orders/lookup", json={"order_id": "A1002", "email": "mehmet@example.org"}
        ).status_code
        == 404
    )


def test_bad_requests_are_refused_clearly(client: TestClient, app_settings: Any) -> None:
    too_long = "x" * (app_settings.max_message_chars + 1)
    response = client.post("/v1/chat", json={"message": too_long})
    assert response.status_code == 422 and "shorten" in response.json()["detail"]
    assert client.post("/v1/chat", json={"message": "   "}).status_code == 422
    assert client.post("/v1/chat", json={"message": "hi", "extra": 1}).status_code == 422
    assert client.get("/v1/cart", params={"merchant": "nobody"}).status_code == 404
    assert client.get("/v1/cart", params={"merchant": "../etc"}).status_code == 422
    huge = client.post(
        "/v1/chat",
        content=b'{"message": "' + b"a" * 400_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413


def test_access_log_tags_the_session_without_naming_it(client: TestClient, caplog: Any) -> None:
    with caplog.at_level("INFO", logger="shopagent.http"):
        body = client.post("/v1/chat", json={"message": "hello"}).json()
    record = next(r for r in caplog.records if getattr(r, "path", "") == "/v1/chat")
    assert record.session == fingerprint(body["session_id"])
    assert body["session_id"] not in record.getMessage()


def test_api_clients_keep_their_session_with_the_header(client: TestClient) -> None:
    first = fresh(client).post("/v1/chat", json={"message": "hello"})
    session_id = first.json()["session_id"]
    fresh(client).post("/v1/cart/items", json={"sku": "STOVE-GAS"}, headers={SESSION_HEADER: session_id})
    cart = fresh(client).get("/v1/cart", headers={SESSION_HEADER: session_id})
    assert cart.headers[SESSION_HEADER] == session_id
    assert [line["sku"] for line in cart.json()["lines"]] == ["STOVE-GAS"]


@pytest.mark.anyio
async def test_stream_over_asgi_transport(app_settings: Any, agent: Any) -> None:
    """The same app driven by httpx's ASGITransport (the lifespan run by hand)."""
    app = create_app(app_settings, agent)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as http:
            async with http.stream(
                "POST", "/v1/chat/stream", json={"message": "a warm sleeping bag"}
            ) as response:
                body = (await response.aread()).decode()
    events = sse_events(body)
    assert events[0][0] == "session" and events[-1][0] == "done"
    assert {p["sku"] for p in events[-1][1]["products"]} >= {"BAG-DOWN-5", "BAG-SYN-0"}


def test_a_checkout_prepared_in_chat_can_be_confirmed_with_the_button(client: TestClient) -> None:
    client.post("/v1/cart/items", json={"sku": "STOVE-GAS", "quantity": 1})
    turn = client.post("/v1/chat", json={"message": "checkout for ruta@example.com"}).json()
    summary = turn["checkout"]
    assert summary is not None and summary["total"] == "49.99"  # 45.00 + 4.99 shipping
    assert "49.99" in turn["reply"]
    placed = client.post(
        "/v1/checkout/confirm",
        json={"checkout_id": summary["checkout_id"]},
        headers={"Idempotency-Key": "btn-1"},
    )
    assert placed.status_code == 201 and placed.json()["total"] == "49.99"
