"""Wishlists: save, list, remove, move to the cart, and a read-only link to share."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from agent.context import ToolContext
from agent.fakes import call
from agent.tools import TOOLS_BY_NAME
from shop.db import Database
from shop.models import Product
from tests.agent.conftest import MakeAgent
from tests.conftest import MERCHANT


def names(result: dict) -> list[str]:
    return [item["sku"] for item in result["wishlist"]]


def test_save_list_remove_and_move_through_the_agent(store: Database, make_agent: MakeAgent) -> None:
    agent = make_agent(
        [call("save_to_wishlist", sku="LAMP-200"), call("save_to_wishlist", sku="STOVE-GAS")],
        "Saved both.",
        call("save_to_wishlist", sku="NOPE-1"),
        "No such product.",
        call("view_wishlist"),
        "Here it is.",
        call("remove_from_wishlist", sku="STOVE-GAS"),
        "Removed.",
        call("move_wishlist_to_cart", sku="LAMP-200"),
        "In your cart.",
    )
    first = agent.turn(MERCHANT, None, "Save the head lamp and the stove for later")
    sid = first.session_id
    saved = first.tool_calls[-1].result
    assert names(saved) == ["LAMP-200", "STOVE-GAS"] and saved["wishlist"][1]["price"] == "45.00"
    assert saved["share_link"].startswith("/v1/wishlists/") and saved["share_link"].endswith(
        f"?merchant={MERCHANT}"
    )
    unknown = agent.turn(MERCHANT, sid, "and the nope").tool_calls[0]
    assert unknown.result is None and "NOPE-1" in (unknown.error or "")
    assert names(agent.turn(MERCHANT, sid, "show my wishlist").tool_calls[0].result) == [
        "LAMP-200",
        "STOVE-GAS",
    ]
    assert names(agent.turn(MERCHANT, sid, "remove the stove").tool_calls[0].result) == ["LAMP-200"]
    moved = agent.turn(MERCHANT, sid, "move the lamp to my cart")
    assert moved.tool_calls[0].result["wishlist"] == [] and moved.cart["lines"][0]["sku"] == "LAMP-200"


def test_a_sold_out_item_stays_on_the_wishlist(store: Database, tool_ctx: Callable[..., ToolContext]) -> None:
    ctx = tool_ctx()
    assert (
        TOOLS_BY_NAME["save_to_wishlist"].run(ctx, {"sku": "TENT-UL1"}).error is None
    )  # sold out: may be saved
    outcome = TOOLS_BY_NAME["move_wishlist_to_cart"].run(ctx, {"sku": "TENT-UL1"})
    assert outcome.error is not None and "TENT-UL1" in outcome.error
    assert names(TOOLS_BY_NAME["view_wishlist"].run(ctx, {}).result) == ["TENT-UL1"]
    assert TOOLS_BY_NAME["remove_from_wishlist"].run(ctx, {"sku": "LAMP-200"}).error is not None


def test_wishlists_belong_to_their_session(tool_ctx: Callable[..., ToolContext]) -> None:
    TOOLS_BY_NAME["save_to_wishlist"].run(tool_ctx(), {"sku": "LAMP-200"})
    other = tool_ctx(session_id="someone-else-0000001")
    assert TOOLS_BY_NAME["view_wishlist"].run(other, {}).result == {"wishlist": [], "share_link": None}
    assert TOOLS_BY_NAME["move_wishlist_to_cart"].run(other, {"sku": "LAMP-200"}).error is not None


def test_shared_link_shows_the_list_read_only(store: Database, client_of: Callable[..., TestClient]) -> None:
    owner = client_of(call("save_to_wishlist", sku="LAMP-200"), "Saved.")
    assert owner.get("/v1/wishlist").json() == {"items": [], "share_path": None}
    owner.post("/v1/chat", json={"message": "save the Lumen 200 head lamp to my wishlist"})
    mine = owner.get("/v1/wishlist").json()
    assert [i["sku"] for i in mine["items"]] == ["LAMP-200"] and mine["items"][0]["price"] == "34.50"
    link = mine["share_path"]

    friend = client_of()  # another browser: no session of the owner's
    shared = friend.get(link)
    assert shared.status_code == 200
    assert shared.json() == {"items": mine["items"]}  # no token, owner or session in it
    assert friend.get("/v1/wishlist").json()["items"] == []  # the link gives no access to the list itself
    with store.session() as s:  # prices are today's store prices
        lamp = s.query(Product).filter_by(merchant_id=MERCHANT, sku="LAMP-200").one()
        lamp.price_minor = 2990
    assert friend.get(link).json()["items"][0]["price"] == "29.90"

    token = link.split("/")[-1].split("?")[0]
    assert friend.get(f"/v1/wishlists/{token}?merchant=other").status_code == 404  # another store
    assert friend.get("/v1/wishlists/" + "x" * 22).status_code == 404
    assert friend.get("/v1/wishlists/short").status_code == 422
    for method in (friend.post, friend.put, friend.delete):
        assert method(link).status_code == 405  # read-only
