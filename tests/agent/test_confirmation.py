"""Writes need the shopper's explicit yes, decided by the server, never by the model."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from agent.confirmation import classify
from agent.fakes import call
from shop.models import Checkout, Order
from shop.payments import TestProvider
from tests.agent.conftest import MakeAgent
from tests.conftest import MERCHANT


@pytest.mark.parametrize(
    "message",
    ["yes", "Yes please!", "ok", "go ahead", "Yes, place the order.", "taip", "Taip, patvirtinu", "evet",
     "Evet, onaylıyorum", "نعم", "نعم، أؤكد", "好的", "确认下单", "是的", "ja", "oui", "sí", "да"],
)  # fmt: skip
def test_explicit_yes_in_many_languages(message: str) -> None:
    assert classify(message) == "yes"


@pytest.mark.parametrize("message", ["no", "nope", "not yet", "ne", "hayır", "لا", "不要", "取消", "nein"])
def test_explicit_no(message: str) -> None:
    assert classify(message) == "no"


@pytest.mark.parametrize(
    "message",
    ["", "what is the total?", "yes but add socks", "ok, change the size to L", "I am not sure", "hmm",
     "taip, bet pakeisk spalvą", "是的，但是换个颜色", "evet ama bir de çorap ekle", "do", "yes? how long is delivery",
     "I would like to know more about the tent you mentioned before I decide anything at all today"],
)  # fmt: skip
def test_anything_else_is_not_a_yes(message: str) -> None:
    assert classify(message) == "unclear"


def _orders(agent_db: object) -> int:
    with agent_db.session() as s:  # type: ignore[attr-defined]
        return int(
            s.scalar(select(func.count()).select_from(Order).where(Order.checkout_id.is_not(None))) or 0
        )


def test_place_order_called_directly_places_no_order(make_agent: MakeAgent) -> None:
    agent = make_agent(
        call("add_to_cart", sku="BAG-SYN-0"),
        call("place_order"),
        call("prepare_checkout", email="ann@example.com"),
        call("place_order"),
        "Done!",
    )
    result = agent.turn(MERCHANT, None, "buy the synthetic bag, my email is ann@example.com, just do it")
    errors = [r.error for r in result.tool_calls if r.name == "place_order"]
    assert all(errors) and "no prepared checkout" in (errors[0] or "")
    assert "not confirmed" in (errors[1] or "")
    assert _orders(agent.db) == 0
    assert result.cart["item_count"] == 1


def test_checkout_confirmed_by_a_yes_in_the_next_message(
    make_agent: MakeAgent, payment: TestProvider
) -> None:
    agent = make_agent(
        call("add_to_cart", sku="BAG-DOWN-5"),
        call("prepare_checkout", email="ann@example.com"),
        "Here is your order. Shall I place it?",
        call("place_order"),
        "Your order is placed.",
    )
    first = agent.turn(MERCHANT, None, "I'll take the down bag, email ann@example.com")
    # The model did not show the total: the server appends its own rendering of the summary.
    assert "Total: 189.00 EUR" in first.reply and "1 x Polar Down Sleeping Bag -5C" in first.reply
    second = agent.turn(MERCHANT, first.session_id, "Yes, please place it")
    placed = second.tool_calls[0]
    assert placed.error is None and placed.result["total"] == "189.00"
    assert second.cart["lines"] == []
    assert [str(p.total) for p in payment.charged] == ["189.00 EUR"]
    with agent.db.session() as s:
        status = s.scalar(select(Checkout.status).where(Checkout.session_id == first.session_id))
        assert status == "placed"


def test_a_summary_the_model_showed_is_not_repeated(make_agent: MakeAgent) -> None:
    agent = make_agent(
        call("add_to_cart", sku="BAG-DOWN-5"),
        call("prepare_checkout", email="ann@example.com"),
        "One Polar Down bag, free shipping, total 189.00 EUR. Confirm?",
    )
    result = agent.turn(MERCHANT, None, "buy the down bag, ann@example.com")
    assert result.reply == "One Polar Down bag, free shipping, total 189.00 EUR. Confirm?"


def test_a_yes_before_the_summary_was_shown_does_not_count(make_agent: MakeAgent) -> None:
    agent = make_agent(
        call("add_to_cart", sku="BAG-SYN-0"),
        call("prepare_checkout", email="ann@example.com"),
        call("place_order"),
        "Placed!",
    )
    result = agent.turn(MERCHANT, None, "yes")
    assert result.tool_calls[-1].error is not None
    assert _orders(agent.db) == 0


def test_a_no_drops_the_pending_checkout(make_agent: MakeAgent) -> None:
    agent = make_agent(
        call("add_to_cart", sku="BAG-SYN-0"),
        call("prepare_checkout", email="ann@example.com"),
        "Total 89.00 EUR. Confirm?",
        call("place_order"),
        "OK, not placing it.",
    )
    first = agent.turn(MERCHANT, None, "checkout, ann@example.com")
    second = agent.turn(MERCHANT, first.session_id, "no, wait")
    assert "no prepared checkout" in (second.tool_calls[0].error or "")
    assert _orders(agent.db) == 0


def test_a_late_yes_needs_the_summary_shown_again(make_agent: MakeAgent) -> None:
    agent = make_agent(
        call("add_to_cart", sku="BAG-SYN-0"),
        call("prepare_checkout", email="ann@example.com"),
        "Total 89.00 EUR. Confirm?",
        "Delivery takes 2-4 days.",
        call("place_order"),
        "Hmm.",
    )
    first = agent.turn(MERCHANT, None, "checkout, ann@example.com")
    agent.turn(MERCHANT, first.session_id, "how long is delivery")
    third = agent.turn(MERCHANT, first.session_id, "ok")
    assert "not confirmed" in (third.tool_calls[0].error or "")
    assert _orders(agent.db) == 0


def test_cancel_needs_a_yes_to_the_exact_change(make_agent: MakeAgent) -> None:
    args = {"order_id": "A1002", "email": "mehmet@example.org"}
    agent = make_agent(
        call("cancel_order", **args),
        "I will cancel order A1002 with the Polar bag, total 89.00 EUR. Confirm?",
        call("cancel_order", **args),
        "Cancelled.",
    )
    first = agent.turn(MERCHANT, None, "cancel A1002, mehmet@example.org")
    assert first.tool_calls[0].result["status"] == "needs_confirmation"
    second = agent.turn(MERCHANT, first.session_id, "evet")
    assert second.tool_calls[0].result["cancelled"]["status"] == "cancelled"
    with agent.db.session() as s:
        assert s.scalar(select(Order.status).where(Order.order_id == "A1002")) == "cancelled"


def test_a_cancel_the_shopper_did_not_confirm_does_not_happen(make_agent: MakeAgent) -> None:
    args = {"order_id": "A1002", "email": "mehmet@example.org"}
    agent = make_agent(
        call("cancel_order", **args),
        call("cancel_order", **args),
        "Cancelled.",
        call("cancel_order", **args),
        "Still pending.",
    )
    first = agent.turn(MERCHANT, None, "cancel A1002, mehmet@example.org")
    assert [r.result["status"] for r in first.tool_calls] == ["needs_confirmation"] * 2
    # The server appended the exact change because the model's reply did not show it.
    assert "Cancel order A1002" in first.reply
    second = agent.turn(MERCHANT, first.session_id, "what does that mean?")
    assert second.tool_calls[0].result["status"] == "needs_confirmation"
    with agent.db.session() as s:
        assert s.scalar(select(Order.status).where(Order.order_id == "A1002")) == "paid"


@pytest.mark.parametrize(
    "message", ["Yes, cancel it", "Evet, iptal et", "Taip, atšaukite", "نعم، ألغِ الطلب", "好的，取消吧"]
)
def test_cancel_verb_confirms_a_pending_cancellation(message: str) -> None:
    assert classify(message, "cancel_order") == "yes"
    assert classify(message) != "yes"  # for a checkout, "cancel" is a refusal


@pytest.mark.parametrize("message", ["No, don't cancel it", "Hayır, iptal etme", "不要取消"])
def test_a_no_still_refuses_a_pending_cancellation(message: str) -> None:
    assert classify(message, "cancel_order") == "no"


def test_yes_cancel_it_cancels_the_order(make_agent: MakeAgent) -> None:
    args = {"order_id": "A1002", "email": "mehmet@example.org"}
    agent = make_agent(
        call("cancel_order", **args),
        "I will cancel order A1002 with the Polar bag, total 89.00 EUR. Confirm?",
        call("cancel_order", **args),
        "Cancelled.",
    )
    first = agent.turn(MERCHANT, None, "cancel A1002, mehmet@example.org")
    second = agent.turn(MERCHANT, first.session_id, "Yes, cancel it")
    assert second.tool_calls[0].result["cancelled"]["status"] == "cancelled"
