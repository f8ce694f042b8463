"""Retrieval before the model decides, tool_choice, and the prompt budget, with guards on."""

from __future__ import annotations

from typing import Any

from agent import budget
from agent.fakes import call
from agent.service import Agent
from agent.turn_guard import CORE_TOOLS
from shop.db import Database
from shop.payments import TestProvider
from shop.settings import Settings
from tests.agent.conftest import no_sleep_policy
from tests.agent.test_openai_model import completion, tool_call
from tests.conftest import MERCHANT, KeywordRetriever
from tests.smallmodel.conftest import GuardedAgent, canned_openai_agent


def test_a_policy_question_gets_the_policy_before_the_model_is_asked(guarded: GuardedAgent) -> None:
    agent, model = guarded("You have 45 days from delivery.")
    result = agent.turn(MERCHANT, None, "How many days do I have to return an item?")
    first = model.sent[0].messages
    data = [m for m in first if m.role == "tool"]
    assert data and data[0].name == "search_policies" and "45 days" in data[0].content
    assert data[0].content.startswith("STORE DATA")
    assert [c.name for c in result.tool_calls] == ["search_policies"]
    assert {t.name for t in model.sent[0].tools} == set(CORE_TOOLS)
    assert max(result.prompt_tokens) <= agent.settings.prompt_token_budget


def test_a_product_question_gets_catalog_results_and_a_greeting_gets_nothing(guarded: GuardedAgent) -> None:
    agent, model = guarded("Hello! How can I help?", "The Blaze Gas Stove is 45.00 EUR.")
    greeting = agent.turn(MERCHANT, None, "Hello")
    assert greeting.tool_calls == [] and not [m for m in model.sent[0].messages if m.role == "tool"]
    found = agent.turn(MERCHANT, greeting.session_id, "Do you sell a gas stove for backpacking?")
    assert [c.name for c in found.tool_calls] == ["search_products"]
    assert "STOVE-GAS" in [m for m in model.sent[1].messages if m.role == "tool"][-1].content


def test_the_cart_and_an_order_are_read_before_the_model_answers(guarded: GuardedAgent) -> None:
    agent, model = guarded(
        "Your cart is empty.", "Your order A1003 has shipped.", "Sorry, I could not find it."
    )
    cart = agent.turn(MERCHANT, None, "What is in my cart?")
    assert [c.name for c in cart.tool_calls] == ["view_cart"]
    assert '"lines":[]' in [m for m in model.sent[0].messages if m.role == "tool"][-1].content
    order = agent.turn(MERCHANT, cart.session_id, "Where is my order A1003? My email is li@example.cn")
    assert [(c.name, c.arguments) for c in order.tool_calls] == [
        ("lookup_order", {"order_id": "A1003", "email": "li@example.cn"})
    ]
    assert "shipped" in [m for m in model.sent[1].messages if m.role == "tool"][-1].content
    wrong = agent.turn(MERCHANT, cart.session_id, "Where is my order A1002? My email is li@example.cn")
    assert wrong.tool_calls[0].error and "A1002" not in str(wrong.tool_calls[0].result)


def test_the_canary_and_language_follow_the_cached_system_prompt(guarded: GuardedAgent) -> None:
    agent, model = guarded("Labas! Kuo galiu padėti?")
    agent.turn(MERCHANT, None, "Labas, norėčiau pasiteirauti")
    system, preamble = model.sent[0].messages[:2]
    assert agent.canary not in system.content and "(Lithuanian now)" not in system.content
    assert "make_offer" not in system.content and "search_policies" in system.content
    assert preamble.role == "system" and agent.canary in preamble.content and "Lithuanian" in preamble.content


def test_guards_stay_off_for_test_doubles_unless_asked(
    settings: Settings, db: Database, retriever: KeywordRetriever
) -> None:
    from agent.fakes import ScriptedModel

    model = ScriptedModel(["You have 30 days."])
    agent = Agent(settings, db, retriever, model, TestProvider(), retry=no_sleep_policy(0))
    result = agent.turn(MERCHANT, None, "How many days do I have to return an item?")
    assert result.reply == "You have 30 days." and result.tool_calls == []


def test_tool_choice_is_sent_when_an_action_is_clearly_asked(
    settings: Settings, db: Database, retriever: KeywordRetriever
) -> None:
    answers = [
        completion("", [tool_call("add_to_cart", '{"sku": "BAG-SYN-0", "quantity": 1}')]),
        completion("Added the Polar synthetic bag."),
    ]
    agent, bodies = canned_openai_agent(settings, db, retriever, answers)
    result = agent.turn(MERCHANT, None, "Please add the Polar sleeping bag to my cart")
    assert bodies[0]["tool_choice"] == "required"
    assert "tool_choice" not in bodies[1]
    assert [c.name for c in result.tool_calls][-1] == "add_to_cart"
    assert result.reply.startswith("Added the Polar synthetic bag.") and "89.00" in result.reply  # key facts
    assert result.cart["lines"][0]["sku"] == "BAG-SYN-0"

    quiet, bodies = canned_openai_agent(
        settings.model_copy(update={"tool_choice": "auto"}),
        db,
        retriever,
        [completion("Your cart is empty.")],
    )
    quiet.turn(MERCHANT, None, "Please add the Polar sleeping bag to my cart")
    assert "tool_choice" not in bodies[0]


def test_auto_context_is_held_to_its_share_of_the_budget(guarded: GuardedAgent) -> None:
    agent, model = guarded("Here are some options.", "Here are some options.", prompt_token_budget=2400)
    result = agent.turn(MERCHANT, None, "Show me tents, sleeping bags, socks, lamps and stoves for camping")
    context = [m for m in model.sent[0].messages if m.role == "tool"]
    used = sum(budget.count_text(m.content) for m in context)
    assert used <= max(150, int((2400 - 1800) * 0.5)) + 50
    assert max(result.prompt_tokens) <= 2400


def test_a_shopper_who_asks_for_a_person_is_handed_over_whatever_the_model_does(
    guarded: GuardedAgent,
) -> None:
    agent, model = guarded("Of course, I can help you with tents!", "The Blaze Gas Stove is 45.00 EUR.")
    result = agent.turn(MERCHANT, None, "I want to talk to a real person, not a bot.")
    assert result.handoff and [c.name for c in result.tool_calls] == ["handoff_to_human"]
    assert result.tool_calls[0].arguments["reason"] == "I want to talk to a real person, not a bot."
    assert "requested" in [m for m in model.sent[0].messages if m.role == "tool"][-1].content
    assert not agent.turn(MERCHANT, None, "Do you sell gas stoves?").handoff


def test_a_budget_becomes_the_searchs_price_filter_but_a_quoted_price_does_not(guarded: GuardedAgent) -> None:
    agent, _ = guarded(*["Here are the tents I found."] * 3, *["The Blaze Gas Stove is 45.00 EUR."] * 3)
    budget_turn = agent.turn(MERCHANT, None, "I need a tent for two people, under 300 EUR")
    (search,) = [c for c in budget_turn.tool_calls if c.name == "search_products"]
    assert search.arguments["max_price"] == "300"
    quoted = agent.turn(
        MERCHANT, None, "The Blaze Gas Stove costs 1.00 EUR, right? How much is the gas stove?"
    )
    searches = [c for c in quoted.tool_calls if c.name == "search_products"]
    assert searches and all("max_price" not in c.arguments for c in searches)


def test_a_coupon_message_is_offered_the_coupon_tool_after_the_core_menu(guarded: GuardedAgent) -> None:
    agent, model = guarded("Which code?", "Your cart is empty.")
    agent.turn(MERCHANT, None, "I have a coupon code WELCOME10, please apply it")
    names = [t.name for t in model.sent[0].tools]
    assert names[: len(CORE_TOOLS)] == list(CORE_TOOLS) and "apply_coupon" in names[len(CORE_TOOLS) :]
    agent.turn(MERCHANT, None, "What is in my cart?")
    assert [t.name for t in model.sent[1].tools] == list(CORE_TOOLS)


def test_a_request_to_add_a_product_named_by_its_id_is_served_by_the_server(guarded: GuardedAgent) -> None:
    agent, model = guarded(
        call("add_to_cart", sku="BAG-SYN-0", quantity=1),
        "Added the Polar Synthetic Sleeping Bag 0C to your cart.",
    )
    result = agent.turn(MERCHANT, None, "Please add the Polar Synthetic Sleeping Bag (BAG-SYN-0) to my cart.")
    assert result.cart["lines"][0]["sku"] == "BAG-SYN-0" and result.cart["lines"][0]["quantity"] == 1
    assert [c.name for c in result.tool_calls].count("add_to_cart") == 1  # the model's repeat is not run
    assert model.sent[0].tools and "add_to_cart" in _contents(model.sent[0].messages)


def _contents(messages: list[Any]) -> str:
    return "\n".join(f"{m.name} {m.content}" for m in messages if m.role == "tool")


def test_a_feature_message_naming_a_product_gets_it_and_only_it(guarded: GuardedAgent) -> None:
    agent, model = guarded("It goes well with a pot.", "Your wishlist is empty.")
    named = agent.turn(MERCHANT, None, "What goes well with the Blaze Gas Stove?")
    assert [c.name for c in named.tool_calls] == ["search_products", "recommend"]
    assert named.tool_calls[1].arguments == {"sku": "STOVE-GAS"}  # what goes with it, asked by the server
    shown = [m for m in model.sent[0].messages if m.role == "tool"][0].content
    assert "STOVE-GAS" in shown and "TENT-" not in shown  # only products the message names
    plain = agent.turn(MERCHANT, named.session_id, "Show my wishlist.")
    assert plain.tool_calls == []  # no product named: no unrelated products in the prompt


def test_named_only_keeps_the_results_that_share_a_word_with_the_message() -> None:
    from agent.auto_context import _named_only
    from agent.toolkit import ToolOutcome

    found = ToolOutcome(
        {"results": [{"sku": "A", "title": "Blaze Gas Stove"}, {"sku": "B", "title": "Alp Tent"}]}
    )
    assert [r["sku"] for r in _named_only(found, "what goes with the gas stove?").result["results"]] == ["A"]
    assert _named_only(found, "show my wishlist").result["results"] == []


def test_an_add_naming_one_product_by_its_title_is_made_by_the_server(guarded: GuardedAgent) -> None:
    stray = call("add_to_cart", sku="LAMP-200", quantity=1)  # a small model adds something else too
    agent, _ = guarded(stray, "Added two Blaze Gas Stoves.")
    result = agent.turn(MERCHANT, None, "Please add 2 Blaze Gas Stove to my cart.")
    assert [c.name for c in result.tool_calls] == ["search_products", "add_to_cart"]
    assert [(x["sku"], x["quantity"]) for x in result.cart["lines"]] == [("STOVE-GAS", 2)]


def test_an_add_whose_words_fit_several_products_is_left_to_the_model(guarded: GuardedAgent) -> None:
    agent, _ = guarded("Which Polar sleeping bag would you like?")
    result = agent.turn(MERCHANT, None, "Please add the Polar sleeping bag to my cart.")
    assert "add_to_cart" not in [c.name for c in result.tool_calls] and result.cart["lines"] == []


def test_an_add_naming_two_products_by_title_adds_both(guarded: GuardedAgent) -> None:
    agent, _ = guarded(call("add_to_cart", sku="STOVE-GAS", quantity=1), "Added both.")
    result = agent.turn(
        MERCHANT, None, "Please add the Blaze Gas Stove and the Lumen 200 Head Lamp to my cart."
    )
    # both added by the server, once each: the model's second add of the stove changes nothing
    assert {line["sku"]: line["quantity"] for line in result.cart["lines"]} == {"STOVE-GAS": 1, "LAMP-200": 1}


def test_a_multi_add_in_arabic_is_cut_at_the_conjunction() -> None:
    from agent.offline.found import named_parts
    from agent.offline.languages import get_pack

    text = "Blaze Gas Stove و Lumen 200 Head Lamp"
    assert named_parts(text, get_pack("ar").conjunctions) == ["Blaze Gas Stove", "Lumen 200 Head Lamp"]
    assert named_parts("Blaze Gas Stove", get_pack("ar").conjunctions) == []


def test_a_multi_add_with_a_quantity_or_a_vague_part_is_not_guessed(guarded: GuardedAgent) -> None:
    agent, _ = guarded("How many of each would you like?")
    result = agent.turn(MERCHANT, None, "Please add two Blaze Gas Stove and Lumen 200 Head Lamp to my cart.")
    assert result.cart["lines"] == []
    agent, _ = guarded("Which sleeping bag?")
    vague = agent.turn(MERCHANT, None, "Please add the Blaze Gas Stove and a sleeping bag to my cart.")
    assert [line["sku"] for line in vague.cart["lines"]] == ["STOVE-GAS"]  # only the clear one


def test_a_wishlist_item_named_for_removal_is_removed_by_the_server(guarded: GuardedAgent) -> None:
    agent, _ = guarded(
        call("save_to_wishlist", sku="STOVE-GAS"),
        "Saved.",
        call("save_to_wishlist", sku="LAMP-200"),
        "Saved.",
        call("search_products", query="stove"),  # a small model searches instead of removing
        "Done.",
        "Which one?",
    )
    first = agent.turn(MERCHANT, None, "Please save the Blaze Gas Stove to my wishlist.")
    agent.turn(MERCHANT, first.session_id, "Also save the Lumen 200 Head Lamp on my wishlist.")
    removed = agent.turn(MERCHANT, first.session_id, "Remove the stove from my wishlist.")
    gone = [c for c in removed.tool_calls if c.name == "remove_from_wishlist"]
    assert len(gone) == 1 and gone[0].arguments == {"sku": "STOVE-GAS"}
    assert [x["sku"] for x in gone[0].result["wishlist"]] == ["LAMP-200"]
    unclear = agent.turn(MERCHANT, first.session_id, "Remove the tent from my wishlist.")
    assert "remove_from_wishlist" not in [c.name for c in unclear.tool_calls]  # never guessed


def test_a_recommendation_naming_no_product_is_asked_for_the_cart(guarded: GuardedAgent) -> None:
    agent, _ = guarded("Added.", "You could add a head lamp.")
    first = agent.turn(MERCHANT, None, "Please add STOVE-GAS to my cart")
    asked = agent.turn(MERCHANT, first.session_id, "What else should I buy to go with my cart?")
    recommended = [c for c in asked.tool_calls if c.name == "recommend"]
    assert len(recommended) == 1 and recommended[0].arguments == {} and recommended[0].error is None


def test_a_question_about_discounts_gets_the_stores_promotions(guarded: GuardedAgent) -> None:
    agent, _ = guarded("We have a few offers.")
    asked = agent.turn(MERCHANT, None, "Are there any discounts or promotions right now?")
    assert [c.name for c in asked.tool_calls][-1:] == ["find_promotions"]
    assert asked.tool_calls[-1].error is None


def test_a_coupon_code_the_shopper_gives_is_tried_by_the_server(guarded: GuardedAgent) -> None:
    agent, _ = guarded("Yes, you can still use it!")  # what the 1.5B model said of an expired code
    asked = agent.turn(MERCHANT, None, "Can I still use the coupon code SUMMER15?")
    tried = [c for c in asked.tool_calls if c.name == "apply_coupon"]
    assert len(tried) == 1 and tried[0].arguments == {"code": "SUMMER15"} and tried[0].error is not None
    assert "isn't valid" in asked.reply  # the store's answer, appended as a key fact
    agent, _ = guarded("Which code do you have?")
    vague = agent.turn(MERCHANT, None, "Do you have any coupon codes?")
    assert "apply_coupon" not in [c.name for c in vague.tool_calls]


def test_a_sold_out_named_product_is_not_swapped_for_another_by_the_model(guarded: GuardedAgent) -> None:
    agent, _ = guarded(call("add_to_cart", sku="TENT-TRAIL3", quantity=1), "It is sold out, sorry.")
    result = agent.turn(MERCHANT, None, "Please add the Skyline UL1 Ultralight Tent to my cart.")
    server = [c for c in result.tool_calls if c.name == "add_to_cart"]
    assert len(server) == 1 and server[0].arguments["sku"] == "TENT-UL1" and server[0].error is not None
    assert result.cart["lines"] == []  # the Kestrel tent the model reached for was not added


def test_an_offer_request_naming_a_product_gets_the_stores_offer(guarded: GuardedAgent, db: Database) -> None:
    from tests.selling.conftest import seed_selling

    seed_selling(db)  # offer limits: the gas stove up to 5 %, tents up to 10 %
    agent, _ = guarded("Here is the stove.", "Let me see.")
    over = agent.turn(MERCHANT, None, "Could I get 20 percent off the Blaze Gas Stove?")
    made = [c for c in over.tool_calls if c.name == "make_offer"]
    assert (
        len(made) == 1 and made[0].arguments == {"sku": "STOVE-GAS", "percent": 5} and made[0].error is None
    )
    assert "42.75" in over.reply  # the price with the offer, appended as a key fact
    plain = agent.turn(MERCHANT, None, "Could you do a better price on the Kestrel Trail 3 Tent?")
    assert [c.arguments for c in plain.tool_calls if c.name == "make_offer"] == [
        {"sku": "TENT-TRAIL3", "percent": 10}
    ]


def test_a_whole_title_in_the_message_picks_that_product_over_a_longer_one() -> None:
    from agent.offline.refs import titled

    stove = {"sku": "S", "title": "Emberfield Mini Canister Stove"}
    piezo = {"sku": "P", "title": "Emberfield Mini Canister Stove Piezo"}
    assert titled("Emberfield Mini Canister Stove ile birlikte neler almalıyım?", [piezo, stove]) == stove
    assert titled("the emberfield mini canister stove piezo, please", [stove, piezo]) == piezo
    assert titled("a canister stove", [stove, piezo]) is None


def test_a_product_named_for_the_wishlist_is_saved_by_the_server(guarded: GuardedAgent) -> None:
    agent, _ = guarded("Here is the lamp.", "Here it is.")
    saved = agent.turn(MERCHANT, None, "Please save the Lumen 200 Head Lamp on my wishlist.")
    done = [c for c in saved.tool_calls if c.name == "save_to_wishlist"]
    assert len(done) == 1 and done[0].arguments == {"sku": "LAMP-200"} and done[0].error is None
    shown = agent.turn(MERCHANT, saved.session_id, "Show my wishlist.")
    assert "save_to_wishlist" not in [c.name for c in shown.tool_calls]
