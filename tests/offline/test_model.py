"""The engine as a ChatModel: a pure function of the messages, and the contracts it reads."""

from __future__ import annotations

import json

from agent.llm import Message, Reply, ToolCall, get_model
from agent.offline import OfflineModel
from agent.offline.history import ACTION_CONFIRMED, CHECKOUT_CONFIRMED, Conversation
from agent.prompting import system_message
from agent.state import ConversationState, Pending
from agent.toolkit import DATA_LABEL
from agent.tools import TOOLS
from shop.models import Merchant
from shop.settings import Settings

SPECS = [t.spec for t in TOOLS]


def tool_message(call: ToolCall, result: dict) -> Message:
    return Message("tool", DATA_LABEL + "\n" + json.dumps(result), tool_call_id=call.id, name=call.name)


def test_get_model_builds_the_offline_engine(settings: Settings) -> None:
    assert isinstance(get_model("offline", settings), OfflineModel)


def test_a_user_message_becomes_tool_calls_and_results_become_a_reply(offline_model: OfflineModel) -> None:
    history = [Message("system", "You are a shop assistant."), Message("user", "show me stoves under 50")]
    first = offline_model.complete(history, SPECS)
    assert first.text == "" and [c.name for c in first.tool_calls] == ["search_products"]
    assert first.tool_calls[0].arguments["max_price"] == "50"
    call = first.tool_calls[0]
    record = {
        "sku": "STOVE-GAS",
        "title": "Blaze Gas Stove",
        "price": "45.00",
        "currency": "EUR",
        "in_stock": True,
    }
    history += [Message("assistant", "", [call]), tool_message(call, {"results": [record]})]
    second = offline_model.complete(history, SPECS)
    assert second.tool_calls == [] and "Blaze Gas Stove: €45.00" in second.text


def test_same_messages_same_reply(offline_model: OfflineModel) -> None:
    history = [Message("user", "Ar turite palapinių iki 200 eurų?")]
    one, two = offline_model.complete(history, SPECS), offline_model.complete(list(history), SPECS)
    assert [(c.name, c.arguments, c.id) for c in one.tool_calls] == [
        (c.name, c.arguments, c.id) for c in two.tool_calls
    ]


def test_only_offered_tools_are_called(offline_model: OfflineModel) -> None:
    only_policies = [t.spec for t in TOOLS if t.name == "search_policies"]
    reply = offline_model.complete([Message("user", "show me stoves")], only_policies)
    assert reply.tool_calls == [] and reply.text


def test_stream_yields_the_text_then_the_reply(offline_model: OfflineModel) -> None:
    parts = list(offline_model.stream([Message("user", "hello")], SPECS))
    assert isinstance(parts[-1], Reply)
    assert "".join(p for p in parts[:-1] if isinstance(p, str)) == parts[-1].text


def test_tool_call_ids_are_unique_across_turns(offline_model: OfflineModel) -> None:
    first = offline_model.complete([Message("user", "view my cart")], SPECS)
    history = [
        Message("user", "view my cart"),
        Message("assistant", "", first.tool_calls),
        tool_message(first.tool_calls[0], {"cart": {"lines": [], "subtotal": "0.00", "currency": "EUR"}}),
        Message("assistant", "Your cart is empty."),
        Message("user", "view my cart"),
    ]
    second = offline_model.complete(history, SPECS)
    assert second.tool_calls[0].id != first.tool_calls[0].id


def test_the_servers_confirmation_sentences_are_the_ones_the_engine_reads() -> None:
    merchant = Merchant(id="m", name="M", currency="EUR", languages=["en"], persona="", handoff_contact="")
    checkout = ConversationState(pending=Pending("checkout", 1, checkout_id="chk_1", confirmed=True))
    action = ConversationState(
        pending=Pending(
            "action", 1, tool="cancel_order", key="{}", summary="Cancel order A1.", confirmed=True
        )
    )
    assert CHECKOUT_CONFIRMED in system_message(merchant, checkout, "c").content
    text = system_message(merchant, action, "c").content
    assert ACTION_CONFIRMED in text
    assert Conversation(text, []).confirmed_action() == "cancel_order"
