"""Selling fixtures: the seeded store with promotions, offer limits and an order history,
the agent over it driven by a scripted model, and the whole app in process.

Store data added to the seeded ``shop1`` store:

- ``WELCOME10``: coupon, 10 % off orders from 50.00, once per shopper;
- ``ONCE5``: coupon, 5.00 off, usable once in all;
- ``OLD20``: coupon that ended yesterday;
- ``sleep-week``: automatic, 10 % off the ``sleeping bags`` category;
- offer limits: tents up to 10 %, the gas stove up to 5 %, nothing on socks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent.context import ToolContext
from agent.fakes import ScriptedModel, Step
from agent.llm import Message
from agent.service import Agent
from agent.state import ConversationState
from api.keys import create_api_key
from server import create_app
from shop.db import Database
from shop.models import Merchant
from shop.payments import TestProvider
from shop.promotions import PromotionRules, upsert_promotions
from shop.settings import Settings
from tests.agent.conftest import make_agent, no_sleep_policy, payment  # noqa: F401  (fixtures)
from tests.conftest import MERCHANT, KeywordRetriever
from tests.server.conftest import server_settings

OFFER_LIMITS = [
    {"scope": "category", "targets": ["tents"], "max_percent": "10"},
    {"scope": "product", "targets": ["STOVE-GAS"], "max_percent": "5"},
]


def seed_selling(db: Database) -> None:
    yesterday = datetime.now(UTC) - timedelta(days=1)
    with db.session() as s:
        upsert_promotions(
            s,
            MERCHANT,
            [
                PromotionRules(
                    id="welcome", code="WELCOME10", label="Welcome: 10% off orders from 50 EUR",
                    kind="percent", value="10", min_spend="50.00", per_shopper_limit=1,
                ),
                PromotionRules(id="once", code="ONCE5", label="5 EUR off", kind="fixed", value="5.00", usage_limit=1),
                PromotionRules(
                    id="old", code="OLD20", label="Old 20%", kind="percent", value="20",
                    starts_at=yesterday - timedelta(days=30), ends_at=yesterday,
                ),
                PromotionRules(
                    id="sleep-week", label="Sleep week: 10% off sleeping bags", kind="percent", value="10",
                    scope="category", targets=["sleeping bags"],
                ),
            ],
        )  # fmt: skip
        merchant = s.get(Merchant, MERCHANT)
        assert merchant is not None
        merchant.settings = {**merchant.settings, "offers": OFFER_LIMITS}


@pytest.fixture
def store(db: Database) -> Database:
    seed_selling(db)
    return db


SESSION = "sess-selling-00000000001"


@pytest.fixture
def tool_ctx(
    settings: Settings,
    store: Database,
    retriever: KeywordRetriever,
    payment: TestProvider,  # noqa: F811
) -> Callable[..., ToolContext]:
    """A tool context whose conversation holds the given shopper messages."""

    def make(*said: str, session_id: str = SESSION, email: str = "") -> ToolContext:
        state = ConversationState(turn=1, verified_emails=[email] if email else [])
        ctx = ToolContext(settings, store, retriever, payment, MERCHANT, session_id, state)
        ctx.messages = [Message("user", text) for text in said]
        return ctx

    return make


def chat_agent(settings: Settings, db: Database, retriever: KeywordRetriever, *script: Step) -> Agent:
    return Agent(
        server_settings(settings),
        db,
        retriever,
        ScriptedModel(script),
        TestProvider(),
        retry=no_sleep_policy(),
    )


@pytest.fixture
def app(settings: Settings, store: Database, retriever: KeywordRetriever) -> Callable[..., TestClient]:
    """``app(*script)``: the server with a scripted model; use it as a context manager."""

    def make(*script: Step) -> TestClient:
        agent = chat_agent(settings, store, retriever, *script)
        return TestClient(create_app(agent.settings, agent))

    return make


@pytest.fixture
def auth(store: Database) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_api_key(store, MERCHANT).key}"}


def tool_result(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The recorded call of ``name`` in a /v1/chat answer."""
    return next(c for c in body["tool_calls"] if c["name"] == name)


@pytest.fixture
def client_of(app: Callable[..., TestClient]) -> Iterator[Callable[..., TestClient]]:
    opened: list[TestClient] = []

    def make(*script: Step) -> TestClient:
        client = app(*script).__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)
