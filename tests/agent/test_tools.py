"""Every tool path, called the way the loop calls it: validated arguments in, outcome out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from agent.context import ToolContext
from agent.llm import Message
from agent.state import Pending
from agent.toolkit import DATA_LABEL, ToolOutcome
from agent.tools import TOOLS, TOOLS_BY_NAME
from shop import carts
from shop.models import Conversation, Order, Product
from tests.conftest import MERCHANT

DESIGN_NAMES = {
    "search_products", "get_product", "search_policies", "add_to_cart", "update_cart", "view_cart",
    "prepare_checkout", "place_order", "lookup_order", "cancel_order", "return_items", "handoff_to_human",
}  # fmt: skip


def run(ctx: ToolContext, name: str, **args: Any) -> ToolOutcome:
    return TOOLS_BY_NAME[name].run(ctx, args)


def ok(ctx: ToolContext, name: str, **args: Any) -> Any:
    outcome = run(ctx, name, **args)
    assert outcome.error is None, outcome.error
    return outcome.result


def test_the_tool_names_of_the_design_are_all_there() -> None:
    assert DESIGN_NAMES <= {t.name for t in TOOLS}
    for t in TOOLS:
        assert t.spec.description and t.spec.parameters["type"] == "object"


def test_search_returns_store_prices_and_remembers_results(ctx: ToolContext) -> None:
    result = ok(ctx, "search_products", query="sleeping bag")
    skus = [r["sku"] for r in result["results"]]
    assert set(skus) == {"BAG-DOWN-5", "BAG-SYN-0"}
    down = next(r for r in result["results"] if r["sku"] == "BAG-DOWN-5")
    assert (down["price"], down["currency"], down["in_stock"]) == ("189.00", "EUR", True)
    assert ctx.state.last_results == skus


def test_search_applies_price_filters_on_store_prices(ctx: ToolContext) -> None:
    result = ok(ctx, "search_products", query="sleeping bag", max_price="100")
    assert [r["sku"] for r in result["results"]] == ["BAG-SYN-0"]
    result = ok(ctx, "search_products", query="sleeping bag", min_price="100.00")
    assert [r["sku"] for r in result["results"]] == ["BAG-DOWN-5"]


def test_search_with_a_bad_price_is_an_error_the_model_can_fix(ctx: ToolContext) -> None:
    outcome = run(ctx, "search_products", query="tent", max_price="cheap")
    assert outcome.error is not None and "max_price" in outcome.error


def test_search_offers_in_stock_alternatives_when_the_best_match_is_sold_out(ctx: ToolContext) -> None:
    result = ok(ctx, "search_products", query="Skyline UL1 ultralight tent")
    assert result["results"][0]["sku"] == "TENT-UL1"
    assert result["results"][0]["in_stock"] is False
    alternatives = [a["sku"] for a in result["alternatives"]]
    assert alternatives and "TENT-UL1" not in alternatives
    stock = {p["sku"]: p["in_stock"] for p in result["results"]}
    assert all(stock.get(a, True) for a in alternatives)
    assert "sold out" in result["note"]


def test_sold_out_variant_suggests_its_sibling_first(ctx: ToolContext) -> None:
    result = ok(ctx, "search_products", query="Alp 2 Signal Orange")
    assert result["results"][0]["sku"] == "TENT-ALP2-ORG"
    assert result["alternatives"][0]["sku"] == "TENT-ALP2-GRN"


def test_search_in_stock_only_leaves_out_sold_out_items(ctx: ToolContext) -> None:
    result = ok(ctx, "search_products", query="tent", in_stock_only=True)
    assert result["results"] and all(r["in_stock"] for r in result["results"])


def test_search_with_no_match_says_so(ctx: ToolContext) -> None:
    result = ok(ctx, "search_products", query="kayak")
    assert result["results"] == [] and "Nothing matched" in result["note"]


def test_search_never_shows_another_merchants_products(ctx: ToolContext) -> None:
    result = ok(ctx, "search_products", query="Other Shop Tent")
    assert "TENT-OTHER" not in [r["sku"] for r in result["results"]]


def test_get_product_has_details_and_variants(ctx: ToolContext) -> None:
    result = ok(ctx, "get_product", sku="TENT-ALP2-GRN")
    assert result["description"].startswith("Two-person")
    assert result["attributes"]["color"] == "Forest Green"
    assert [v["sku"] for v in result["variants"]] == ["TENT-ALP2-ORG"]
    assert result["variants"][0]["in_stock"] is False
    assert result["only_left"] == 3


def test_get_product_with_an_unknown_id_suggests_close_matches(ctx: ToolContext) -> None:
    outcome = run(ctx, "get_product", sku="Polar Down Sleeping Bag")
    assert outcome.error is not None
    assert "unknown product id" in outcome.error and "BAG-DOWN-5" in outcome.error


def test_compare_products_builds_an_attribute_table(ctx: ToolContext) -> None:
    result = ok(ctx, "compare_products", skus=["BAG-DOWN-5", "BAG-SYN-0"])
    rows = {r["attribute"]: r["values"] for r in result["rows"]}
    assert rows["price"] == ["189.00 EUR", "89.00 EUR"]
    assert rows["temperature"] == ["-5C", "0C"]


def test_compare_needs_at_least_two_products(ctx: ToolContext) -> None:
    outcome = run(ctx, "compare_products", skus=["BAG-DOWN-5"])
    assert outcome.error is not None and "skus" in outcome.error


def test_search_policies_returns_cited_passages(ctx: ToolContext) -> None:
    result = ok(ctx, "search_policies", query="how many days to return")
    first = result["passages"][0]
    assert first["source"] == "doc:returns" and "45 days" in first["text"]


def test_search_policies_without_a_match_tells_the_model_to_admit_it(ctx: ToolContext) -> None:
    result = ok(ctx, "search_policies", query="zzzz qqqq")
    assert result["passages"] == [] and "do not know" in result["note"]


def test_add_to_cart_returns_the_cart_and_complementary_suggestions(ctx: ToolContext) -> None:
    result = ok(ctx, "add_to_cart", sku="TENT-ALP2-GRN", quantity=2)
    assert result["cart"]["lines"][0]["quantity"] == 2
    assert result["cart"]["subtotal"] == "498.00"
    suggested = [s["sku"] for s in result["suggestions"]]
    assert "FOOT-ALP2" in suggested  # same brand, other category
    assert not any(s.startswith("TENT-ALP2") for s in suggested)
    assert len(suggested) <= 3
    assert ctx.cart_changed


def test_add_to_cart_beyond_stock_is_refused_with_the_reason(ctx: ToolContext) -> None:
    outcome = run(ctx, "add_to_cart", sku="LAMP-200", quantity=5)
    assert outcome.error == "only 2 of Lumen 200 Head Lamp (LAMP-200) in stock"


@pytest.mark.parametrize("quantity", [0, -1, 100, "many"])
def test_add_to_cart_validates_quantity(ctx: ToolContext, quantity: Any) -> None:
    outcome = run(ctx, "add_to_cart", sku="BAG-SYN-0", quantity=quantity)
    assert outcome.error is not None and outcome.error.startswith(
        "invalid arguments for add_to_cart: quantity"
    )


def test_update_cart_sets_and_removes(ctx: ToolContext) -> None:
    ok(ctx, "add_to_cart", sku="BAG-SYN-0")
    assert ok(ctx, "update_cart", sku="BAG-SYN-0", quantity=3)["cart"]["item_count"] == 3
    assert ok(ctx, "update_cart", sku="BAG-SYN-0", quantity=0)["cart"]["lines"] == []
    assert run(ctx, "update_cart", sku="BAG-SYN-0", quantity=0).error == "'BAG-SYN-0' is not in the cart"


def test_view_cart(ctx: ToolContext) -> None:
    assert ok(ctx, "view_cart")["cart"]["lines"] == []
    ok(ctx, "add_to_cart", sku="SOCK-HIKE-M", quantity=2)
    cart = ok(ctx, "view_cart")["cart"]
    assert cart["subtotal"] == "39.80" and cart["currency"] == "EUR"


def test_checkout_needs_an_email_and_prepares_a_pending_summary(ctx: ToolContext) -> None:
    ok(ctx, "add_to_cart", sku="BAG-SYN-0")
    assert "email" in (run(ctx, "prepare_checkout").error or "")
    assert "not an email" in (run(ctx, "prepare_checkout", email="nope").error or "")
    result = ok(ctx, "prepare_checkout", email="ann@example.com")
    assert result["checkout"]["total"] == "89.00"  # free shipping over 75
    assert ctx.state.pending is not None and ctx.state.pending.kind == "checkout"
    assert "Total: 89.00 EUR" in ctx.state.pending.summary


def test_place_order_without_the_shoppers_yes_places_nothing(ctx: ToolContext) -> None:
    ok(ctx, "add_to_cart", sku="BAG-SYN-0")
    assert "no prepared checkout" in (run(ctx, "place_order").error or "")
    ok(ctx, "prepare_checkout", email="ann@example.com")
    outcome = run(ctx, "place_order")
    assert outcome.error is not None and "not confirmed" in outcome.error
    with ctx.db.session() as s:
        assert s.scalars(select(Order).where(Order.checkout_id.is_not(None))).all() == []


def test_place_order_with_a_forged_confirmation_flag_is_still_refused_by_the_store(ctx: ToolContext) -> None:
    """The state flag alone is not enough: the store needs the recorded confirmation too."""
    ok(ctx, "add_to_cart", sku="BAG-SYN-0")
    ok(ctx, "prepare_checkout", email="ann@example.com")
    assert ctx.state.pending is not None
    ctx.state.pending.confirmed = True
    outcome = run(ctx, "place_order")
    assert outcome.error is not None and "not confirmed" in outcome.error


def test_lookup_order_needs_the_right_email_and_marks_it_verified(ctx: ToolContext) -> None:
    wrong = run(ctx, "lookup_order", order_id="A1001", email="someone@example.com")
    unknown = run(ctx, "lookup_order", order_id="Z9999", email="ruta@example.com")
    assert wrong.error == unknown.error == "no order matches that order id and email"
    result = ok(ctx, "lookup_order", order_id="#A1001", email="Ruta@Example.com")
    assert result["order"]["status"] == "delivered" and result["order"]["tracking_number"] == "CE482913305EE"
    assert ctx.state.verified_emails == ["ruta@example.com"]


def test_an_email_the_shopper_never_wrote_is_refused_before_any_lookup(ctx: ToolContext) -> None:
    ctx.messages = [Message("user", "What is in order A1001?")]
    for name, args in (
        ("lookup_order", {"order_id": "A1001", "email": "ruta@example.com"}),
        ("cancel_order", {"order_id": "A1002", "email": "mehmet@example.org"}),
        ("return_items", {"order_id": "A1001", "email": "ruta@example.com"}),
    ):
        refused = run(ctx, name, **args)
        assert refused.error is not None and "ask them for their email" in refused.error
        assert "example" not in refused.error  # the guessed address is not echoed to the model
    assert ctx.state.failed_lookups == 0 and ctx.state.pending is None
    ctx.messages.append(Message("user", "It is Ruta@example.com."))
    assert ok(ctx, "lookup_order", order_id="A1001", email="ruta@example.com")["order"]["order_id"] == "A1001"
    ctx.messages.append(Message("user", "Now what about order A1003?"))
    verified = run(ctx, "lookup_order", order_id="A1003", email="ruta@example.com")  # verified above
    assert verified.error == "no order matches that order id and email"


def test_lookup_order_stops_after_repeated_failures(ctx: ToolContext) -> None:
    limit = ctx.settings.lookup_limit_per_session
    for _ in range(limit):
        run(ctx, "lookup_order", order_id="A1001", email="guess@example.com")
    outcome = run(ctx, "lookup_order", order_id="A1001", email="ruta@example.com")
    assert outcome.error is not None and "too many" in outcome.error


def test_cancel_needs_confirmation_then_the_identical_call_executes(ctx: ToolContext) -> None:
    first = ok(ctx, "cancel_order", order_id="A1002", email="mehmet@example.org", reason="changed my mind")
    assert (
        first["status"] == "needs_confirmation"
        and "A1002" in first["change"]
        and "89.00 EUR" in first["change"]
    )
    again = ok(ctx, "cancel_order", order_id="A1002", email="mehmet@example.org")
    assert again["status"] == "needs_confirmation"  # no yes recorded: still nothing happens
    assert ctx.state.pending is not None
    ctx.state.pending.confirmed = True
    done = ok(ctx, "cancel_order", order_id="A1002", email="MEHMET@example.org")
    assert done["cancelled"]["status"] == "cancelled"
    assert ctx.state.pending is None


def test_a_confirmation_does_not_carry_over_to_a_different_change(ctx: ToolContext) -> None:
    ok(
        ctx,
        "return_items",
        order_id="A1001",
        email="ruta@example.com",
        items=[{"sku": "FOOT-ALP2", "quantity": 1}],
    )
    assert ctx.state.pending is not None
    ctx.state.pending.confirmed = True
    changed = ok(ctx, "return_items", order_id="A1001", email="ruta@example.com")
    assert changed["status"] == "needs_confirmation"
    with ctx.db.session() as s:
        order = s.scalar(select(Order).where(Order.order_id == "A1001"))
        assert order is not None and all(line.returned_quantity == 0 for line in order.lines)


def test_cancel_of_a_shipped_order_is_refused(ctx: ToolContext) -> None:
    outcome = run(ctx, "cancel_order", order_id="A1003", email="li@example.cn")
    assert outcome.error == "order A1003 is shipped; only pending or paid orders can be cancelled"
    assert ctx.state.pending is None


def test_return_items_confirms_then_returns_and_restocks(ctx: ToolContext) -> None:
    args = {"order_id": "A1001", "email": "ruta@example.com", "items": [{"sku": "FOOT-ALP2", "quantity": 1}]}
    first = ok(ctx, "return_items", **args)
    assert first["change"] == "Return from order A1001: 1 x FOOT-ALP2; refund 39.00 EUR."
    assert ctx.state.pending is not None
    ctx.state.pending.confirmed = True
    done = ok(ctx, "return_items", **args)
    assert done["returned"]["refund"] == "39.00"
    with ctx.db.session() as s:
        assert s.scalar(select(Product.stock).where(Product.sku == "FOOT-ALP2")) == 13


def test_return_items_rejects_items_not_in_the_order(ctx: ToolContext) -> None:
    outcome = run(
        ctx,
        "return_items",
        order_id="A1001",
        email="ruta@example.com",
        items=[{"sku": "BAG-SYN-0", "quantity": 1}],
    )
    assert outcome.error == "BAG-SYN-0 is not part of order A1001"
    over = run(
        ctx,
        "return_items",
        order_id="A1001",
        email="ruta@example.com",
        items=[{"sku": "FOOT-ALP2", "quantity": 2}],
    )
    assert over.error == "FOOT-ALP2: you can return at most 1 of it"


def test_handoff_marks_the_conversation_and_gives_the_contact(ctx: ToolContext) -> None:
    with ctx.db.session() as s:
        s.add(Conversation(id=ctx.session_id, merchant_id=MERCHANT, messages=[], state={}))
    result = ok(ctx, "handoff_to_human", reason="wants to talk to a person")
    assert result["contact"] == "help@trailtest.example"
    with ctx.db.session() as s:
        row = s.get(Conversation, ctx.session_id)
        assert row is not None and row.handoff == "requested"


def test_tool_results_are_labelled_as_data_and_keep_untrusted_text_inside_json(ctx: ToolContext) -> None:
    outcome = run(ctx, "get_product", sku="LAMP-200")
    content = outcome.to_content()
    assert content.startswith(DATA_LABEL + "\n")
    body = json.loads(content.removeprefix(DATA_LABEL + "\n"))
    assert "IGNORE PREVIOUS INSTRUCTIONS" in body["description"]
    assert body["price"] == "34.50"


def test_invalid_arguments_and_unknown_arguments_come_back_as_errors(ctx: ToolContext) -> None:
    missing = run(ctx, "get_product")
    assert missing.error == "invalid arguments for get_product: sku: Field required"
    extra = run(ctx, "view_cart", everything=True)
    assert extra.error == "invalid arguments for view_cart: everything: unknown argument"
    assert json.loads(extra.to_content()) == {"error": extra.error}


def test_a_bug_inside_a_tool_becomes_a_tool_error_not_a_crash(
    ctx: ToolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("database exploded")

    monkeypatch.setattr(carts, "view_cart", broken)
    outcome = run(ctx, "view_cart")
    assert outcome.error is not None and "problem on our side" in outcome.error
    assert "exploded" not in outcome.error


def test_pending_state_round_trips(ctx: ToolContext) -> None:
    ctx.state.pending = Pending("action", 3, tool="cancel_order", key="{}", summary="x", confirmed=True)
    from agent.state import ConversationState

    again = ConversationState.from_dict(json.loads(json.dumps(ctx.state.to_dict())))
    assert again == ctx.state


def test_search_filters_on_attributes(ctx: ToolContext) -> None:
    result = ok(ctx, "search_products", query="hiking socks", attributes={"size": "l"})
    assert [r["sku"] for r in result["results"]] == ["SOCK-HIKE-L"]
    schema = TOOLS_BY_NAME["search_products"].spec.parameters["properties"]["attributes"]
    assert schema == {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": 'required attributes, e.g. {"color": "green", "size": "M"}',
    }


def test_place_order_accepts_a_confirmation_recorded_by_the_widget_button(ctx: ToolContext) -> None:
    from shop import checkout

    ok(ctx, "add_to_cart", sku="BAG-SYN-0")
    prepared = ok(ctx, "prepare_checkout", email="ann@example.com")
    with ctx.db.session() as s:
        checkout.record_confirmation(s, MERCHANT, ctx.session_id, prepared["checkout"]["checkout_id"])
    placed = ok(ctx, "place_order")
    assert placed["total"] == "89.00" and placed["status"] == "paid"
