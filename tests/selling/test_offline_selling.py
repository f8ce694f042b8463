"""The offline engine's selling requests, through the agent on the seeded store: it applies
only the code the shopper gave, lists promotions, makes offers inside the store's limit,
recommends and keeps the wishlist, in several languages."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agent.events import TurnResult
from agent.offline import OfflineModel
from agent.resilience import RetryPolicy
from agent.service import Agent
from shop.db import Database
from shop.payments import TestProvider
from shop.settings import Settings
from tests.conftest import MERCHANT
from tests.offline.conftest import GlossaryRetriever, offline_model  # noqa: F401  (fixture)

Chat = Callable[[str], TurnResult]


@pytest.fixture
def chat(settings: Settings, store: Database, offline_model: OfflineModel) -> Chat:  # noqa: F811
    agent = Agent(
        settings, store, GlossaryRetriever(store), offline_model, TestProvider(), retry=RetryPolicy(retries=0)
    )
    session: dict[str, str] = {}

    def send(message: str) -> TurnResult:
        result = agent.turn(MERCHANT, session.get("id"), message)
        session["id"] = result.session_id
        return result

    return send


def called(result: TurnResult) -> list[tuple[str, dict]]:
    return [(c.name, c.arguments) for c in result.tool_calls]


def test_the_shoppers_code_is_applied_and_quoted_from_the_store(chat: Chat) -> None:
    chat("Add the Kestrel Trail 3 Tent to my cart")
    result = chat("My coupon code is welcome10")
    assert ("apply_coupon", {"code": "welcome10"}) in called(result)
    assert "WELCOME10" in result.reply and "19.90" in result.reply
    assert result.cart["coupon_codes"] == ["WELCOME10"]
    refused = chat("I have another coupon code: OLD20")
    assert "not valid" in refused.reply or "isn't valid" in refused.reply
    assert refused.cart["coupon_codes"] == ["WELCOME10"]


def test_asking_for_discounts_never_applies_a_code(chat: Chat) -> None:
    result = chat("Do you have any discounts right now?")
    assert [name for name, _ in called(result)] == ["find_promotions"]
    assert "Sleep week" in result.reply and "WELCOME10" not in result.reply
    turkish = chat("Şu anda indirim var mı?")
    assert [name for name, _ in called(turkish)] == ["find_promotions"] and "%10" in turkish.reply


def test_an_offer_stays_inside_the_limit(chat: Chat) -> None:
    result = chat("Could you do a better price on the Kestrel Trail 3 Tent?")
    assert (
        "make_offer",
        {"sku": "TENT-TRAIL3", "percent": 10, "reason": result.tool_calls[-1].arguments["reason"]},
    ) in called(result)
    assert "179.10" in result.reply and "199.00" in result.reply
    greedy = chat("Could I get 30 percent off the Blaze Gas Stove?")
    offers = [args["percent"] for name, args in called(greedy) if name == "make_offer"]
    assert offers == [30, 5] and "42.75" in greedy.reply  # refused, then the store's 5 %


def test_recommend_from_the_order_history(chat: Chat) -> None:
    result = chat("What goes well with the Nordvik Alp 2 Trekking Tent (Forest Green)?")
    assert ("recommend", {"sku": "TENT-ALP2-GRN"}) in called(result)
    assert "Footprint" in result.reply


def test_wishlist_in_chinese_and_arabic(chat: Chat) -> None:
    saved = chat("把 Lumen 200 Head Lamp 加入我的心愿单")
    assert ("save_to_wishlist", {"sku": "LAMP-200"}) in called(saved) and "心愿单" in saved.reply
    shown = chat("看看我的心愿单")
    assert [name for name, _ in called(shown)] == ["view_wishlist"]
    assert "Lumen 200 Head Lamp" in shown.reply and "/v1/wishlists/" in shown.reply
    moved = chat("انقل Lumen 200 Head Lamp من قائمة الأمنيات إلى السلة")
    assert ("move_wishlist_to_cart", {"sku": "LAMP-200"}) in called(moved)
    assert moved.cart["lines"][0]["sku"] == "LAMP-200"
