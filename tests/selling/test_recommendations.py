"""Recommendations from the store's own data: co-purchases in the order history, shared
attributes, the retriever's neighbours; never what is already in the cart; a shopper's past
orders only when they chose to be remembered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from agent import state as conversation
from agent.context import ToolContext
from agent.fakes import call
from agent.tools import TOOLS_BY_NAME
from shop import carts, shoppers
from shop.db import Database
from shop.models import Order, OrderLine, Product
from tests.agent.conftest import MakeAgent
from tests.conftest import MERCHANT
from tests.selling.conftest import SESSION


def _order(order_id: str, email: str, *skus: str) -> Order:
    order = Order(
        merchant_id=MERCHANT, order_id=order_id, email=email, status="delivered", currency="EUR",
        placed_at=datetime(2026, 10, int(order_id[-1]) + 1, tzinfo=UTC), source="import",
    )  # fmt: skip
    order.lines = [OrderLine(sku=s, title=s, unit_price_minor=100, currency="EUR", quantity=1) for s in skus]
    return order


@pytest.fixture
def history(store: Database) -> Database:
    """Head lamps go with Alp 2 tents (either colour) twice, the footprint once (order A1001)."""
    with store.session() as s:
        s.add_all(
            [
                _order("B1", "hana@example.com", "TENT-ALP2-GRN", "LAMP-200"),
                _order("B2", "hana@example.com", "TENT-ALP2-ORG", "LAMP-200"),
                _order("B3", "kai@example.com", "BAG-DOWN-5", "SOCK-HIKE-M"),
                Product(
                    merchant_id=MERCHANT, sku="GAS-230", title="Blaze Gas Cartridge 230 g", price_minor=690,
                    currency="EUR", stock=40, brand="Blaze", category="fuel",
                ),
            ]
        )  # fmt: skip
    return store


def skus(records: list[dict[str, str]]) -> list[str]:
    return [r["sku"] for r in records]


def test_bought_together_similar_and_never_the_same_family(
    history: Database, tool_ctx: Callable[..., ToolContext]
) -> None:
    result = TOOLS_BY_NAME["recommend"].run(tool_ctx(), {"sku": "TENT-ALP2-GRN"}).result
    assert result["for"]["sku"] == "TENT-ALP2-GRN" and result["basis"] == "product"
    assert skus(result["bought_together"]) == ["LAMP-200", "FOOT-ALP2"]  # most often first
    assert skus(result["similar"]) == ["TENT-TRAIL3"]  # in stock, same category; TENT-UL1 is sold out
    shown = skus(result["bought_together"] + result["goes_with"] + result["similar"])
    assert "TENT-ALP2-ORG" not in shown and len(shown) == len(set(shown))
    lamp = result["bought_together"][0]
    assert (lamp["price"], lamp["currency"]) == ("34.50", "EUR")  # the store's price


def test_goes_with_comes_from_the_retrievers_neighbours(
    history: Database, tool_ctx: Callable[..., ToolContext]
) -> None:
    result = TOOLS_BY_NAME["recommend"].run(tool_ctx(), {"sku": "STOVE-GAS", "limit": 2}).result
    assert skus(result["goes_with"]) == ["GAS-230"]
    assert result["bought_together"] == [] and result["similar"] == []


def test_without_a_sku_it_starts_from_the_cart_and_skips_what_is_there(
    history: Database, tool_ctx: Callable[..., ToolContext]
) -> None:
    ctx = tool_ctx()
    empty = TOOLS_BY_NAME["recommend"].run(ctx, {})
    assert empty.error is not None and "nothing to recommend" in empty.error
    with ctx.transaction() as s:
        carts.add_item(s, MERCHANT, SESSION, "TENT-ALP2-GRN")
        carts.add_item(s, MERCHANT, SESSION, "LAMP-200")
    result = TOOLS_BY_NAME["recommend"].run(ctx, {}).result
    assert result["basis"] == "cart" and skus(result["bought_together"]) == ["FOOT-ALP2"]
    assert "LAMP-200" not in skus(result["goes_with"] + result["similar"])


def test_past_orders_are_used_only_with_consent(
    history: Database, tool_ctx: Callable[..., ToolContext]
) -> None:
    conversation.load_or_create(history, MERCHANT, SESSION)
    ctx = tool_ctx(email="kai@example.com")  # verified (an order lookup), but not remembered
    refused = TOOLS_BY_NAME["recommend"].run(ctx, {})
    assert refused.error is not None and "nothing to recommend" in refused.error
    with history.session() as s:
        shoppers.remember(s, MERCHANT, SESSION, "kai@example.com", "en")
    result = TOOLS_BY_NAME["recommend"].run(ctx, {}).result
    assert result["basis"] == "past_orders" and result["for"]["sku"] == "BAG-DOWN-5"
    assert "SOCK-HIKE-M" not in skus(result["bought_together"])  # already bought it


def test_recommend_through_the_agent_and_the_api(
    history: Database, make_agent: MakeAgent, client_of: Callable[..., TestClient]
) -> None:
    agent = make_agent(call("recommend", sku="TENT-ALP2-GRN"), "A head lamp goes well with it.")
    record = agent.turn(MERCHANT, None, "What goes with the Alp 2 tent?").tool_calls[0]
    assert record.error is None and record.result["bought_together"][0]["sku"] == "LAMP-200"

    client = client_of(call("recommend", sku="STOVE-GAS"), "Gas for it.")
    body = client.post("/v1/chat", json={"message": "what else do I need with the gas stove?"}).json()
    assert body["tool_calls"][0]["error"] is None
    cards = {c["sku"]: c for c in body["products"]}
    assert "GAS-230" in cards and cards["GAS-230"]["price"] == "6.90"
