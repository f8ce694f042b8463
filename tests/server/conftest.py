"""Server fixtures: the whole app in process, driven by a deterministic model of the history.

``shop_brain`` plays the shopper-facing model: it searches the catalog for what the shopper
asked, adds a product when asked to, prepares a checkout, or hands off to a human, and
then answers from the tool results it got (so replies only quote store data).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from agent.fakes import FunctionModel, call, last_user_text
from agent.llm import Message, Reply, ToolSpec
from agent.service import Agent
from agent.toolkit import DATA_LABEL
from api.keys import create_api_key
from server import create_app
from shop.db import Database
from shop.models import Product
from shop.payments import TestProvider
from shop.settings import Settings
from tests.conftest import MERCHANT, KeywordRetriever

SEARCH_WORDS = {
    "tent": "tent",
    "palapin": "tent",
    "çadır": "tent",
    "خيام": "tent",
    "خيمة": "tent",
    "帐篷": "tent",
    "sock": "socks",
    "sleeping": "sleeping bag",
}


def tool_data(message: Message) -> dict[str, Any]:
    text = message.content
    if text.startswith(DATA_LABEL):
        text = text[len(DATA_LABEL) :]
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def shop_brain(messages: list[Message], _tools: list[ToolSpec]) -> Reply | str:
    last = messages[-1]
    if last.role == "tool":
        data = tool_data(last)
        if "error" in data:
            return f"Sorry: {data['error']}"
        if last.name == "search_products":
            found = data.get("results", [])
            if not found:
                return "Nothing matched."
            return "I found: " + "; ".join(f"{r['title']} for {r['price']} {r['currency']}" for r in found)
        if last.name == "add_to_cart":
            return "Added to your cart."
        if last.name == "handoff_to_human":
            return f"A person will reply: {data.get('contact', '')}"
        if last.name == "prepare_checkout":
            return f"Please confirm: total {data['checkout']['total']} {data['checkout']['currency']}."
        return "Done."
    text = last_user_text(messages).casefold()
    if "human" in text or "person" in text:
        return Reply(tool_calls=[call("handoff_to_human", reason="shopper asked")])
    if match := re.search(r"add ([A-Z0-9-]+)", last_user_text(messages)):
        return Reply(tool_calls=[call("add_to_cart", sku=match.group(1), quantity=1)])
    if match := re.search(r"checkout for (\S+@\S+)", text):
        return Reply(tool_calls=[call("prepare_checkout", email=match.group(1))])
    for word, query in SEARCH_WORDS.items():
        if word in text:
            return Reply(tool_calls=[call("search_products", query=query)])
    return "How can I help you today?"


def server_settings(settings: Settings, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "rate_limit_per_session": 10_000,
        "rate_limit_per_address": 10_000,
        "lookup_limit_per_session": 10_000,
        "lookup_limit_per_address": 10_000,
        "cors_origins": ["https://shop.example"],
    }
    values.update(overrides)
    return settings.model_copy(update=values)


def with_images(db: Database) -> None:
    with db.session() as session:
        session.execute(
            update(Product).where(Product.category == "tents").values(image_url="/static/demo/tents.svg")
        )


def make_agent(settings: Settings, db: Database, retriever: KeywordRetriever) -> Agent:
    return Agent(settings, db, retriever, FunctionModel(shop_brain, name="brain"), TestProvider())


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return server_settings(settings)


@pytest.fixture
def agent(app_settings: Settings, db: Database, retriever: KeywordRetriever) -> Agent:
    with_images(db)
    return make_agent(app_settings, db, retriever)


@pytest.fixture
def client(app_settings: Settings, agent: Agent) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings, agent)) as test_client:
        yield test_client


@pytest.fixture
def keys(db: Database) -> dict[str, str]:
    """One API key for each seeded merchant."""
    return {merchant: create_api_key(db, merchant).key for merchant in (MERCHANT, "other")}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
