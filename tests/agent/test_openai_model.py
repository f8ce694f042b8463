"""The OpenAI adapter against canned HTTP responses (the SDK talks to an httpx2 MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2 as httpx  # the HTTP library the openai SDK is built on
import pytest
from pydantic import SecretStr

from agent import service
from agent.fakes import ScriptedModel, call
from agent.llm import MalformedReply, Message, ModelError, Reply, TransientModelError
from agent.openai_model import OpenAIModel
from agent.resilience import ModelUnavailable, RetryPolicy, request
from agent.tools import TOOLS_BY_NAME
from shop.errors import ConfigError
from shop.settings import Settings
from tests.agent.conftest import MakeAgent
from tests.conftest import MERCHANT

Handler = Callable[[httpx.Request], httpx.Response]
TOOLS = [TOOLS_BY_NAME[n].spec for n in ("search_products", "view_cart", "get_product")]


def completion(content: str | None = "", tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "test-model",
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}
        ],
        "usage": {"prompt_tokens": 120, "completion_tokens": 7, "total_tokens": 127},
    }


def tool_call(name: str, arguments: str, id_: str = "call_a") -> dict[str, Any]:
    return {"id": id_, "type": "function", "function": {"name": name, "arguments": arguments}}


def sse(chunks: list[dict[str, Any]]) -> httpx.Response:
    """A whole stream: the chunks, a closing chunk with a finish_reason, then ``[DONE]``."""
    closing = chunk({})
    closing["choices"][0]["finish_reason"] = "stop"
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in [*chunks, closing]) + "data: [DONE]\n\n"
    return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})


def chunk(delta: dict[str, Any] | None = None, usage: dict[str, int] | None = None) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": None}]
    data: dict[str, Any] = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": choices,
    }
    if usage:
        data["usage"] = usage
    return data


class Server:
    """Answers requests from a list of canned responses and records what was sent."""

    def __init__(self, *responses: httpx.Response | Handler | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[dict[str, Any]] = []

    def __call__(self, req: httpx.Request) -> httpx.Response:
        self.requests.append(json.loads(req.content))
        item = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(item, Exception):
            raise item
        return item(req) if callable(item) else item


def model_for(server: Server, settings: Settings) -> OpenAIModel:
    configured = settings.model_copy(
        update={"openai_api_key": SecretStr("sk-test"), "openai_base_url": "http://llm.test/v1"}
    )
    client = httpx.Client(transport=httpx.MockTransport(server))
    return OpenAIModel.from_settings("test-model", configured, http_client=client)


def ok(body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json=body)


def test_parallel_tool_calls_and_usage(settings: Settings) -> None:
    server = Server(
        ok(
            completion(
                None,
                [tool_call("search_products", '{"query": "tent"}', "c1"), tool_call("view_cart", "{}", "c2")],
            )
        )
    )
    reply = model_for(server, settings).complete([Message("user", "tent?")], TOOLS)
    assert [(c.id, c.name, c.arguments) for c in reply.tool_calls] == [
        ("c1", "search_products", {"query": "tent"}),
        ("c2", "view_cart", {}),
    ]
    assert reply.text == "" and (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (120, 7)
    sent = server.requests[0]
    assert sent["model"] == "test-model"
    assert sent["tools"][0] == {"type": "function", "function": TOOLS[0].to_dict()}


def test_history_is_sent_in_openai_shape_without_null_content(settings: Settings) -> None:
    server = Server(ok(completion("Here you go.")))
    history = [
        Message("system", "sys"),
        Message("user", "cart?"),
        Message("assistant", "", [call("view_cart")]),
        Message("tool", '{"cart": {}}', tool_call_id="call_x", name="view_cart"),
    ]
    history[2].tool_calls[0].id = "call_x"
    reply = model_for(server, settings).complete(history, TOOLS)
    assert reply.text == "Here you go." and reply.tool_calls == []
    messages = server.requests[0]["messages"]
    assert messages[2] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": "call_x", "type": "function", "function": {"name": "view_cart", "arguments": "{}"}}
        ],
    }
    assert messages[3] == {"role": "tool", "tool_call_id": "call_x", "content": '{"cart": {}}'}
    assert all(m["content"] is not None for m in messages)


def test_streaming_text_and_tool_call_deltas_are_accumulated(settings: Settings) -> None:
    server = Server(
        sse(
            [
                chunk({"role": "assistant", "content": "Let me "}),
                chunk({"content": "check."}),
                chunk({"tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {"name": "search_products", "arguments": ""}}]}),
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"query": '}}]}),
                chunk({"tool_calls": [{"index": 1, "id": "c2", "type": "function", "function": {"name": "view_cart", "arguments": "{}"}}]}),
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"tent"}'}}]}),
                chunk(usage={"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59}),
            ]
        )
    )  # fmt: skip
    items = list(model_for(server, settings).stream([Message("user", "tent")], TOOLS))
    assert items[:-1] == ["Let me ", "check."]
    final = items[-1]
    assert isinstance(final, Reply)
    assert [(c.name, c.arguments) for c in final.tool_calls] == [
        ("search_products", {"query": "tent"}),
        ("view_cart", {}),
    ]
    assert final.usage.completion_tokens == 9
    assert server.requests[0]["stream"] is True


def test_a_tool_call_streamed_as_json_text_is_held_back_and_parsed(settings: Settings) -> None:
    text = '```json\n{"name": "get_product", "arguments": {"sku": "BAG-SYN-0"}}\n```'
    server = Server(sse([chunk({"content": text[:10]}), chunk({"content": text[10:]})]))
    items = list(model_for(server, settings).stream([Message("user", "bag")], TOOLS))
    assert len(items) == 1 and isinstance(items[0], Reply)
    assert items[0].text == "" and items[0].tool_calls[0].arguments == {"sku": "BAG-SYN-0"}


def test_ordinary_streamed_text_is_not_held_back(settings: Settings) -> None:
    server = Server(
        sse([chunk({"content": "{Hi"}), chunk({"content": "} there"}), chunk({"content": ", friend"})])
    )
    items = list(model_for(server, settings).stream([Message("user", "hi")], TOOLS))
    assert items[:-1] == ["{Hi", "} there", ", friend"]
    assert isinstance(items[-1], Reply) and items[-1].text == "{Hi} there, friend"


@pytest.mark.parametrize(
    "content",
    [
        '{"name": "view_cart", "arguments": {}}',
        '```json\n{"name": "view_cart", "arguments": "{}"}\n```',
        '<tool_call>\n{"name": "view_cart", "arguments": {}}\n</tool_call>',
        '{"tool_calls": [{"function": {"name": "view_cart", "arguments": "{}"}}]}',
        '[{"name": "view_cart", "parameters": {}}]',
    ],
)
def test_tool_calls_written_as_json_text_are_understood(settings: Settings, content: str) -> None:
    reply = model_for(Server(ok(completion(content))), settings).complete([Message("user", "cart")], TOOLS)
    assert [c.name for c in reply.tool_calls] == ["view_cart"] and reply.text == ""


def test_json_text_naming_an_unknown_tool_stays_text(settings: Settings) -> None:
    content = '{"name": "drop_tables", "arguments": {}}'
    reply = model_for(Server(ok(completion(content))), settings).complete([Message("user", "x")], TOOLS)
    assert reply.tool_calls == [] and reply.text == content


def test_malformed_arguments_are_retried_then_succeed(settings: Settings) -> None:
    server = Server(
        ok(completion(None, [tool_call("view_cart", '{"broken": ')])),
        ok(completion(None, [tool_call("view_cart", "{}")])),
    )
    model = model_for(server, settings)
    with pytest.raises(MalformedReply):
        model.complete([Message("user", "cart")], TOOLS)
    reply = request(
        model, [Message("user", "cart")], TOOLS, RetryPolicy(sleep=lambda _s: None), deadline=1e12
    )
    assert reply.tool_calls[0].name == "view_cart" and len(server.requests) == 2


def test_429_then_success_waits_as_told(make_agent: MakeAgent, settings: Settings) -> None:
    server = Server(
        httpx.Response(429, json={"error": {"message": "slow down"}}, headers={"retry-after": "3"}),
        ok(completion("Hello again!")),
    )
    agent = make_agent(model=model_for(server, settings))
    slept: list[float] = []
    agent.retry.sleep = slept.append
    result = agent.turn(MERCHANT, None, "hello")
    assert result.reply == "Hello again!" and slept == [3.0]
    assert len(server.requests) == 2  # the SDK itself did not retry


def test_500_until_the_budget_then_the_offline_fallback_answers(
    make_agent: MakeAgent, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = Server(httpx.Response(500, json={"error": {"message": "boom"}}))
    offline = ScriptedModel(["I can still help offline."], name="offline")
    monkeypatch.setattr(service, "get_model", lambda *_a: offline)
    agent = make_agent(model=model_for(server, settings), model_retries=2)
    result = agent.turn(MERCHANT, None, "hello")
    assert len(server.requests) == 3
    assert result.reply == "I can still help offline." and result.model == "offline"


def test_timeouts_and_connection_errors_are_transient(settings: Settings) -> None:
    for error in (httpx.ConnectTimeout("slow"), httpx.ConnectError("refused")):
        model = model_for(Server(error), settings)
        with pytest.raises(TransientModelError):
            model.complete([Message("user", "x")], [])


def test_a_rejected_key_is_not_retried(settings: Settings) -> None:
    server = Server(httpx.Response(401, json={"error": {"message": "bad key"}}))
    model = model_for(server, settings)
    with pytest.raises(ModelError, match="HTTP 401") as raised:
        request(model, [Message("user", "x")], [], RetryPolicy(sleep=lambda _s: None), deadline=1e12)
    assert not isinstance(raised.value, TransientModelError | ModelUnavailable)
    assert len(server.requests) == 1


def test_a_truncated_stream_is_retried(settings: Settings) -> None:
    truncated = httpx.Response(
        200,
        text=f"data: {json.dumps(chunk({'tool_calls': [{'index': 0, 'id': 'c', 'type': 'function', 'function': {'name': 'view_cart', 'arguments': '{'}}]}))}\n\n",
        headers={"content-type": "text/event-stream"},
    )
    server = Server(truncated, sse([chunk({"content": "All good."})]))
    tokens: list[str] = []
    reply = request(
        model_for(server, settings),
        [Message("user", "x")],
        TOOLS,
        RetryPolicy(sleep=lambda _s: None),
        1e12,
        tokens.append,
    )
    assert reply.text == "All good." and len(server.requests) == 2


def test_the_openai_model_needs_a_key_or_a_local_server(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAIModel.from_settings("gpt-4o-mini", settings)
    local = settings.model_copy(update={"openai_base_url": "http://127.0.0.1:8080/v1"})
    assert OpenAIModel.from_settings("qwen", local).name == "openai:qwen"
