"""A plain yes to a pending checkout or order change is carried out by the server."""

from __future__ import annotations

from sqlalchemy import select

from agent.auto_context import confirmed_call
from agent.events import TurnResult
from agent.fakes import Step, call
from agent.state import Pending
from shop.db import Database
from shop.models import Order
from tests.conftest import MERCHANT
from tests.smallmodel.conftest import GuardedAgent

ADDRESS = {"name": "Rūta J", "line1": "Ozo g. 1", "city": "Vilnius", "postal_code": "07150", "country": "LT"}


def _status(db: Database, order_id: str) -> str:
    with db.session() as session:
        return session.scalars(select(Order.status).where(Order.order_id == order_id)).one()


def test_yes_to_a_checkout_places_the_order_once(guarded: GuardedAgent) -> None:
    def shop(*after_yes: Step) -> TurnResult:
        agent, _ = guarded(
            "Added the sleeping bag.",
            call("prepare_checkout", email="ruta@example.com", shipping_address=ADDRESS),
            "Here is your order summary. Shall I place it?",
            *after_yes,
        )
        first = agent.turn(MERCHANT, None, "Please add the sleeping bag BAG-SYN-0 to my cart")
        agent.turn(MERCHANT, first.session_id, "I want to check out now, email ruta@example.com")
        return agent.turn(MERCHANT, first.session_id, "Yes, go ahead.")

    yes = shop("Thank you, your order is placed!")  # the model only words it
    placed = [c for c in yes.tool_calls if c.name == "place_order"]
    assert len(placed) == 1 and placed[0].error is None and yes.cart["lines"] == []
    assert placed[0].result["order_id"] in yes.reply  # the id is stated (key facts)

    again = shop(call("place_order"), "Thank you!")  # a small model places it again
    assert [c.name for c in again.tool_calls].count("place_order") == 1


def test_yes_to_a_cancellation_cancels_the_order(guarded: GuardedAgent, db: Database) -> None:
    agent, _ = guarded(
        call("cancel_order", order_id="A1002", email="mehmet@example.org"),
        "Cancel order A1002 (1 x Polar Synthetic Sleeping Bag 0C; total 89.00 EUR)? Please confirm.",
        "Your order A1002 is cancelled.",
    )
    first = agent.turn(MERCHANT, None, "Please cancel my order A1002. My email is mehmet@example.org")
    assert _status(db, "A1002") == "paid"
    yes = agent.turn(MERCHANT, first.session_id, "Yes, go ahead.")
    assert [c.name for c in yes.tool_calls] == ["cancel_order"] and _status(db, "A1002") == "cancelled"


def test_the_confirmed_call_is_rebuilt_from_what_the_shopper_saw() -> None:
    returned = Pending("action", 1, tool="return_items",
                       key='{"email": "ruta@example.com", "items": {"TENT-ALP2-GRN": 1}, "order_id": "A1001"}')  # fmt: skip
    assert confirmed_call(returned) == (
        "return_items",
        {
            "order_id": "A1001",
            "email": "ruta@example.com",
            "items": [{"sku": "TENT-ALP2-GRN", "quantity": 1}],
        },
    )
    assert confirmed_call(Pending("checkout", 1, checkout_id="c9")) == ("place_order", {"checkout_id": "c9"})
    assert confirmed_call(Pending("action", 1, tool="some_other_write", key="{}")) is None
    assert confirmed_call(Pending("action", 1, tool="cancel_order", key="not json")) is None


def _returned(db: Database, order_id: str) -> dict[str, int]:
    with db.session() as session:
        order = session.scalars(select(Order).where(Order.order_id == order_id)).one()
        return {line.sku: line.returned_quantity for line in order.lines if line.returned_quantity}


def test_a_cancellation_is_put_to_the_shopper_even_when_the_model_calls_nothing(
    guarded: GuardedAgent, db: Database
) -> None:
    agent, _ = guarded("To cancel, I need your order id and email.", "OK.")
    first = agent.turn(MERCHANT, None, "我想取消订单 A1002，邮箱是 mehmet@example.org。")
    asked = [c for c in first.tool_calls if c.name == "cancel_order"]
    assert len(asked) == 1 and asked[0].result["status"] == "needs_confirmation"
    assert _status(db, "A1002") == "paid"  # nothing changes before the yes
    agent.turn(MERCHANT, first.session_id, "是的，确认。")
    assert _status(db, "A1002") == "cancelled"


def test_a_return_of_one_named_item_asks_for_that_item_only(guarded: GuardedAgent, db: Database) -> None:
    agent, _ = guarded(
        call(
            "return_items",
            order_id="A1001",
            email="ruta@example.com",
            items=[{"sku": "TENT-ALP2-GRN", "quantity": 1}, {"sku": "FOOT-ALP2", "quantity": 1}],
        ),  # fmt: skip
        "Return the footprint for 39.00 EUR? Please confirm.",
        "Done.",
    )
    text = "I'd like to return the Nordvik Footprint from order A1001. My email is ruta@example.com."
    first = agent.turn(MERCHANT, None, text)
    asked = [c for c in first.tool_calls if c.name == "return_items"]
    assert len(asked) == 1 and asked[0].arguments["items"] == [{"sku": "FOOT-ALP2", "quantity": 1}]
    agent.turn(MERCHANT, first.session_id, "Yes, go ahead.")
    assert _returned(db, "A1001") == {"FOOT-ALP2": 1} and _status(db, "A1001") == "delivered"


def test_a_return_naming_no_line_asks_for_the_whole_order_and_an_unclear_one_for_nothing(
    guarded: GuardedAgent,
) -> None:
    agent, _ = guarded("Please confirm.")
    whole = agent.turn(MERCHANT, None, "I want to return order A1001, email ruta@example.com.")
    asked = [c for c in whole.tool_calls if c.name == "return_items"]
    assert len(asked) == 1 and "items" not in asked[0].arguments
    agent, _ = guarded("Which item would you like to return?")
    unclear = agent.turn(
        MERCHANT, None, "I want to return the Nordvik thing from order A1001, email ruta@example.com."
    )
    assert "return_items" not in [c.name for c in unclear.tool_calls]


def test_yes_to_being_remembered_runs_the_memory_tool_the_turn_did_not_offer(guarded: GuardedAgent) -> None:
    agent, _ = guarded(
        "Your order A1002 is paid.",
        call("remember_me", email="mehmet@example.org"),
        "Shall I remember you as mehmet@example.org?",
        "Done, I will remember you.",
    )
    first = agent.turn(MERCHANT, None, "Where is my order A1002? My email is mehmet@example.org")
    asked = agent.turn(MERCHANT, first.session_id, "Please remember me next time.")
    assert [c.result["status"] for c in asked.tool_calls if c.name == "remember_me"] == ["needs_confirmation"]
    yes = agent.turn(MERCHANT, first.session_id, "Yes")
    done = [c for c in yes.tool_calls if c.name == "remember_me"]
    assert len(done) == 1 and done[0].error is None and done[0].result.get("status") != "needs_confirmation"
