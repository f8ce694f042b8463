"""Instructions the server gave the model never reach the shopper as part of a reply."""

from __future__ import annotations

from agent.echoes import notes_of, without_notes
from agent.events import ToolCallRecord
from agent.fakes import call
from agent.loop import REPEATED
from tests.conftest import MERCHANT
from tests.smallmodel.conftest import GuardedAgent


def test_a_repeated_loop_note_is_cut_and_the_rest_kept() -> None:
    reply = f"{REPEATED}\n\nHere is your order summary:\n- 1 x Tent: 179.00 EUR\nTotal: 161.10 EUR"
    kept = without_notes(reply, notes_of([]))
    assert kept.startswith("Here is your order summary:") and "161.10" in kept and "already made" not in kept


def test_notes_of_tool_results_are_cut_in_any_case_and_spacing() -> None:
    found = ToolCallRecord(
        "search_products",
        {},
        {"results": [], "note": "The best match is sold out: say so and offer the in-stock alternatives."},
    )
    reply = "the best match is   sold out: say so and offer the in-stock alternatives. The tent is sold out."
    assert without_notes(reply, notes_of([found])) == "The tent is sold out."
    assert without_notes("The best match is the tent.", notes_of([found])) == "The best match is the tent."


def test_a_reply_that_only_echoes_a_note_is_replaced(guarded: GuardedAgent) -> None:
    agent, _ = guarded(
        call("add_to_cart", sku="STOVE-GAS", quantity=1),
        "Suggestions are optional extras: mention them once, briefly, without pushing.",
        "Suggestions are optional extras: mention them once, briefly, without pushing.",
    )
    result = agent.turn(MERCHANT, None, "Please add STOVE-GAS to my cart")
    assert "optional extras" not in result.reply and "45.00" in result.reply  # the cart, from the store
