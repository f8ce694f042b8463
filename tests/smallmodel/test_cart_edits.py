"""Quantity changes and removals are made by the server when the cart line is clear."""

from __future__ import annotations

from typing import Any

from agent.auto_context import CartEdit, cart_line
from agent.fakes import call
from tests.conftest import MERCHANT
from tests.smallmodel.conftest import GuardedAgent

STOVE = {"sku": "STOVE-GAS", "title": "Blaze Gas Stove", "quantity": 1}
LAMP = {"sku": "LAMP-200", "title": "Lumen 200 Head Lamp", "quantity": 2}
SOCKS = {"sku": "SOCK-HIKE-L", "title": "Merino Hiking Socks (L)"}


def _quantities(cart: dict[str, Any]) -> dict[str, int]:
    return {line["sku"]: line["quantity"] for line in cart.get("lines") or []}


def test_make_it_three_sets_the_quantity_and_a_stray_add_is_refused(guarded: GuardedAgent) -> None:
    agent, _ = guarded(
        "Added the sleeping bag.",
        call("add_to_cart", sku="BAG-SYN-0", quantity=3),  # a small model reads the change as an add
        "Done, you now have three.",
    )
    first = agent.turn(MERCHANT, None, "Please add the sleeping bag BAG-SYN-0 to my cart")
    second = agent.turn(MERCHANT, first.session_id, "Actually, make it three.")
    assert _quantities(second.cart) == {"BAG-SYN-0": 3}
    update = next(c for c in second.tool_calls if c.name == "update_cart")
    assert update.arguments == {"sku": "BAG-SYN-0", "quantity": 3} and update.error is None
    assert "267.00" in second.reply  # the new subtotal, added when the reply leaves it out


def test_a_named_line_is_removed(guarded: GuardedAgent) -> None:
    agent, _ = guarded("Added.", "Added.", "The tent is out of your cart.")
    first = agent.turn(MERCHANT, None, "Please add the sleeping bag BAG-SYN-0 to my cart")
    agent.turn(MERCHANT, first.session_id, "Please add TENT-ALP2-GRN to my cart too")
    third = agent.turn(MERCHANT, first.session_id, "Please remove the tent from my cart.")
    assert _quantities(third.cart) == {"BAG-SYN-0": 1}
    assert any(
        c.name == "update_cart" and c.arguments == {"sku": "TENT-ALP2-GRN", "quantity": 0}
        for c in third.tool_calls
    )


def test_an_unclear_change_shows_the_cart_and_changes_nothing(guarded: GuardedAgent) -> None:
    agent, _ = guarded("Added.", "Which item should I change? You have one sleeping bag.")
    first = agent.turn(MERCHANT, None, "Please add the sleeping bag BAG-SYN-0 to my cart")
    second = agent.turn(MERCHANT, first.session_id, "Make it 3 hiking socks instead.")
    assert _quantities(second.cart) == {"BAG-SYN-0": 1}
    assert [c.name for c in second.tool_calls] == ["view_cart"]


def test_the_line_is_resolved_only_when_the_message_makes_it_clear() -> None:
    never: Any = None
    assert cart_line(CartEdit(2, "", ("LAMP-200",)), [STOVE, LAMP], [], never) == LAMP
    assert cart_line(CartEdit(0, "remove the head lamp", ()), [STOVE, LAMP], [], never) == LAMP
    assert cart_line(CartEdit(3, "", ()), [STOVE, LAMP], [], never) is None  # which one?
    assert cart_line(CartEdit(3, "actually", ()), [STOVE], [], never) == STOVE  # the only line
    assert cart_line(CartEdit(3, "make the socks", ()), [STOVE], [SOCKS], never) is None
    assert cart_line(CartEdit(0, "remove it", ()), [STOVE], [], never) is None  # never guessed
    assert cart_line(CartEdit(0, "remove the stove", ()), [STOVE], [], never) == STOVE
    assert cart_line(CartEdit(1, "", ()), [], [], never) is None


def test_a_line_named_in_another_language_is_found_by_meaning() -> None:
    def similar(text: str, candidates: list[str]) -> list[float]:
        return [0.6 if "Lamp" in c else 0.1 for c in candidates]

    assert cart_line(CartEdit(0, "احذف المصباح", ()), [STOVE, LAMP], [], similar) == LAMP
    assert cart_line(CartEdit(0, "احذف المصباح", ()), [STOVE, LAMP], [], None) is None


def test_the_words_naming_the_line_leave_out_the_request_itself() -> None:
    from agent.auto_context import classifier_for, plan
    from agent.state import ConversationState

    removal = plan("احذف الصفارة من السلة.", "ar", ConversationState(lang="ar"), classifier_for(None, None))
    assert removal.edit is not None and removal.edit.name == "الصفارة"  # "remove" would blur the meaning
    english = plan(
        "Please remove the spork from my cart.",
        "en",
        ConversationState(lang="en"),
        classifier_for(None, None),
    )
    assert english.edit is not None and "remove" not in english.edit.name and "spork" in english.edit.name
