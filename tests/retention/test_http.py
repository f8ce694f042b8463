"""Returning shoppers over HTTP: consent, the remember-me cookie, recognition in chat, forgetting."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agent.fakes import ScriptedModel, call
from agent.known_shopper import LABEL
from agent.resilience import RetryPolicy
from agent.service import Agent
from api.retention import cookie_name
from api.sessions import cookie_name as session_cookie
from shop import shoppers
from shop.carts import add_item
from shop.db import Database
from shop.models import Consent, Conversation, Order, ShopperToken
from shop.payments import TestProvider
from shop.settings import Settings
from tests.conftest import MERCHANT, KeywordRetriever
from tests.retention.conftest import EMAIL, NAME, rows_mentioning, serve

REMEMBER_COOKIE = cookie_name(MERCHANT)


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def client(
    app_settings: Settings, shopper_store: Database, retriever: KeywordRetriever, model: ScriptedModel
) -> Iterator[TestClient]:
    agent = Agent(
        app_settings,
        shopper_store,
        retriever,
        model,
        TestProvider(),
        retry=RetryPolicy(retries=0, sleep=lambda _s: None),
    )
    yield from serve(app_settings, agent)


def new_visit(client: TestClient) -> None:
    """The browser comes back another day: the session is gone, the remember-me cookie stays."""
    kept = [cookie for cookie in client.cookies.jar if cookie.name == REMEMBER_COOKIE]
    client.cookies.clear()
    for cookie in kept:
        client.cookies.jar.set_cookie(cookie)


def test_consent_remembers_and_a_returning_browser_is_greeted_as_known(
    client: TestClient, model: ScriptedModel
) -> None:
    given = client.post("/v1/consent", json={"remember": True, "email": EMAIL.upper(), "order_id": "A1001"})
    assert given.status_code == 200, given.text
    assert given.json() == {
        "remembered": True,
        "name": NAME,
        "lang": "",
        "reminders": False,
        "past_orders": 2,
    }
    assert client.cookies.get(REMEMBER_COOKIE)

    new_visit(client)
    assert client.get("/v1/shopper").json()["remembered"] is True
    model.push("Welcome back, Rūta!")
    reply = client.post("/v1/chat", json={"message": "Hello"})
    assert reply.json()["reply"] == "Welcome back, Rūta!"
    system = model.sent[-1].messages[0].content
    assert LABEL in system and NAME in system and "A1004" in system and '"socks":"M"' in system


def test_consent_needs_a_verified_email(client: TestClient) -> None:
    assert client.post("/v1/consent", json={"remember": True, "email": EMAIL}).status_code == 403
    wrong = client.post("/v1/consent", json={"remember": True, "email": EMAIL, "order_id": "A1002"})
    assert wrong.status_code == 403
    assert client.post("/v1/consent", json={"remember": True}).status_code == 422
    assert client.get("/v1/shopper").json() == {
        "remembered": False,
        "name": "",
        "lang": "",
        "reminders": False,
        "past_orders": 0,
    }
    assert REMEMBER_COOKIE not in client.cookies


def test_opting_in_through_the_chat_gives_the_browser_its_cookie(
    client: TestClient, model: ScriptedModel, shopper_store: Database
) -> None:
    model.push(
        call("lookup_order", order_id="A1001", email=EMAIL),
        "Your order A1001 is delivered.",
        call("remember_me"),
        "Shall I remember you?",
        call("remember_me"),
        "Done.",
        "Anything else?",
    )
    client.post("/v1/chat", json={"message": "Order A1001, ruta@example.com"})
    client.post("/v1/chat", json={"message": "Remember me please"})
    done = client.post("/v1/chat", json={"message": "yes"})
    assert done.json()["tool_calls"][0]["name"] == "remember_me"
    assert REMEMBER_COOKIE not in client.cookies  # the turn that opted in was already under way
    client.post("/v1/chat", json={"message": "thanks"})
    assert client.cookies.get(REMEMBER_COOKIE)
    new_visit(client)
    status = client.get("/v1/shopper").json()
    assert status["remembered"] is True and status["name"] == NAME


def test_no_memory_without_consent(client: TestClient, model: ScriptedModel, shopper_store: Database) -> None:
    model.push(call("lookup_order", order_id="A1001", email=EMAIL), "Delivered.", "Hello!")
    client.post("/v1/chat", json={"message": "Order A1001, ruta@example.com"})
    assert REMEMBER_COOKIE not in client.cookies
    new_visit(client)
    assert client.get("/v1/shopper").json()["remembered"] is False
    client.post("/v1/chat", json={"message": "Hi"})
    assert LABEL not in model.sent[-1].messages[0].content
    with shopper_store.session() as session:
        assert all(c.customer_id is None for c in session.scalars(select(Conversation)))
        assert session.scalars(select(Consent)).all() == []


def test_reminder_consent_can_be_given_and_withdrawn(client: TestClient, shopper_store: Database) -> None:
    given = client.post("/v1/consent", json={"reminders": True, "email": EMAIL, "order_id": "A1004"})
    assert given.status_code == 200 and given.json()["reminders"] is True
    assert given.json()["remembered"] is False  # contact consent alone remembers nobody
    with shopper_store.session() as session:
        consent = session.scalar(select(Consent))
        assert consent is not None and consent.kind == "contact" and consent.address == EMAIL
    withdrawn = client.post("/v1/consent", json={"reminders": False})
    assert withdrawn.json()["reminders"] is False
    with shopper_store.session() as session:
        assert session.scalars(select(Consent)).all() == []


def test_reminder_consent_for_the_email_of_this_sessions_checkout(client: TestClient) -> None:
    client.post("/v1/cart/items", json={"sku": "STOVE-GAS", "quantity": 1})
    assert client.post("/v1/checkout", json={"email": "new@shopper.example"}).status_code == 200
    given = client.post("/v1/consent", json={"reminders": True, "email": "new@shopper.example"})
    assert given.status_code == 200 and given.json()["reminders"] is True
    other = client.post("/v1/consent", json={"reminders": True, "email": "someone@else.example"})
    assert other.status_code == 403


def test_forget_route_deletes_everything(
    client: TestClient, model: ScriptedModel, shopper_store: Database
) -> None:
    db = shopper_store
    client.post(
        "/v1/consent", json={"remember": True, "reminders": True, "email": EMAIL, "order_id": "A1001"}
    )
    first = client.get("/v1/cart").headers["X-Session-Id"]
    with db.session() as session:
        add_item(session, MERCHANT, first, "LAMP-200", 1)
    new_visit(client)
    model.push("Welcome back!")
    second = client.post("/v1/chat", json={"message": "Hi"}).json()["session_id"]
    assert client.post("/v1/rating", json={"rating": 4}).status_code == 201

    forgotten = client.post("/v1/forget")
    assert forgotten.status_code == 200, forgotten.text
    counts = forgotten.json()["counts"]
    assert counts["customers_deleted"] == 1 and counts["conversations_deleted"] == 2
    assert (
        counts["carts_deleted"] == 1 and counts["feedback_deleted"] == 1 and counts["consents_deleted"] == 2
    )
    assert REMEMBER_COOKIE not in client.cookies and session_cookie(MERCHANT) not in client.cookies
    assert rows_mentioning(db, EMAIL, first, second, "kazlauskien") == {}
    with db.session() as session:
        kept = session.scalars(select(Order).where(Order.order_id.in_(["A1001", "A1004"]))).all()
        assert len(kept) == 2 and {o.email for o in kept} == {""}
    assert client.get("/v1/shopper").json()["remembered"] is False
    assert client.post("/v1/forget").status_code == 404  # nothing left to forget


def test_forget_route_also_erases_a_verified_email_without_a_profile(
    client: TestClient, shopper_store: Database
) -> None:
    erased = client.post("/v1/forget", json={"email": "mehmet@example.org", "order_id": "A1002"})
    assert erased.status_code == 200
    assert erased.json()["counts"]["orders_anonymized"] == 1
    assert rows_mentioning(shopper_store, "mehmet@example.org") == {}
    assert client.post("/v1/forget", json={"email": "li@example.cn"}).status_code == 403


def test_a_forgotten_profiles_cookie_is_dropped(client: TestClient, shopper_store: Database) -> None:
    client.post("/v1/consent", json={"remember": True, "email": EMAIL, "order_id": "A1001"})
    token = client.cookies.get(REMEMBER_COOKIE)
    with shopper_store.session() as session:
        customer = shoppers.customer_of_token(session, MERCHANT, token or "")
        assert customer is not None
        customer.remember = False  # e.g. withdrawn in the shop's back office
    client.cookies.clear()
    client.cookies.set(REMEMBER_COOKIE, token or "")
    response = client.get("/v1/shopper")
    assert response.json()["remembered"] is False
    assert f'{REMEMBER_COOKIE}=""' in response.headers.get("set-cookie", "")


def test_clients_without_cookies_are_not_handed_tokens(
    client: TestClient, model: ScriptedModel, shopper_store: Database
) -> None:
    """An API client or a widget on another site keeps its session in X-Session-Id and drops
    cookies: it is not handed a new remember-me token on every request."""
    client.post("/v1/consent", json={"remember": True, "email": EMAIL, "order_id": "A1001"})
    sid = client.get("/v1/cart").headers["X-Session-Id"]
    model.push("Hello!", "Hello again!")
    for text in ("Hi", "Hi again"):
        client.cookies.clear()  # a client that keeps no cookies
        response = client.post("/v1/chat", json={"message": text}, headers={"X-Session-Id": sid})
        assert response.json()["session_id"] == sid
        assert REMEMBER_COOKIE not in response.headers.get("set-cookie", "")
    assert LABEL in model.sent[-1].messages[0].content  # still known: the session is linked
    with shopper_store.session() as session:
        assert len(session.scalars(select(ShopperToken)).all()) == 1


def test_a_profile_keeps_a_bounded_number_of_tokens(client: TestClient, shopper_store: Database) -> None:
    for _ in range(shoppers.MAX_TOKENS + 3):
        client.cookies.clear()
        assert (
            client.post(
                "/v1/consent", json={"remember": True, "email": EMAIL, "order_id": "A1001"}
            ).status_code
            == 200
        )
    newest = client.cookies.get(REMEMBER_COOKIE)
    with shopper_store.session() as session:
        assert len(session.scalars(select(ShopperToken)).all()) == shoppers.MAX_TOKENS
        assert shoppers.customer_of_token(session, MERCHANT, newest or "") is not None
