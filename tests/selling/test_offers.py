"""Bounded offers: the agent may offer a discount inside the merchant's limit; the server
enforces the limit, logs every offer (granted or refused) and applies it at checkout."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from agent.context import ToolContext
from agent.fakes import call
from agent.tools import TOOLS_BY_NAME
from shop import carts, checkout
from shop.db import Database
from shop.models import Offer
from tests.agent.conftest import MakeAgent
from tests.conftest import MERCHANT
from tests.selling.conftest import SESSION


def offers_log(db: Database) -> list[tuple[str, str, str]]:
    with db.read_session() as s:
        return [(o.sku, o.percent, o.status) for o in s.scalars(select(Offer).order_by(Offer.id))]


def test_offer_within_the_limit_is_applied_at_checkout(store: Database, make_agent: MakeAgent) -> None:
    agent = make_agent(
        call("find_promotions", sku="TENT-TRAIL3"),
        call("make_offer", sku="TENT-TRAIL3", percent=10, reason="over budget"),
        "I can do 10% off: 179.10.",
        call("add_to_cart", sku="TENT-TRAIL3"),
        "Added.",
        call("prepare_checkout", email="ona@example.com"),
        "Please confirm.",
    )
    first = agent.turn(MERCHANT, None, "The Kestrel Trail 3 is a bit over my budget, any better price?")
    looked, made = first.tool_calls
    assert looked.result["may_offer_up_to_percent"] == "10"
    assert made.error is None
    assert (made.result["price"], made.result["price_with_offer"]) == ("199.00", "179.10")
    sid = first.session_id
    agent.turn(MERCHANT, sid, "Great, add it")
    summary = agent.turn(MERCHANT, sid, "Check out, ona@example.com").tool_calls[0].result["checkout"]
    assert (summary["discount"], summary["total"]) == ("19.90", "179.10")
    assert summary["adjustments"][0]["label"] == "10% off TENT-TRAIL3"
    assert offers_log(store) == [("TENT-TRAIL3", "10", "offered")]


def test_offer_beyond_the_limit_is_refused_and_logged(store: Database, make_agent: MakeAgent) -> None:
    agent = make_agent(
        call("make_offer", sku="TENT-TRAIL3", percent=25),
        call("make_offer", sku="SOCK-HIKE-L", percent=5),
        call("make_offer", sku="STOVE-GAS", percent=5),
        "Here is what I can do.",
    )
    result = agent.turn(MERCHANT, None, "Discounts on the tent, the socks and the stove, please?")
    tent, socks, stove = result.tool_calls
    assert tent.result is None and "at most 10%" in (tent.error or "") and "not made" in (tent.error or "")
    assert socks.result is None and "no discount can be offered" in (socks.error or "")
    assert stove.error is None and stove.result["price_with_offer"] == "42.75"  # 45.00 - 5 %
    assert offers_log(store) == [
        ("TENT-TRAIL3", "25", "refused"),
        ("SOCK-HIKE-L", "5", "refused"),
        ("STOVE-GAS", "5", "offered"),
    ]
    with store.session() as s:
        carts.add_item(s, MERCHANT, result.session_id, "TENT-TRAIL3")
        carts.add_item(s, MERCHANT, result.session_id, "SOCK-HIKE-L")
    with store.session() as s:
        summary = checkout.prepare(s, MERCHANT, result.session_id, "ona@example.com")
    assert summary.discount.minor == 0  # refused offers give nothing; the stove is not in the cart


def test_offers_belong_to_their_conversation(tool_ctx: Callable[..., ToolContext]) -> None:
    mine = tool_ctx("better price? I am x@example.com")  # an email the shopper wrote
    assert TOOLS_BY_NAME["make_offer"].run(mine, {"sku": "TENT-TRAIL3", "percent": 10}).error is None
    other = tool_ctx(session_id="someone-else-0000001")
    with other.transaction() as s:
        carts.add_item(s, MERCHANT, "someone-else-0000001", "TENT-TRAIL3")
    outcome = TOOLS_BY_NAME["prepare_checkout"].run(other, {"email": "x@example.com"})
    assert outcome.result["checkout"]["discount"] == "0.00"
    with mine.transaction() as s:
        carts.add_item(s, MERCHANT, SESSION, "TENT-TRAIL3")
    assert (
        TOOLS_BY_NAME["prepare_checkout"].run(mine, {"email": "x@example.com"}).result["checkout"]["discount"]
        == "19.90"
    )


def test_bad_percent_goes_back_to_the_model(tool_ctx: Callable[..., ToolContext]) -> None:
    ctx = tool_ctx()
    for bad in (0, 101, "ten", 7.5):
        outcome = TOOLS_BY_NAME["make_offer"].run(ctx, {"sku": "TENT-TRAIL3", "percent": bad})
        assert outcome.error is not None and "percent" in outcome.error


# -- through the HTTP API -------------------------------------------------------------------
def test_offer_through_chat_then_checkout_and_the_merchants_log(
    client_of: Callable[..., TestClient], auth: dict[str, str]
) -> None:
    client = client_of(
        call("make_offer", sku="TENT-TRAIL3", percent=15),
        call("make_offer", sku="TENT-TRAIL3", percent=8, reason="asked nicely"),
        "8% it is.",
    )
    body = client.post("/v1/chat", json={"message": "Can you do better on the Kestrel Trail 3?"}).json()
    assert [c["error"] is None for c in body["tool_calls"]] == [False, True]
    client.post("/v1/cart/items", json={"sku": "TENT-TRAIL3"})
    summary = client.post("/v1/checkout", json={"email": "ona@example.com"}).json()
    assert (summary["discount"], summary["total"]) == ("15.92", "183.08")  # 8 % of 199.00

    log = client.get(f"/v1/merchants/{MERCHANT}/offers", headers=auth).json()
    assert log["total"] == 2
    assert [(o["sku"], o["percent"], o["status"]) for o in log["items"]] == [
        ("TENT-TRAIL3", "8", "offered"),
        ("TENT-TRAIL3", "15", "refused"),
    ]
    assert log["items"][0]["reason"] == "asked nicely"
    refused = client.get(f"/v1/merchants/{MERCHANT}/offers", params={"status": "refused"}, headers=auth)
    assert refused.json()["total"] == 1
    assert client.get(f"/v1/merchants/{MERCHANT}/offers").status_code == 401


def test_merchant_sets_offer_limits(client_of: Callable[..., TestClient], auth: dict[str, str]) -> None:
    client = client_of(call("make_offer", sku="TENT-TRAIL3", percent=10), "ok")
    base = f"/v1/merchants/{MERCHANT}/offer-limits"
    assert client.get(base, headers=auth).json()["limits"][0] == {
        "scope": "category",
        "targets": ["tents"],
        "max_percent": "10",
    }
    lowered = {"limits": [{"scope": "product", "targets": ["TENT-TRAIL3"], "max_percent": "3"}]}
    assert client.put(base, json=lowered, headers=auth).json() == lowered
    body = client.post("/v1/chat", json={"message": "better price on the Trail 3?"}).json()
    assert "at most 3%" in body["tool_calls"][0]["error"]
    assert (
        client.put(
            base, json={"limits": [{**lowered["limits"][0], "max_percent": "150"}]}, headers=auth
        ).status_code
        == 422
    )
    assert (
        client.put(
            base, json={"limits": [{"scope": "brand", "targets": ["x"], "max_percent": "5"}]}, headers=auth
        ).status_code
        == 422
    )
    assert client.put(base, json=lowered, headers={"Authorization": "Bearer nope"}).status_code == 401
