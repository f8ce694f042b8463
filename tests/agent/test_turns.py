"""Whole turns through Agent.turn with a scripted model: the loop, events, errors, limits."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from agent import service
from agent.events import AgentEvent
from agent.fakes import FunctionModel, ScriptedModel, call
from agent.llm import Message, ModelError, Reply, ToolSpec, TransientModelError
from agent.state import SESSION_ID
from agent.toolkit import DATA_LABEL
from shop.models import Conversation
from tests.agent.conftest import MakeAgent
from tests.conftest import MERCHANT


def tool_messages(model: ScriptedModel, index: int) -> list[Message]:
    return [m for m in model.sent[index].messages if m.role == "tool"]


def test_a_plain_answer(make_agent: MakeAgent) -> None:
    agent = make_agent("Hello! How can I help?")
    result = agent.turn(MERCHANT, None, "hi there")
    assert result.reply == "Hello! How can I help?"
    assert SESSION_ID.match(result.session_id)
    assert result.tool_calls == [] and result.cart["lines"] == [] and not result.handoff
    assert result.usage.prompt_tokens > 0 and result.latency_s > 0


def test_tools_run_and_their_results_go_back_to_the_model(make_agent: MakeAgent) -> None:
    model = ScriptedModel([call("search_products", query="sleeping bag"), "We have two bags."])
    agent = make_agent(model=model)
    result = agent.turn(MERCHANT, None, "I need a sleeping bag")
    assert [r.name for r in result.tool_calls] == ["search_products"]
    assert result.tool_calls[0].error is None
    sent = tool_messages(model, 1)
    assert len(sent) == 1 and sent[0].content.startswith(DATA_LABEL)
    assert "BAG-DOWN-5" in sent[0].content
    assert model.sent[0].tools and {t.name for t in model.sent[0].tools} >= {"search_products", "place_order"}


def test_parallel_tool_calls_in_one_reply(make_agent: MakeAgent) -> None:
    model = ScriptedModel(
        [[call("get_product", sku="BAG-DOWN-5"), call("get_product", sku="BAG-SYN-0")], "Both."]
    )
    result = make_agent(model=model).turn(MERCHANT, None, "details of both bags")
    assert [r.arguments["sku"] for r in result.tool_calls] == ["BAG-DOWN-5", "BAG-SYN-0"]
    assert len(tool_messages(model, 1)) == 2


def test_invalid_arguments_are_fed_back_and_the_model_corrects_itself(make_agent: MakeAgent) -> None:
    model = ScriptedModel(
        [
            call("add_to_cart", sku="BAG-SYN-0", quantity="lots"),
            call("add_to_cart", sku="BAG-SYN-0", quantity=2),
            "Added two.",
        ]
    )
    result = make_agent(model=model).turn(MERCHANT, None, "add two synthetic bags")
    first, second = result.tool_calls
    assert first.error is not None and "quantity" in first.error and first.result is None
    assert json.loads(tool_messages(model, 1)[0].content)["error"] == first.error
    assert second.error is None
    assert result.cart["lines"][0]["quantity"] == 2


def test_an_unknown_tool_is_an_error_the_model_sees(make_agent: MakeAgent) -> None:
    model = ScriptedModel([call("delete_store"), "Sorry."])
    result = make_agent(model=model).turn(MERCHANT, None, "hi")
    assert result.tool_calls[0].error is not None
    assert "no tool 'delete_store'" in result.tool_calls[0].error


def test_the_step_limit_ends_a_looping_model(make_agent: MakeAgent) -> None:
    model = FunctionModel(lambda _m, _t: Reply(tool_calls=[call("view_cart")]))
    agent = make_agent(model=model, max_steps=3)
    result = agent.turn(MERCHANT, None, "what is in my cart")
    assert len(model.sent) == 3 and len(result.tool_calls) == 3
    assert result.reply.startswith("Sorry, I couldn't finish that")
    assert "help@trailtest.example" in result.reply


def test_the_time_budget_ends_a_turn(make_agent: MakeAgent) -> None:
    now = [0.0]

    def slow(_messages: list[Message], _tools: list[ToolSpec]) -> Reply:
        now[0] += 40.0
        return Reply(tool_calls=[call("view_cart")])

    agent = make_agent(model=FunctionModel(slow), turn_timeout_s=60.0)
    agent.retry.clock = lambda: now[0]
    result = agent.turn(MERCHANT, None, "cart?")
    assert len(result.tool_calls) == 2  # the third call would start after the deadline
    assert "Sorry" in result.reply


def test_events_stream_tokens_tools_cart_and_done(make_agent: MakeAgent) -> None:
    events: list[AgentEvent] = []
    agent = make_agent(call("add_to_cart", sku="BAG-SYN-0"), "Added the Polar bag to your cart.")
    result = agent.turn(MERCHANT, None, "add the synthetic bag", on_event=events.append)
    kinds = [e.type for e in events]
    assert kinds[:3] == ["tool_started", "tool_finished", "cart"]
    assert kinds[-1] == "done"
    assert "".join(e.data["text"] for e in events if e.type == "token") == result.reply
    cart = next(e for e in events if e.type == "cart")
    assert cart.data["lines"][0]["sku"] == "BAG-SYN-0"
    assert events[-1].data["reply"] == result.reply


def test_transient_errors_are_retried_honouring_retry_after(make_agent: MakeAgent) -> None:
    model = ScriptedModel(
        [TransientModelError("429", retry_after=2.5), TransientModelError("503"), "Fine now."]
    )
    agent = make_agent(model=model)
    slept: list[float] = []
    agent.retry.sleep = slept.append
    result = agent.turn(MERCHANT, None, "hello")
    assert result.reply == "Fine now."
    assert slept[0] == 2.5 and 0 < slept[1] <= agent.retry.base_delay_s * 2


def test_a_failing_provider_degrades_to_the_offline_engine(
    make_agent: MakeAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    offline = ScriptedModel([call("view_cart"), "Your cart is empty."], name="offline")
    monkeypatch.setattr(service, "get_model", lambda name, _s: offline if name == "offline" else None)
    model = ScriptedModel([TransientModelError("500")] * 4)
    result = make_agent(model=model, model_retries=3).turn(MERCHANT, None, "cart?")
    assert len(model.sent) == 4  # one try and three retries
    assert result.reply == "Your cart is empty." and result.model == "offline"
    assert not result.handoff


def test_without_an_offline_engine_the_turn_apologizes_and_hands_off(
    make_agent: MakeAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(_name: str, _settings: object) -> None:
        raise ImportError("no offline engine")

    monkeypatch.setattr(service, "get_model", missing)
    agent = make_agent(ModelError("HTTP 401: bad key"))
    result = agent.turn(MERCHANT, None, "hello")
    assert result.reply.startswith("Sorry, I can't answer properly right now")
    assert "help@trailtest.example" in result.reply and result.handoff
    with agent.db.session() as s:
        row = s.get(Conversation, result.session_id)
        assert row is not None and row.handoff == "requested"


def test_a_bug_in_the_model_adapter_never_reaches_the_shopper(
    make_agent: MakeAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        service, "get_model", lambda *_a: ScriptedModel([RuntimeError("boom")], name="offline")
    )
    result = make_agent(RuntimeError("adapter bug")).turn(MERCHANT, None, "hello")
    assert "boom" not in result.reply and "Traceback" not in result.reply
    assert result.reply.startswith("Sorry")


def test_an_empty_message_gets_a_prompt_without_calling_the_model(make_agent: MakeAgent) -> None:
    model = ScriptedModel([])
    result = make_agent(model=model).turn(MERCHANT, None, "   ")
    assert result.reply == "How can I help you today?" and model.sent == []


def test_the_reply_mirrors_the_shoppers_language(make_agent: MakeAgent) -> None:
    agent = make_agent("Labas!", "Merhaba!")
    first = agent.turn(MERCHANT, None, "Labas, ieškau palapinės dviem žmonėms")
    assert first.lang == "lt"
    assert "Lithuanian" in agent.model.sent[0].messages[0].content  # type: ignore[attr-defined]
    second = agent.turn(MERCHANT, first.session_id, "Merhaba, iki kişilik çadır arıyorum")
    assert second.lang == "tr"


def test_a_pinned_language_is_kept(make_agent: MakeAgent) -> None:
    agent = make_agent("Labas!", "Sveiki")
    first = agent.turn(MERCHANT, None, "hello there friend")
    agent.set_language(MERCHANT, first.session_id, "lt")
    assert agent.turn(MERCHANT, first.session_id, "what tents do you have").lang == "lt"


def test_server_errors_in_other_languages_are_localized(
    make_agent: MakeAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "get_model", lambda *_a: (_ for _ in ()).throw(ImportError("none")))
    result = make_agent(ModelError("down")).turn(MERCHANT, None, "Labas, kiek kainuoja pristatymas į Vilnių")
    assert result.reply.startswith("Atsiprašome")


def test_html_and_remote_images_are_removed_from_replies(make_agent: MakeAgent) -> None:
    agent = make_agent("Look <script>alert(1)</script>here ![x](https://evil.example/p.png?c=secret) ok")
    assert agent.turn(MERCHANT, None, "hi").reply == "Look alert(1)here  ok"


def test_a_session_of_another_merchant_is_never_shared(make_agent: MakeAgent) -> None:
    agent = make_agent("one", "two")
    first = agent.turn(MERCHANT, None, "hello")
    second = agent.turn("other", first.session_id, "hello")
    assert second.session_id != first.session_id
    with agent.db.session() as s:
        rows = s.scalars(select(Conversation).where(Conversation.merchant_id == "other")).all()
        assert [r.id for r in rows] == [second.session_id]
