"""Each check passes on a turn built to satisfy it and fails, with a reason, on one built not to."""

from __future__ import annotations

from typing import Any

import pytest

from evals.checks import (
    check_any_tools,
    check_args,
    check_final,
    check_handoff,
    check_no_tools,
    check_reply_matches,
    check_reply_not_matches,
    check_tools,
    evaluate,
    matches,
)
from evals.grounding import Catalog
from evals.records import FinalState, ToolCallLog, TurnLog
from evals.schema import Dialogue, Final

CATALOG = Catalog(
    titles={
        "TENT-ALP2-GRN": "Nordvik Alp 2 Trekking Tent (Forest Green)",
        "TENT-FJELL3": "Nordvik Fjell 3 Expedition Tent",
        "HY-FILTER-SQ": "Lakeline Squeeze Water Filter",
    },
    parents={"TENT-ALP2-GRN": "TENT-ALP2"},
)


def turn(reply: str = "", *calls: ToolCallLog, user: str = "hi", handoff: bool = False) -> TurnLog:
    return TurnLog(user=user, reply=reply, tool_calls=list(calls), handoff=handoff)


def call(name: str, result: Any = None, error: str | None = None, **arguments: Any) -> ToolCallLog:
    return ToolCallLog(name, arguments, result if result is not None else {}, error)


def dialogue(**data: Any) -> Dialogue:
    return Dialogue.model_validate({"id": "d", **data})


def test_tools() -> None:
    t = turn("ok", call("search_policies", query="returns"))
    assert check_tools(t, ["search_policies"], 0).passed
    failed = check_tools(t, ["search_policies", "lookup_order"], 0)
    assert not failed.passed and "lookup_order" in failed.reason and "search_policies" in failed.reason


def test_no_tools() -> None:
    t = turn("ok", call("place_order"))
    assert check_no_tools(t, ["cancel_order"], 0).passed
    failed = check_no_tools(t, ["place_order", "cancel_order"], 0)
    assert not failed.passed and failed.reason == "called place_order"


def test_any_tools() -> None:
    t = turn("ok", call("get_product", sku="X"))
    assert check_any_tools(t, ["search_products", "get_product"], 0).passed
    assert not check_any_tools(t, ["search_products", "compare_products"], 0).passed


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ({"max_price": 50}, {"query": "tent", "max_price": "50.00"}),
        ({"max_price": "50"}, {"max_price": 50.0}),
        ({"max_price": 49.999}, {"max_price": 50}),
        ({"sku": "hy-filter-sq"}, {"sku": "HY-FILTER-SQ", "quantity": 2}),
        ({"items": [{"sku": "A"}]}, {"items": [{"sku": "B", "quantity": 1}, {"sku": "A", "quantity": 2}]}),
        ({"address": {"city": "Vilnius"}}, {"address": {"city": "vilnius", "line1": "x"}}),
        ({"in_stock_only": True}, {"in_stock_only": True}),
    ],
)
def test_args_match(expected: dict[str, Any], actual: dict[str, Any]) -> None:
    assert matches(expected, actual)
    t = turn("ok", call("search_products", query="other"), ToolCallLog("search_products", actual))
    assert check_args(t, {"search_products": expected}, 0).passed


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ({"max_price": 50}, {"max_price": 55}),
        ({"max_price": 50}, {"query": "tent under 50"}),
        ({"max_price": "50"}, {"max_price": "fifty"}),
        ({"sku": "A"}, {"sku": "AB"}),
        ({"items": [{"sku": "A"}]}, {"items": [{"sku": "B"}]}),
        ({"in_stock_only": True}, {"in_stock_only": 1}),
    ],
)
def test_args_mismatch(expected: dict[str, Any], actual: dict[str, Any]) -> None:
    assert not matches(expected, actual)
    failed = check_args(turn("ok", ToolCallLog("search_products", actual)), {"search_products": expected}, 0)
    assert not failed.passed and "no search_products call has arguments" in failed.reason


def test_args_tool_not_called() -> None:
    failed = check_args(turn("ok"), {"add_to_cart": {"sku": "A"}}, 0)
    assert not failed.passed and "add_to_cart was not called" in failed.reason


def test_reply_matches_and_not_matches_are_case_insensitive() -> None:
    t = turn("You have 45 DAYS to return it.")
    assert check_reply_matches(t, [r"\b45\b", "days"], 0).passed
    failed = check_reply_matches(t, [r"\b30\b"], 0)
    assert not failed.passed and r"\b30\b" in failed.reason
    assert check_reply_not_matches(t, ["100 days"], 0).passed
    assert not check_reply_not_matches(t, ["45 days"], 0).passed


def test_handoff_by_flag_or_by_tool() -> None:
    assert check_handoff(turn("I'll get a colleague", handoff=True), True, 0).passed
    assert check_handoff(turn("ok", call("handoff_to_human", reason="asked")), True, 0).passed
    assert not check_handoff(turn("ok", call("handoff_to_human", error="failed")), True, 0).passed
    assert not check_handoff(turn("I can help"), True, 0).passed
    assert check_handoff(turn("I can help"), False, 0).passed
    assert not check_handoff(turn("a colleague", handoff=True), False, 0).passed


def test_final_cart_orders_and_status() -> None:
    final = Final(cart={"A": 2}, orders_placed=1, order_status={"A1001": "cancelled", "A1002": "paid"})
    state = FinalState(cart={"A": 2}, orders_placed=1, order_status={"A1001": "Cancelled", "A1002": "paid"})
    assert all(r.passed for r in check_final(final, state))
    bad = FinalState(cart={"A": 1, "B": 1}, orders_placed=0, order_status={"A1001": "paid", "A1002": None})
    results = {(r.check, r.passed, r.reason) for r in check_final(final, bad)}
    assert ("final.cart", False, "cart is {'A': 1, 'B': 1}, expected {'A': 2}") in results
    assert ("final.orders_placed", False, "0 orders placed, expected 1") in results
    assert ("final.order_status", False, "order A1001 is paid, expected cancelled") in results
    assert ("final.order_status", False, "order A1002 does not exist") in results
    assert check_final(Final(cart={}), FinalState(cart={}))[0].passed
    assert not check_final(Final(cart={}), FinalState(cart={"A": 1}))[0].passed


def _failed(d: Dialogue, turns: list[TurnLog], state: FinalState | None = None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for result in evaluate(d, turns, state, CATALOG):
        if not result.passed:
            out.setdefault(result.check, []).append(result.reason)
    return out


SEARCH = {
    "results": [
        {"sku": "TENT-ALP2-GRN", "title": "Nordvik Alp 2 Trekking Tent (Forest Green)", "price": "249.00"}
    ]
}


def test_grounded_reply_passes() -> None:
    d = dialogue(turns=[{"user": "tent under 300 EUR?"}, {"user": "and in Lithuanian?"}])
    turns = [
        turn(
            "The Nordvik Alp 2 Trekking Tent (TENT-ALP2-GRN) costs €249.00 - within your 300 EUR.",
            call("search_products", SEARCH, query="tent"),
            user="tent under 300 EUR?",
        ),
        turn(
            "Nordvik Alp 2 Trekking Tent kainuoja 249,00 €; du kainuotų 498,00 €.", user="and in Lithuanian?"
        ),
    ]
    assert _failed(d, turns) == {}


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("The Alp 2 costs 199.00 EUR.", "price '199.00 EUR'"),
        ("It is yours for €19,99.", "price '€19,99'"),
        ("Nur 12.50 heute.", "price '12.50'"),
        ("Try the Nordvik Fjell 3 Expedition Tent.", "product 'Nordvik Fjell 3 Expedition Tent'"),
        ("Item TENT-FJELL3 fits.", "product 'TENT-FJELL3'"),
        ("Our MAGIC-TENT-9 is perfect.", "product id 'MAGIC-TENT-9'"),
        ("٢٠٠٫٠٠ €", "price '200.00 €'"),
    ],
)
def test_invented_prices_and_products_fail_grounding(reply: str, problem: str) -> None:
    d = dialogue(turns=[{"user": "tent?"}])
    failures = _failed(d, [turn(reply, call("search_products", SEARCH, query="tent"), user="tent?")])
    assert list(failures) == ["grounding"]
    assert problem in failures["grounding"][0]


def test_tool_errors_count_as_evidence() -> None:
    d = dialogue(turns=[{"user": "add the fjell 3"}])
    refused = call(
        "add_to_cart",
        None,
        "Nordvik Fjell 3 Expedition Tent (TENT-FJELL3) is out of stock",
        sku="TENT-FJELL3",
    )
    assert _failed(d, [turn("Sorry, the Nordvik Fjell 3 Expedition Tent is sold out.", refused)]) == {}


def test_grounding_needs_the_result_before_the_reply() -> None:
    d = dialogue(turns=[{"user": "a"}, {"user": "b"}])
    turns = [turn("It costs 249.00 EUR."), turn("ok", call("search_products", SEARCH, query="tent"))]
    failures = _failed(d, turns)
    assert list(failures) == ["grounding"] and len(failures["grounding"]) == 1


def test_lang_passes_every_reply_in_the_language() -> None:
    d = dialogue(lang="lt", turns=[{"user": "a"}, {"user": "b"}])
    turns = [
        turn("Grąžinti prekę galite per 45 dienas nuo pristatymo dienos."),
        turn("Taip"),  # too short to judge: accepted
    ]
    assert _failed(d, turns) == {}


def test_lang_fails_a_reply_in_another_language() -> None:
    d = dialogue(lang="lt", turns=[{"user": "a"}, {"user": "b"}])
    turns = [
        turn("Grąžinti prekę galite per 45 dienas nuo pristatymo dienos."),
        turn("You can return the item within 45 days of delivery, free of charge."),
    ]
    failures = _failed(d, turns)
    assert list(failures) == ["lang"] and failures["lang"][0].startswith("turn 2: expected lt")


@pytest.mark.parametrize(
    ("lang", "reply", "ok"),
    [
        ("zh", "Nordvik Alp 2 Trekking Tent（TENT-ALP2-GRN）249.00 EUR 已加入购物车。", True),
        ("zh", "The tent has been added to your cart.", False),
        ("ar", "لديك 45 يومًا من يوم التسليم لإرجاع المنتج.", True),
        ("ar", "You have 45 days from delivery to return the product.", False),
        ("tr", "İade süresi teslimattan itibaren 45 gündür.", True),
        ("tr", "Return window is 45 days from the delivery date.", False),
        ("en", "Užsakymas pristatytas, siuntos numeris yra nurodytas žemiau.", False),
        ("en", "Order A1001 was delivered by Omniva, tracking CE482913305EE.", True),
    ],
)
def test_reply_lang_per_turn(lang: str, reply: str, ok: bool) -> None:
    d = dialogue(turns=[{"user": "x", "expect": {"reply_lang": lang}}])
    failures = _failed(d, [turn(reply, call("search_products", SEARCH, query="x"))])
    assert ("reply_lang" not in failures) is ok


def test_turn_errors_and_unfinished_dialogues_fail() -> None:
    d = dialogue(turns=[{"user": "a"}, {"user": "b"}], final={"orders_placed": 0})
    broken = TurnLog(user="a", error="RuntimeError: boom")
    failures = _failed(d, [broken], None)
    assert failures["error"] == ["RuntimeError: boom"]
    assert failures["completed"] == ["stopped after 1 of 2 turns"]
    assert failures["final"] == ["the store could not be read after the dialogue"]
