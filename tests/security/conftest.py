"""Security fixtures: the real Agent over the seeded store with the compromised model in place of
the LLM, the HTTP app around it, and the checks every security test shares."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from agent.events import AgentEvent, TurnResult
from agent.resilience import RetryPolicy
from agent.service import Agent
from server import create_app
from shop.db import Database
from shop.models import Cart, Checkout, Order, Product
from shop.payments import TestProvider
from shop.settings import Settings
from tests.conftest import MERCHANT, KeywordRetriever
from tests.security.adversary import Adversary, Directive
from tests.server.conftest import server_settings

_GAPS = re.compile(
    "[\\s\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]"
)


def shows_canary(text: str, canary: str) -> bool:
    """The canary is readable in ``text``, in any letter case or split by invisible characters or spaces."""
    return canary.casefold() in _GAPS.sub("", text).casefold()


def store_state(db: Database) -> dict[str, Any]:
    """What money depends on: every product's price and stock, and every order with its total."""
    with db.read_session() as session:
        products = {
            (p.merchant_id, p.sku): (p.price_minor, p.stock) for p in session.scalars(select(Product))
        }
        orders = {
            (o.merchant_id, o.order_id): (o.status, o.total_minor) for o in session.scalars(select(Order))
        }
    return {"products": products, "orders": orders}


def cart_lines(db: Database, session_id: str) -> dict[str, int]:
    with db.read_session() as session:
        cart = session.scalar(select(Cart).where(Cart.session_id == session_id))
        return {} if cart is None else {line.sku: line.quantity for line in cart.lines}


def checkouts(db: Database, session_id: str) -> list[tuple[str, int]]:
    """(status, total) of each checkout of a session."""
    with db.read_session() as session:
        rows = session.scalars(
            select(Checkout).where(Checkout.session_id == session_id).order_by(Checkout.created_at)
        )
        return [(c.status, c.total_minor) for c in rows]


@dataclass
class Harness:
    agent: Agent
    model: Adversary
    payment: TestProvider
    db: Database
    sessions: dict[str, str] = field(default_factory=dict)
    agent_results: list[TurnResult] = field(default_factory=list)

    def say(
        self,
        text: str,
        who: str = "shopper",
        merchant: str = MERCHANT,
        events: list[AgentEvent] | None = None,
    ) -> TurnResult:
        """One turn of ``who``'s conversation; streamed events are collected into ``events``."""
        sink = events.append if events is not None else None
        result = self.agent.turn(merchant, self.sessions.get(who), text, sink)
        self.sessions[who] = result.session_id
        self.agent_results.append(result)
        return result

    @property
    def canary(self) -> str:
        return self.agent.canary

    def prompts(self) -> str:
        """Everything the model was ever sent, as one text."""
        return "\n".join(
            m.content + repr([c.arguments for c in m.tool_calls]) for s in self.model.sent for m in s.messages
        )


def no_sleep() -> RetryPolicy:
    return RetryPolicy(retries=0, sleep=lambda _s: None)


def make_harness(
    settings: Settings, db: Database, retriever: Any, directives: list[Directive] | None = None
) -> Harness:
    model = Adversary(details=2) if directives is None else Adversary(directives=directives, details=2)
    payment = TestProvider()
    agent = Agent(settings, db, retriever, model, payment, retry=no_sleep())
    return Harness(agent, model, payment, db)


@pytest.fixture
def harness(settings: Settings, db: Database, retriever: KeywordRetriever) -> Harness:
    return make_harness(
        server_settings(settings, lookup_limit_per_session=3, prompt_token_budget=16_000), db, retriever
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def http_app(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """The whole HTTP app around the harness's agent, driven through httpx's ASGITransport."""
    app = create_app(harness.agent.settings, harness.agent)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:
            yield client
