"""Retention fixtures: the seeded store with a shopper worth remembering (a name on her orders,
socks bought in size M), agents driven by scripted models, the app in process, and a clock."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from agent.fakes import ScriptedModel, Step
from agent.llm import ChatModel
from agent.resilience import RetryPolicy
from agent.service import Agent
from api.keys import create_api_key
from server import create_app
from shop.db import Database
from shop.models import Base, Order, OrderLine
from shop.payments import TestProvider
from shop.settings import Settings
from tests.conftest import MERCHANT, KeywordRetriever
from tests.server.conftest import server_settings

EMAIL = "ruta@example.com"
NAME = "Rūta"
MakeAgent = Callable[..., Agent]


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC))


@pytest.fixture
def shopper_store(db: Database) -> Database:
    """Rūta's orders carry her name, and a second order has socks in size M."""
    with db.session() as session:
        first = session.scalar(select(Order).where(Order.order_id == "A1001"))
        assert first is not None
        first.shipping_address = {"name": "Rūta Kazlauskienė", "line1": "Gedimino pr. 1", "city": "Vilnius"}
        socks = Order(
            merchant_id=MERCHANT,
            order_id="A1004",
            email=EMAIL,
            status="delivered",
            currency="EUR",
            placed_at=datetime(2026, 10, 1, 9, 0, tzinfo=UTC),
            subtotal_minor=1990,
            total_minor=1990,
            source="import",
            shipping_address={"name": "Rūta Kazlauskienė"},
        )
        socks.lines.append(
            OrderLine(
                sku="SOCK-HIKE-M",
                title="Merino Hiking Socks (M)",
                unit_price_minor=1990,
                currency="EUR",
                quantity=2,
            )
        )
        session.add(socks)
    return db


@pytest.fixture
def make_agent(settings: Settings, shopper_store: Database, retriever: KeywordRetriever) -> MakeAgent:
    def make(*script: Step, model: ChatModel | None = None) -> Agent:
        return Agent(
            settings,
            shopper_store,
            retriever,
            model or ScriptedModel(script),
            TestProvider(),
            retry=RetryPolicy(retries=0, sleep=lambda _s: None),
        )

    return make


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return server_settings(settings)


@pytest.fixture
def keys(shopper_store: Database) -> dict[str, str]:
    return {merchant: create_api_key(shopper_store, merchant).key for merchant in (MERCHANT, "other")}


def serve(settings: Settings, agent: Agent) -> Iterator[TestClient]:
    with TestClient(create_app(settings, agent)) as client:
        yield client


def rows_mentioning(db: Database, *needles: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table whose values mention one of ``needles`` (case-insensitive)."""
    found: dict[str, list[dict[str, Any]]] = {}
    wanted = [n.lower() for n in needles if n]
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(text(f'SELECT * FROM "{table.name}"')).mappings():
                flat = json.dumps({k: str(v) for k, v in row.items()}, ensure_ascii=False).lower()
                if any(n in flat for n in wanted):
                    found.setdefault(table.name, []).append(dict(row))
    return found
