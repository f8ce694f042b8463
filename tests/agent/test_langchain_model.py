"""The LangChain adapter with LangChain's own fake chat model (bind_tools recorded)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agent.fakes import call
from agent.langchain_model import LangChainModel, translate
from agent.llm import MalformedReply, Message, ModelError, Reply, TransientModelError
from agent.tools import TOOLS_BY_NAME
from tests.agent.conftest import MakeAgent
from tests.conftest import MERCHANT

TOOLS = [TOOLS_BY_NAME[n].spec for n in ("search_products", "view_cart")]


class ToolCallingFake(FakeMessagesListChatModel):
    """LangChain's list-driven fake, plus the ``bind_tools`` a real provider model has."""

    bound: list[Any] = []
    seen: list[list[BaseMessage]] = []

    def bind_tools(self, tools: Any, **_kwargs: Any) -> ToolCallingFake:
        self.bound.append(tools)
        return self

    def invoke(self, input: Any, config: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        self.seen.append(list(input))
        return super().invoke(input, config, **kwargs)


def fake(*responses: BaseMessage) -> ToolCallingFake:
    return ToolCallingFake(responses=list(responses), bound=[], seen=[])


def test_tool_calls_text_and_usage_come_back_in_our_types() -> None:
    chat = fake(
        AIMessage(
            content="",
            tool_calls=[
                {"name": "search_products", "args": {"query": "tent"}, "id": "t1"},
                {"name": "view_cart", "args": {}, "id": "t2"},
            ],
            usage_metadata={"input_tokens": 30, "output_tokens": 4, "total_tokens": 34},
        )
    )
    reply = LangChainModel(chat, "langchain:fake:m").complete([Message("user", "tent")], TOOLS)
    assert [(c.id, c.name, c.arguments) for c in reply.tool_calls] == [
        ("t1", "search_products", {"query": "tent"}),
        ("t2", "view_cart", {}),
    ]
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (30, 4)
    assert chat.bound[0][0] == {"type": "function", "function": TOOLS[0].to_dict()}


def test_history_is_converted_to_langchain_messages() -> None:
    chat = fake(AIMessage(content="ok"))
    history = [
        Message("system", "sys"),
        Message("user", "cart?"),
        Message("assistant", "", [call("view_cart")]),
        Message("tool", "{}", tool_call_id="id1", name="view_cart"),
    ]
    history[2].tool_calls[0].id = "id1"
    LangChainModel(chat).complete(history, TOOLS)
    sent = chat.seen[0]
    assert [type(m) for m in sent] == [SystemMessage, HumanMessage, AIMessage, ToolMessage]
    ai = sent[2]
    assert isinstance(ai, AIMessage) and ai.tool_calls[0]["id"] == "id1"
    tool = sent[3]
    assert isinstance(tool, ToolMessage) and tool.tool_call_id == "id1"


def test_streaming_yields_text_then_the_reply() -> None:
    chat = fake(AIMessage(content="Hello there"))
    items = list(LangChainModel(chat).stream([Message("user", "hi")], TOOLS))
    assert "".join(i for i in items if isinstance(i, str)) == "Hello there"
    assert isinstance(items[-1], Reply) and items[-1].text == "Hello there"


def test_json_text_tool_calls_and_invalid_calls() -> None:
    written = fake(AIMessage(content='{"name": "view_cart", "arguments": {}}'))
    assert LangChainModel(written).complete([Message("user", "x")], TOOLS).tool_calls[0].name == "view_cart"
    broken = fake(
        AIMessage(
            content="",
            invalid_tool_calls=[
                {
                    "name": "view_cart",
                    "args": "{oops",
                    "id": "x",
                    "error": "bad json",
                    "type": "invalid_tool_call",
                }
            ],
        )
    )
    with pytest.raises(MalformedReply):
        LangChainModel(broken).complete([Message("user", "x")], TOOLS)


def test_provider_errors_are_sorted_into_transient_and_permanent() -> None:
    class RateLimitError(Exception):
        status_code = 429

    class APIConnectionError(Exception):
        pass

    class BadRequestError(Exception):
        status_code = 400

    assert isinstance(translate(RateLimitError()), TransientModelError)
    assert isinstance(translate(APIConnectionError()), TransientModelError)
    permanent = translate(BadRequestError())
    assert isinstance(permanent, ModelError) and not isinstance(permanent, TransientModelError)


def test_a_whole_turn_through_langchain(make_agent: MakeAgent) -> None:
    chat = fake(
        AIMessage(content="", tool_calls=[{"name": "add_to_cart", "args": {"sku": "BAG-SYN-0"}, "id": "a1"}]),
        AIMessage(content="Added the Polar synthetic bag."),
    )
    result = make_agent(model=LangChainModel(chat, "langchain:fake:list")).turn(MERCHANT, None, "add the bag")
    assert result.reply.startswith("Added the Polar synthetic bag.") and "Subtotal: €89.00" in result.reply
    assert result.cart["lines"][0]["sku"] == "BAG-SYN-0"
    assert isinstance(chat.seen[1][-1], ToolMessage)


def test_a_reply_is_not_waited_for_past_the_turns_time() -> None:
    import time

    from agent import resilience

    class Slow(ToolCallingFake):
        def invoke(self, input: Any, config: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
            time.sleep(2.0)
            return super().invoke(input, config, **kwargs)

    model = LangChainModel(Slow(responses=[AIMessage(content="late")], bound=[], seen=[]), timeout_s=30.0)
    started = time.monotonic()
    with resilience._limited(0.2), pytest.raises(TransientModelError, match="no reply within 0.2 s"):
        model.complete([Message("user", "hi")], [])
    assert time.monotonic() - started < 1.5
    quick = LangChainModel(fake(AIMessage(content="on time")), timeout_s=30.0)
    with resilience._limited(5.0):
        assert quick.complete([Message("user", "hi")], []).text == "on time"
