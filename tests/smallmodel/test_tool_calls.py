"""Repairs of a weak model's tool calls: JSON in the text, wrong types, near-miss ids, repeats."""

from __future__ import annotations

from agent import call_repair
from agent.call_repair import known_products, match_sku, repair, tool_name
from agent.fakes import call, reply
from agent.llm import Message, ToolCall
from agent.text_tool_calls import calls_in_text
from agent.tools import TOOLS_BY_NAME
from tests.conftest import MERCHANT, KeywordRetriever
from tests.smallmodel.conftest import GuardedAgent

NAMES = list(TOOLS_BY_NAME)


def _tool_messages(sent: list[Message]) -> list[str]:
    return [m.content for m in sent if m.role == "tool"]


def test_a_fenced_json_call_in_the_text_is_run(guarded: GuardedAgent) -> None:
    fenced = 'Sure, one moment.\n```json\n{"name": "add_to_cart", "arguments": {"sku": "STOVE-GAS"}}\n```'
    agent, model = guarded(reply(fenced), "Added the Blaze Gas Stove.")
    result = agent.turn(MERCHANT, None, "Please add it to my cart")  # the model must say which
    assert [c.name for c in result.tool_calls][-1] == "add_to_cart"
    assert (
        result.reply.startswith("Added the Blaze Gas Stove.")
        and result.cart["lines"][0]["sku"] == "STOVE-GAS"
    )
    assert '"lines"' in _tool_messages(model.sent[1].messages)[-1]


def test_a_bare_json_call_after_prose_is_run(guarded: GuardedAgent) -> None:
    bare = 'Let me look that up. {"name": "get_product", "arguments": {"sku": "LAMP-200",}}'
    agent, model = guarded(reply(bare), "The Lumen 200 Head Lamp costs 34.50 EUR.")
    result = agent.turn(MERCHANT, None, "Tell me about the head lamp LAMP-200")
    assert [c.name for c in result.tool_calls if c.name == "get_product"] == ["get_product"]
    assert "34.50" in result.reply


def test_text_calls_in_other_shapes() -> None:
    shapes = [
        "{'search_products': {'query': 'tent'}}",
        '<tool_call>{"name": "search_products", "arguments": "{\\"query\\": \\"tent\\"}"}</tool_call>',
        '{"tool": "search_products", "parameters": {"query": "tent"}}',
        '[{"function": {"name": "search_products", "arguments": {"query": "tent"}}}]',
    ]
    for text in shapes:
        calls = calls_in_text(text, NAMES)
        assert [(c.name, c.arguments) for c in calls] == [("search_products", {"query": "tent"})], text
    assert calls_in_text('The set is {"size": "M"} and nothing else.', NAMES) == []
    assert calls_in_text('{"name": "format_disk", "arguments": {}}', NAMES) == []


def test_wrong_argument_types_are_repaired_and_the_model_told(guarded: GuardedAgent) -> None:
    wrong = ToolCall("c1", "add_to_cart", {"product_id": "BAG-SYN-0", "quantity": "2"})
    agent, model = guarded(wrong, "Added two sleeping bags.")
    result = agent.turn(
        MERCHANT, None, "Put 2 of the Polar sleeping bags in my cart"
    )  # two fit: the model picks
    assert result.cart["lines"][0]["sku"] == "BAG-SYN-0"
    assert result.cart["lines"][0]["quantity"] == 2
    added = [c for c in result.tool_calls if c.name == "add_to_cart"]
    assert added[0].arguments == {"sku": "BAG-SYN-0", "quantity": 2} and added[0].error is None
    told = _tool_messages(model.sent[1].messages)[-1]
    assert "'product_id' was read as 'sku'" in told and "quantity '2' was read as 2" in told


def test_schema_coercions() -> None:
    spec = TOOLS_BY_NAME["search_products"].spec.parameters
    fixed = repair(
        ToolCall(
            "c", "search_products", {"q": "tent", "max_price": 200, "in_stock_only": "yes", "limit": 3.0}
        ),
        spec,
        {},
    )
    assert fixed.arguments == {"query": "tent", "max_price": "200", "in_stock_only": True, "limit": 3}
    wrapped = repair(ToolCall("c", "search_products", {"properties": {"query": "bag"}}), spec, {})
    assert wrapped.arguments == {"query": "bag"}
    compare = TOOLS_BY_NAME["compare_products"].spec.parameters
    listed = repair(ToolCall("c", "compare_products", {"skus": "BAG-SYN-0, BAG-DOWN-5"}), compare, {})
    assert listed.arguments == {"skus": ["BAG-SYN-0", "BAG-DOWN-5"]}
    promotions = TOOLS_BY_NAME["find_promotions"].spec.parameters
    assert (
        repair(ToolCall("c", "find_promotions", {"sku": " "}), promotions, {}).arguments == {}
    )  # no product
    required = repair(
        ToolCall("c", "get_product", {"sku": ""}), TOOLS_BY_NAME["get_product"].spec.parameters, {}
    )
    assert required.arguments == {"sku": ""}  # a required id stays for the tool to refuse
    assert tool_name("search_product", NAMES) == "search_products"
    assert tool_name("delete_everything", NAMES) is None


def test_near_miss_ids_are_matched_against_the_last_results(guarded: GuardedAgent) -> None:
    agent, model = guarded(
        call("search_products", query="sleeping bag"),
        call("add_to_cart", sku="BAG-SYN0", quantity=1),
        call("add_to_cart", sku="Polar Down Sleeping Bag", quantity=1),
        "Both bags are in your cart.",
    )
    result = agent.turn(MERCHANT, None, "I need two sleeping bags, the synthetic and the down one")
    assert sorted(line["sku"] for line in result.cart["lines"]) == ["BAG-DOWN-5", "BAG-SYN-0"]
    told = _tool_messages(model.sent[-1].messages)
    assert any("'BAG-SYN0' is not a product id; used 'BAG-SYN-0'" in t for t in told)
    assert any("used 'BAG-DOWN-5'" in t for t in told)


def test_ids_far_from_any_result_are_left_for_the_tool_to_refuse() -> None:
    known = {"BAG-SYN-0": "Polar Synthetic Sleeping Bag 0C", "LAMP-200": "Lumen 200 Head Lamp"}
    assert match_sku("bag-syn-0", known) == "BAG-SYN-0"
    assert match_sku("STOVE-XL", known) is None
    assert match_sku("kayak", known) is None
    history = [Message("tool", 'STORE DATA (x):\n{"results":[{"sku":"A-1","title":"T"}]}')]
    assert known_products(history) == {}  # not our data label: nothing is trusted


def test_a_repeated_call_answers_from_the_previous_result(
    guarded: GuardedAgent, retriever: KeywordRetriever
) -> None:
    search = {"query": "gas stove"}
    agent, model = guarded(
        call("search_products", **search),
        call("search_products", **search),
        "The Blaze Gas Stove costs 45.00 EUR.",
    )
    result = agent.turn(MERCHANT, None, "hello, stove?")
    ran = [q for q in retriever.queries if q[:2] == ("products", "gas stove")]
    assert len(ran) == 1
    assert [c.arguments for c in result.tool_calls].count(search) == 1
    repeated = _tool_messages(model.sent[2].messages)[-1]
    assert "Blaze Gas Stove" in repeated and "Do not call it again" in repeated
    assert model.sent[2].tools == []  # asked to answer, with no tools to call
    assert result.reply == "The Blaze Gas Stove costs 45.00 EUR."


def test_a_repeated_write_is_never_applied_twice(guarded: GuardedAgent) -> None:
    add = {"sku": "STOVE-GAS", "quantity": 1}
    agent, _ = guarded(call("add_to_cart", **add), call("add_to_cart", **add), "Added the stove.")
    result = agent.turn(MERCHANT, None, "Add the Blaze Gas Stove STOVE-GAS")
    assert result.cart["lines"][0]["quantity"] == 1


def test_a_refused_write_is_answered_not_worked_around(guarded: GuardedAgent) -> None:
    agent, model = guarded(
        call("add_to_cart", sku="TENT-UL1", quantity=1),
        call("add_to_cart", sku="TENT-TRAIL3", quantity=1),
        "Sorry, the Skyline UL1 Ultralight Tent is sold out.",
    )
    result = agent.turn(MERCHANT, None, "Add the Skyline UL1 Ultralight Tent to my cart")
    assert model.sent[1].tools == []  # after the store's refusal the model may only answer
    assert result.cart["lines"] == []
    assert "sold out" in result.reply


def test_a_write_the_message_did_not_ask_for_is_not_run(guarded: GuardedAgent) -> None:
    agent, model = guarded(
        call("add_to_cart", sku="STOVE-GAS", quantity=1),
        "Your cart is empty.",
        call("prepare_checkout"),
        "It's sunny, I hope.",
    )
    result = agent.turn(MERCHANT, None, "What is in my cart?")
    assert result.cart["lines"] == [] and [c.name for c in result.tool_calls] == ["view_cart"]
    assert "did not ask for add_to_cart" in _tool_messages(model.sent[1].messages)[-1]
    assert model.sent[1].tools == []  # told to answer instead
    assert result.reply == "Your cart is empty."
    talk = agent.turn(MERCHANT, result.session_id, "What's the weather like in Paris today?")
    assert talk.tool_calls == [] and talk.reply == "It's sunny, I hope."
    assert "did not ask for prepare_checkout" in _tool_messages(model.sent[3].messages)[-1]


def test_a_write_the_message_asks_for_runs(guarded: GuardedAgent) -> None:
    agent, _ = guarded(call("add_to_cart", sku="STOVE-GAS", quantity=2), "Added two stoves.")
    result = agent.turn(MERCHANT, None, "Please add two Blaze Gas Stoves to my cart")
    assert [c.name for c in result.tool_calls][-1] == "add_to_cart"
    assert result.cart["lines"][0]["quantity"] == 2


def test_writes_allowed_by_intent_in_several_languages() -> None:
    from agent import auto_context
    from agent.state import ConversationState, Pending

    classifier = auto_context.classifier_for(None, None)  # keywords only, as without an embedder

    def writes(text: str, lang: str) -> frozenset[str] | None:
        return auto_context.plan(text, lang, ConversationState(lang=lang), classifier).writes

    assert writes("What is in my cart?", "en") == frozenset()
    assert writes("Sepetimde ne var?", "tr") == frozenset()
    assert writes("How many days do I have to return an item?", "en") == frozenset()
    adding = {"add_to_cart", "update_cart", "prepare_checkout"}
    assert writes("Add the gas stove to my cart", "en") == adding
    assert writes("Įdėkite dujinę viryklę į krepšelį", "lt") == adding
    assert writes("I want to check out now", "en") == {
        "prepare_checkout",
        "update_cart",
    }  # placed after a yes
    waiting = ConversationState(lang="en", pending=Pending("checkout", turn=1, checkout_id="c1"))
    plan = auto_context.plan("I want to check out now", "en", waiting, classifier)
    assert plan.writes == {"prepare_checkout", "place_order", "update_cart"}
    waiting.pending.confirmed = True  # type: ignore[union-attr]
    assert auto_context.plan("yes", "en", waiting, classifier).writes is None
    assert writes("What goes well with the Blaze Gas Stove?", "en") == frozenset()
    assert writes("أريد إلغاء طلبي", "ar") == {"cancel_order"}
    assert writes("我想退货", "zh") == {"return_items"}


def test_repeating_a_call_the_server_made_before_the_model_returns_its_result(guarded: GuardedAgent) -> None:
    agent, model = guarded(call("view_cart"), "Your cart is empty.")
    result = agent.turn(MERCHANT, None, "What is in my cart?")
    assert [c.name for c in result.tool_calls] == ["view_cart"]  # the server's read, not run twice
    assert "already made this call" in _tool_messages(model.sent[1].messages)[-1]
    assert model.sent[1].tools == [] and result.reply == "Your cart is empty."


def test_an_email_the_shopper_did_not_write_is_replaced_by_theirs(guarded: GuardedAgent) -> None:
    spec = TOOLS_BY_NAME["lookup_order"].spec.parameters
    history = [
        Message("user", "Order A1003 please, I am Li.Wei@Example.cn"),
        Message("user", "or li@example.cn"),
    ]
    emails = call_repair.shopper_emails(history)
    assert emails == ["li.wei@example.cn", "li@example.cn"]
    invented = repair(
        ToolCall("c1", "lookup_order", {"order_id": "A1003", "email": "customer@example.com"}),
        spec,
        {},
        emails,
    )
    assert invented.arguments["email"] == "li@example.cn" and "not one the shopper wrote" in invented.notes[0]
    typo = repair(
        ToolCall("c2", "lookup_order", {"order_id": "A1003", "email": "li.wei@exmple.cn"}), spec, {}, emails
    )
    assert typo.arguments["email"] == "li.wei@example.cn"
    missing = repair(ToolCall("c3", "lookup_order", {"order_id": "A1003"}), spec, {}, emails)
    assert missing.arguments["email"] == "li@example.cn"
    same = repair(
        ToolCall("c4", "lookup_order", {"order_id": "A1003", "email": "LI@example.cn"}), spec, {}, emails
    )
    assert same.arguments["email"] == "LI@example.cn" and same.notes == []
    alone = repair(ToolCall("c5", "lookup_order", {"order_id": "A1003", "email": "x@y.com"}), spec, {}, [])
    assert alone.arguments["email"] == "x@y.com"  # nothing to go by: the tool answers

    agent, model = guarded(
        call("lookup_order", order_id="A1003", email="li@example.com"), "Your order A1003 has shipped."
    )
    result = agent.turn(MERCHANT, None, "Is my order A1003 on its way? Email: li@example.cn, thanks")
    looked = [c for c in result.tool_calls if c.name == "lookup_order"]
    assert looked and looked[-1].error is None and looked[-1].arguments["email"] == "li@example.cn"


def test_a_checkout_is_prepared_on_one_message_and_placed_only_after_a_yes(guarded: GuardedAgent) -> None:
    agent, model = guarded(
        call("add_to_cart", sku="STOVE-GAS", quantity=1),
        "Added.",
        call("prepare_checkout", email="ruta@example.com"),
        call("place_order"),
        "Please confirm the order summary above.",
    )
    first = agent.turn(MERCHANT, None, "Please add the Blaze Gas Stove STOVE-GAS to my cart")
    result = agent.turn(MERCHANT, first.session_id, "I want to check out now, my email is ruta@example.com")
    assert [c.name for c in result.tool_calls] == ["prepare_checkout"]
    assert "did not ask for place_order" in _tool_messages(model.sent[-1].messages)[-1]


def test_a_cart_line_is_changed_once_per_turn(guarded: GuardedAgent) -> None:
    agent, model = guarded(
        call("add_to_cart", sku="BAG-SYN-0", quantity=1),
        call("update_cart", sku="BAG-SYN-0", quantity=2),  # a small model keeps raising it
        "Added one Polar synthetic bag.",
        call("add_to_cart", sku="BAG-SYN-0", quantity=1),
        call("add_to_cart", sku="STOVE-GAS", quantity=1),
        "Added both.",
    )
    one = agent.turn(MERCHANT, None, "Please add one Polar sleeping bag to my cart.")
    assert [(x["sku"], x["quantity"]) for x in one.cart["lines"]] == [("BAG-SYN-0", 1)]
    assert [c.name for c in one.tool_calls] == ["search_products", "add_to_cart"]
    assert "already put in the cart or changed in this turn" in _tool_messages(model.sent[2].messages)[-1]
    two = agent.turn(MERCHANT, one.session_id, "Add one more of those bags and a gas stove, please.")
    assert {x["sku"]: x["quantity"] for x in two.cart["lines"]} == {"BAG-SYN-0": 2, "STOVE-GAS": 1}
