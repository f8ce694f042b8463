"""Key facts a small model's reply leaves out are appended from the turn's tool results."""

from __future__ import annotations

from agent.events import ToolCallRecord
from agent.fakes import call
from agent.key_facts import missing
from tests.conftest import MERCHANT
from tests.smallmodel.conftest import GuardedAgent


def test_a_cart_change_without_the_total_gets_the_cart_appended(guarded: GuardedAgent) -> None:
    agent, _ = guarded(call("add_to_cart", sku="STOVE-GAS", quantity=2), "Done, they are in your cart!")
    result = agent.turn(MERCHANT, None, "Please add two Blaze Gas Stoves to my cart.")
    assert result.reply.startswith("Done, they are in your cart!")
    assert "Blaze Gas Stove" in result.reply and "90.00" in result.reply


def test_a_reply_stating_the_total_is_left_as_it_is(guarded: GuardedAgent) -> None:
    said = "Done! Two Blaze Gas Stoves are in your cart, subtotal 90 EUR."
    agent, _ = guarded(call("add_to_cart", sku="STOVE-GAS", quantity=2), said)
    result = agent.turn(MERCHANT, None, "Please add two Blaze Gas Stoves to my cart.")
    assert result.reply == said


def test_the_appended_cart_is_in_the_shoppers_language(guarded: GuardedAgent) -> None:
    agent, _ = guarded(call("add_to_cart", sku="STOVE-GAS", quantity=2), "Atlikta, įdėjau į krepšelį!")
    result = agent.turn(MERCHANT, None, "Prašau įdėti du Blaze Gas Stove į mano krepšelį.")
    assert result.lang == "lt"
    assert "Tarpinė suma" in result.reply and "90,00" in result.reply


def test_an_order_reply_without_the_tracking_number_gets_it(guarded: GuardedAgent) -> None:
    agent, _ = guarded("Good news: your order has shipped and is on its way.")
    result = agent.turn(MERCHANT, None, "Where is my order A1003? My email is li@example.cn")
    assert any(c.name == "lookup_order" for c in result.tool_calls)
    assert "CE482913305EE" in result.reply
    assert result.reply.count("shipped") == 1  # the status was said: only the tracking line is added


def test_an_order_reply_without_the_status_gets_it(guarded: GuardedAgent) -> None:
    agent, _ = guarded("I found your order A1002, thank you for waiting.")
    result = agent.turn(MERCHANT, None, "What is the status of order A1002? Email mehmet@example.org")
    assert "paid" in result.reply.lower()


def test_a_refused_add_is_said_to_be_sold_out(guarded: GuardedAgent) -> None:
    agent, _ = guarded(call("add_to_cart", sku="TENT-UL1", quantity=1), "I could not add that one, sorry.")
    result = agent.turn(MERCHANT, None, "Add the Skyline UL1 Ultralight Tent to my cart.")
    assert "sold out" in result.reply and "Skyline UL1 Ultralight Tent" in result.reply


def test_a_reply_that_says_sold_out_gets_nothing_more() -> None:
    refused = ToolCallRecord("add_to_cart", {"sku": "TENT-UL1"}, None, "TENT-UL1 is out of stock")
    assert missing("Sorry, that tent is out of stock.", [refused], "en") == ""
    assert "sold out" in missing("Sorry, I could not.", [refused], "en")


def test_a_checkout_and_a_placed_order_need_their_total_and_id() -> None:
    summary = {
        "lines": [{"sku": "STOVE-GAS", "title": "Blaze Gas Stove", "quantity": 1, "line_total": "45.00"}],
        "subtotal": "45.00", "shipping": "4.99", "shipping_method": "standard", "total": "49.99",
        "currency": "EUR",
    }  # fmt: skip
    prepared = ToolCallRecord("prepare_checkout", {}, {"checkout": summary})
    assert "49.99" in missing("Shall I place the order?", [prepared], "en")
    assert missing("The total is 49.99 EUR. Shall I place it?", [prepared], "en") == ""
    placed = ToolCallRecord("place_order", {}, {"order_id": "A2001", "total": "49.99", "currency": "EUR"})
    assert "A2001" in missing("Thank you, it is placed!", [placed], "en")
    assert missing("Order A2001 is placed.", [placed], "en") == ""


def test_failed_and_empty_results_add_nothing() -> None:
    empty = ToolCallRecord("view_cart", {}, {"cart": {"lines": [], "subtotal": "0.00", "currency": "EUR"}})
    failed = ToolCallRecord("lookup_order", {"order_id": "A9"}, None, "no order matches")
    assert missing("Your cart is empty.", [empty, failed], "en") == ""


def test_a_sold_out_product_named_without_saying_so_gets_its_stock() -> None:
    tent = {"sku": "TENT-UL1", "title": "Skyline UL1 Ultralight Tent", "price": "329.00", "currency": "EUR",
            "in_stock": False}  # fmt: skip
    found = ToolCallRecord("search_products", {"query": "ultralight tent"}, {"results": [tent]})
    added = missing("The Skyline UL1 Ultralight Tent is a great one-person tent.", [found], "en")
    assert "Skyline UL1 Ultralight Tent" in added and "out of stock" in added
    assert missing("The Skyline UL1 Ultralight Tent is sold out, sorry.", [found], "en") == ""
    assert missing("We have several tents.", [found], "en") == ""


def test_a_safe_answer_showing_the_cart_still_gets_the_waiting_checkout(guarded: GuardedAgent) -> None:
    address = {
        "name": "Rūta J",
        "line1": "Ozo g. 1",
        "city": "Vilnius",
        "postal_code": "07150",
        "country": "LT",
    }
    agent, _ = guarded(
        "Added.",
        call("prepare_checkout", email="ruta@example.com", shipping_address=address),
        call("view_cart"),
        "Your total is 999.00 EUR.",  # invented: rewritten once, then the safe answer (the cart)
        "It is 999.00 EUR in total.",
    )
    first = agent.turn(MERCHANT, None, "Please add the Blaze Gas Stove to my cart")  # 45.00 + shipping
    checkout = agent.turn(MERCHANT, first.session_id, "I want to check out now, email ruta@example.com")
    prepared = next(c for c in checkout.tool_calls if c.name == "prepare_checkout")
    total = prepared.result["checkout"]["total"]
    assert "999" not in checkout.reply and f"Total: €{total}" in checkout.reply  # the localized block


def test_an_applied_coupon_needs_what_it_takes_off_now() -> None:
    applied = {"label": "Welcome code: 10% off orders over 50 EUR", "kind": "percent", "value": "10",
               "min_spend": "50.00", "code": "WELCOME10"}  # fmt: skip
    result = {"applied": applied, "cart_discount_now": "17.90", "currency": "EUR", "cart": {"lines": []}}
    coupon = ToolCallRecord("apply_coupon", {"code": "WELCOME10"}, result)
    assert "17.90" in missing("Your coupon is applied!", [coupon], "en")
    assert missing("WELCOME10 takes 17.90 EUR off.", [coupon], "en") == ""
    later = ToolCallRecord("apply_coupon", {"code": "WELCOME10"}, {**result, "cart_discount_now": "0.00"})
    assert missing("Your coupon is applied!", [later], "en") == ""  # nothing off yet: nothing to state


def test_a_cart_change_refused_by_a_limit_states_the_limit() -> None:
    refused = ToolCallRecord(
        "add_to_cart", {"sku": "CK-GAS230", "quantity": 12}, None, "at most 10 of one item per order"
    )
    assert "at most 10" in missing("Here is what I found: Emberfield Gas Cartridge 230 g.", [refused], "en")
    assert missing("Sorry, you can add at most 10 of one item.", [refused], "en") == ""
    unknown = ToolCallRecord("add_to_cart", {"sku": "X"}, None, "unknown product id 'X'")
    assert missing("I could not find it.", [unknown], "en") == ""  # no limit to state


def test_a_refused_coupon_is_said_to_be_invalid_in_the_shoppers_language() -> None:
    refused = ToolCallRecord(
        "apply_coupon", {"code": "freeship99"}, None, "the code 'FREESHIP99' is not valid"
    )
    added = missing("سلتك: 1 × Taiga Fox Solo 1", [refused], "ar")
    assert "FREESHIP99" in added and "غير صالح" in added
    assert "isn't valid" in missing("You can still use FREESHIP99.", [refused], "en")  # said wrong: corrected
    stated = missing("", [refused], "en")
    assert missing(stated, [refused], "en") == ""
    used = ToolCallRecord(
        "apply_coupon", {"code": "WELCOME10"}, None, "the code WELCOME10 was already used with a"
    )
    assert "already been used" in missing("Your cart is ready.", [used], "en")
