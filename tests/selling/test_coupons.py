"""Coupon codes and automatic promotions, through the agent (scripted model) and the HTTP API.

The model can only ask: a code counts when the shopper typed it and the store has it, valid
now and not used up; the discount is computed by the server when the checkout is prepared.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from agent.context import ToolContext
from agent.events import TurnResult
from agent.fakes import call
from agent.tools import TOOLS_BY_NAME
from shop import carts, checkout
from shop.db import Database
from shop.payments import TestProvider
from tests.agent.conftest import MakeAgent
from tests.conftest import MERCHANT
from tests.selling.conftest import SESSION

ADDRESS = {
    "name": "Ona Test",
    "line1": "Pylimo g. 5",
    "city": "Vilnius",
    "postal_code": "01117",
    "country": "LT",
}


def record(result: TurnResult, name: str) -> Any:
    return next(r for r in result.tool_calls if r.name == name)


def test_a_code_the_shopper_gives_is_taken_off_at_checkout(store: Database, make_agent: MakeAgent) -> None:
    agent = make_agent(
        call("add_to_cart", sku="TENT-TRAIL3"),
        "Added.",
        call("apply_coupon", code="welcome10"),
        "Your code is on the cart.",
        call("prepare_checkout", email="ona@example.com"),
        "Please confirm.",
    )
    first = agent.turn(MERCHANT, None, "Add the Kestrel Trail 3 Tent")
    sid = first.session_id
    applied = record(agent.turn(MERCHANT, sid, "I have a coupon: welcome10"), "apply_coupon")
    assert applied.error is None
    assert applied.result["applied"]["code"] == "WELCOME10"
    assert applied.result["cart_discount_now"] == "19.90"  # 10 % of 199.00, computed by the store
    assert applied.result["cart"]["coupon_codes"] == ["WELCOME10"]
    prepared = record(agent.turn(MERCHANT, sid, "Check out, ona@example.com"), "prepare_checkout")
    summary = prepared.result["checkout"]
    assert (summary["subtotal"], summary["discount"], summary["shipping"], summary["total"]) == (
        "199.00",
        "19.90",
        "0.00",
        "179.10",
    )
    assert summary["adjustments"] == [
        {"label": "Welcome: 10% off orders from 50 EUR", "code": "WELCOME10", "amount": "19.90"}
    ]


def test_a_code_the_model_invents_does_nothing(store: Database, make_agent: MakeAgent) -> None:
    # WELCOME10 is a real code of the store, but the shopper never wrote it.
    agent = make_agent(
        call("add_to_cart", sku="TENT-TRAIL3"),
        "Added.",
        call("apply_coupon", code="WELCOME10"),
        "Sorry.",
        call("prepare_checkout", email="ona@example.com"),
        "Please confirm.",
    )
    sid = agent.turn(MERCHANT, None, "Add the Kestrel Trail 3 Tent").session_id
    refused = record(agent.turn(MERCHANT, sid, "Any discount for me?"), "apply_coupon")
    assert refused.result is None and "code the shopper wrote" in (refused.error or "")
    summary = record(agent.turn(MERCHANT, sid, "Check out, ona@example.com"), "prepare_checkout").result
    assert summary["checkout"]["discount"] == "0.00" and summary["checkout"]["total"] == "199.00"
    with store.session() as s:
        assert carts.view_cart(s, MERCHANT, sid).coupon_codes == ()


def test_unknown_and_expired_codes_are_refused(tool_ctx: Callable[..., ToolContext]) -> None:
    ctx = tool_ctx("my code is FREE100", "or OLD20?")
    for code in ("FREE100", "OLD20"):
        outcome = TOOLS_BY_NAME["apply_coupon"].run(ctx, {"code": code})
        assert outcome.error is not None and "not valid" in outcome.error, outcome
    with ctx.transaction() as s:
        assert carts.view_cart(s, MERCHANT, SESSION).coupon_codes == ()


def test_usage_limit_in_all_and_per_shopper(store: Database, tool_ctx: Callable[..., ToolContext]) -> None:
    # WELCOME10 may be used once per shopper, ONCE5 once in all.
    with store.session() as s:
        carts.add_item(s, MERCHANT, "first-session-000001", "TENT-TRAIL3")
        carts.apply_coupon(s, MERCHANT, "first-session-000001", "WELCOME10")
        carts.apply_coupon(s, MERCHANT, "first-session-000001", "ONCE5")
        summary = checkout.prepare(s, MERCHANT, "first-session-000001", "ona@example.com", ADDRESS)
    assert [a["promo_id"] for a in summary.adjustments] == ["welcome"]  # 19.90 beats 5.00, never both
    checkout.confirm(store, MERCHANT, "first-session-000001", summary.checkout_id, "k1", TestProvider())

    # The same shopper in a new conversation: WELCOME10 is used up for her, not for others.
    mine = tool_ctx("WELCOME10 please", email="ona@example.com")
    refused = TOOLS_BY_NAME["apply_coupon"].run(mine, {"code": "WELCOME10"})
    assert refused.error is not None and "already used" in refused.error
    other = tool_ctx("WELCOME10 please", session_id="other-session-0000001", email="jonas@example.com")
    assert TOOLS_BY_NAME["apply_coupon"].run(other, {"code": "WELCOME10"}).error is None

    # ONCE5 was not redeemed above (WELCOME10 won); once an order redeems it, it is gone for all.
    again = TOOLS_BY_NAME["apply_coupon"].run(
        tool_ctx("ONCE5", session_id="third-session-000001"), {"code": "ONCE5"}
    )
    assert again.error is None
    with store.session() as s:
        carts.add_item(s, MERCHANT, "second-session-00001", "STOVE-GAS")
        carts.apply_coupon(s, MERCHANT, "second-session-00001", "ONCE5")
        summary = checkout.prepare(s, MERCHANT, "second-session-00001", "li@example.cn", ADDRESS)
    assert summary.discount.minor == 500
    checkout.confirm(store, MERCHANT, "second-session-00001", summary.checkout_id, "k2", TestProvider())
    late = TOOLS_BY_NAME["apply_coupon"].run(
        tool_ctx("ONCE5", session_id="fourth-session-00001"), {"code": "ONCE5"}
    )
    assert late.error is not None and "not valid" in late.error
    with store.session() as s:  # a cart that took it before the last use does not get it either
        carts.add_item(s, MERCHANT, "third-session-000001", "STOVE-GAS")
        assert (
            checkout.prepare(s, MERCHANT, "third-session-000001", "x@example.com", ADDRESS).discount.minor
            == 0
        )


def test_find_promotions_lists_automatic_ones_and_keeps_codes_secret(
    tool_ctx: Callable[..., ToolContext],
) -> None:
    ctx = tool_ctx("any deals?")
    found = TOOLS_BY_NAME["find_promotions"].run(ctx, {}).result
    assert [p["label"] for p in found["promotions"]] == ["Sleep week: 10% off sleeping bags"]
    assert found["promotions"][0]["categories"] == ["sleeping bags"]
    assert "WELCOME10" not in str(found) and "ONCE5" not in str(found)
    on_bag = TOOLS_BY_NAME["find_promotions"].run(ctx, {"sku": "BAG-DOWN-5"}).result
    assert [p["label"] for p in on_bag["promotions"]] == ["Sleep week: 10% off sleeping bags"]
    assert "may_offer_up_to_percent" not in on_bag  # no offer limit on sleeping bags
    on_tent = TOOLS_BY_NAME["find_promotions"].run(ctx, {"sku": "TENT-TRAIL3"}).result
    assert on_tent["promotions"] == [] and on_tent["may_offer_up_to_percent"] == "10"
    with ctx.transaction() as s:
        carts.add_item(s, MERCHANT, SESSION, "BAG-DOWN-5")
    in_cart = TOOLS_BY_NAME["find_promotions"].run(ctx, {}).result
    assert (in_cart["cart_subtotal"], in_cart["cart_discount_now"]) == ("189.00", "18.90")


# -- through the HTTP API -------------------------------------------------------------------
def test_chat_applies_the_shoppers_code_and_checkout_shows_it(client_of: Callable[..., TestClient]) -> None:
    client = client_of(
        call("apply_coupon", code="WELCOME10"), "Done.", call("apply_coupon", code="ONCE5"), "Hm."
    )
    assert client.post("/v1/cart/items", json={"sku": "STOVE-GAS", "quantity": 2}).status_code == 200
    body = client.post("/v1/chat", json={"message": "Here is my code: WELCOME10"}).json()
    assert body["tool_calls"][0]["error"] is None and body["cart"]["coupon_codes"] == ["WELCOME10"]
    # The model tries a second, real code the shopper did not give: nothing changes.
    body = client.post("/v1/chat", json={"message": "thanks"}).json()
    assert "code the shopper wrote" in body["tool_calls"][0]["error"]
    assert client.get("/v1/cart").json()["coupon_codes"] == ["WELCOME10"]
    summary = client.post("/v1/checkout", json={"email": "li@example.cn"}).json()
    assert (summary["subtotal"], summary["discount"], summary["total"]) == ("90.00", "9.00", "81.00")


def test_merchant_manages_promotions(client_of: Callable[..., TestClient], auth: dict[str, str]) -> None:
    client = client_of()
    base = f"/v1/merchants/{MERCHANT}/promotions"
    listed = client.get(base, headers=auth).json()
    assert [p["id"] for p in listed] == ["old", "once", "sleep-week", "welcome"]
    assert client.get(base).status_code == 401

    new = {"id": "stoves", "code": "STOVE7", "label": "7 EUR off stoves", "kind": "fixed", "value": "7.00",
           "scope": "product", "targets": ["STOVE-GAS"]}  # fmt: skip
    created = client.post(base, json=new, headers=auth)
    assert created.status_code == 201 and created.json()["uses"] == 0 and created.json()["active"] is True
    assert client.post(base, json=new, headers=auth).status_code == 409
    assert client.post(base, json={**new, "id": "x", "code": "WELCOME10"}, headers=auth).status_code == 409
    bad_target = client.post(
        base, json={**new, "id": "y", "code": "Y123", "targets": ["NOPE-1"]}, headers=auth
    )
    assert bad_target.status_code == 422 and "unknown product" in bad_target.text
    inexact = client.post(base, json={**new, "id": "z", "code": "Z123", "value": "7.001"}, headers=auth)
    assert inexact.status_code == 422 and "decimal places" in inexact.text

    shopper = client_of(call("apply_coupon", code="STOVE7"), "ok")
    assert shopper.post("/v1/cart/items", json={"sku": "STOVE-GAS"}).status_code == 200
    assert shopper.post("/v1/chat", json={"message": "code stove7"}).json()["cart"]["coupon_codes"] == [
        "STOVE7"
    ]
    assert shopper.post("/v1/checkout", json={"email": "li@example.cn"}).json()["discount"] == "7.00"
    changed = client.put(f"{base}/stoves", json={**new, "value": "3.00"}, headers=auth)
    assert changed.status_code == 200 and changed.json()["value"] == "3.00"
    assert shopper.post("/v1/checkout", json={"email": "li@example.cn"}).json()["discount"] == "3.00"
    assert client.put(f"{base}/stoves", json={**new, "id": "other"}, headers=auth).status_code == 422
    assert client.delete(f"{base}/stoves", headers=auth).status_code == 204
    assert shopper.post("/v1/checkout", json={"email": "li@example.cn"}).json()["discount"] == "0.00"
    assert client.delete(f"{base}/stoves", headers=auth).status_code == 404
    assert "stoves" not in [p["id"] for p in client.get(base, headers=auth).json()]
    gone = client.get(base, params={"include_inactive": True}, headers=auth).json()
    assert next(p for p in gone if p["id"] == "stoves")["active"] is False
