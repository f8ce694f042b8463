"""R2: a failing model provider, through the real OpenAI adapter, never breaks a conversation.

The SDK talks to a scripted OpenAI-compatible server (an ``httpx2.MockTransport``) that
can answer 429 with Retry-After, 500, hang until the client's timeout, reset the
connection, cut a stream off, trickle a stream forever, report an error mid-stream, send
unparseable tool-call arguments, or loop on tool calls. Time is a fake clock: sleeping
advances it, and a "hanging" server advances it by the timeout the client gave the
request, so budgets are checked exactly and no test waits for real.

Every turn must end with a useful reply (the provider's, or the offline engine's when the
provider stays down) or a server-written apology with a human handoff; within the turn's
time budget; and with nothing half-written: the store holds exactly what completed tool
calls committed, and the stored conversation is one the provider accepts on the next turn.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx2 as httpx  # the HTTP library the openai SDK is built on
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from agent import state as conversation
from agent.events import AgentEvent, TurnResult
from agent.openai_model import OpenAIModel
from agent.resilience import RetryPolicy
from agent.service import Agent
from shop.db import Database
from shop.models import Conversation, Order, Product
from shop.payments import TestProvider
from shop.settings import Settings
from tests.conftest import MERCHANT, KeywordRetriever

BUDGET = 5.0
"""turn_timeout_s of every agent here; the adapter's own timeout stays at its default of 30 s."""
CONTACT = "help@trailtest.example"

Step = Callable[[httpx.Request], httpx.Response]


class Clock:
    """Fake monotonic time: the retry policy sleeps on it and hanging servers advance it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Provider:
    """A scripted OpenAI-compatible server: plays ``steps`` in order, the last one for ever."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[dict[str, Any]] = []
        self.timeouts: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(json.loads(request.content))
        self.timeouts.append(float(request.extensions["timeout"]["read"]))
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        return step(request)


# -- what the server can answer -----------------------------------------------------------
def _completion(content: str | None, calls: list[dict[str, Any]]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "test-model",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 5, "total_tokens": 105},
    }


def tool_call(name: str, arguments: dict[str, Any] | str, id_: str = "call_1") -> dict[str, Any]:
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": id_, "type": "function", "function": {"name": name, "arguments": raw}}


def answer(text: str) -> Step:
    return lambda _request: httpx.Response(200, json=_completion(text, []))


def calls(*tool_calls: dict[str, Any]) -> Step:
    return lambda _request: httpx.Response(200, json=_completion(None, list(tool_calls)))


def status(code: int, **headers: str) -> Step:
    return lambda _request: httpx.Response(
        code, json={"error": {"message": f"status {code}"}}, headers=headers
    )


def fails(error: type[httpx.TransportError], message: str) -> Step:
    def step(request: httpx.Request) -> httpx.Response:
        raise error(message, request=request)

    return step


def hangs(clock: Clock) -> Step:
    """The server never answers: the client gives up after the timeout it set on the request."""

    def step(request: httpx.Request) -> httpx.Response:
        clock.now += float(request.extensions["timeout"]["read"])
        raise httpx.ReadTimeout("timed out", request=request)

    return step


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    data = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "test-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(data)}\n\n".encode()


def streamed(*pieces: str) -> Step:
    """A complete stream: text deltas, the finish chunk and ``[DONE]``."""
    body = b"".join(_chunk({"content": p}) for p in pieces) + _chunk({}, "stop") + b"data: [DONE]\n\n"
    return lambda _request: httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})


def cut_off(*pieces: str) -> Step:
    """The connection closes mid-reply: some deltas, then nothing (no finish, no ``[DONE]``)."""
    body = b"".join(_chunk({"content": p}) for p in pieces)
    return lambda _request: httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})


def reset_mid_stream(*pieces: str) -> Step:
    def step(request: httpx.Request) -> httpx.Response:
        def body() -> Iterator[bytes]:
            for piece in pieces:
                yield _chunk({"content": piece})
            raise httpx.ReadError("Connection reset by peer", request=request)

        return httpx.Response(200, content=body(), headers={"content-type": "text/event-stream"})

    return step


def error_mid_stream(*pieces: str) -> Step:
    """How OpenAI reports a server failure once a stream has started: an ``error`` event."""
    error = json.dumps({"error": {"message": "The server had an error while processing your request."}})
    body = b"".join(_chunk({"content": p}) for p in pieces) + f"data: {error}\n\n".encode()
    return lambda _request: httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})


def trickles(clock: Clock) -> Step:
    """A stream that never ends: one word a second, each within the client's read timeout."""

    def step(_request: httpx.Request) -> httpx.Response:
        def body() -> Iterator[bytes]:
            for _ in range(10_000):
                clock.now += 1.0
                yield _chunk({"content": "and "})

        return httpx.Response(200, content=body(), headers={"content-type": "text/event-stream"})

    return step


# -- the agent under test -----------------------------------------------------------------
@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def payment() -> TestProvider:
    return TestProvider()


MakeAgent = Callable[..., Agent]


@pytest.fixture
def make_agent(
    settings: Settings, db: Database, retriever: KeywordRetriever, clock: Clock, payment: TestProvider
) -> MakeAgent:
    def make(provider: Provider, **overrides: Any) -> Agent:
        values: dict[str, Any] = {
            "openai_api_key": SecretStr("sk-test"),
            "openai_base_url": "http://llm.test/v1",
            "turn_timeout_s": BUDGET,
            "model_retries": 2,
            "max_steps": 4,
            "stream_drafts": True,  # these faults are about streams: the draft is streamed as it comes
        }
        cfg = settings.model_copy(update={**values, **overrides})
        client = httpx.Client(transport=httpx.MockTransport(provider))
        model = OpenAIModel.from_settings("test-model", cfg, http_client=client)
        retry = RetryPolicy(retries=cfg.model_retries, sleep=clock.sleep, clock=clock)
        return Agent(cfg, db, retriever, model, payment, retry=retry)

    return make


def offline_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """No offline engine to fall back on: the turn must apologize and hand off."""

    def missing(_name: str, _settings: object) -> None:
        raise ImportError("no offline engine in this test")

    monkeypatch.setattr("agent.service.get_model", missing)


# -- what every test checks ---------------------------------------------------------------
def assert_valid_openai_history(messages: list[dict[str, Any]]) -> None:
    """What OpenAI enforces: each assistant message with tool calls is followed by one tool
    message per call id, and no tool message answers a call that was not made."""
    open_ids: list[str] = []
    for message in messages:
        if message["role"] == "tool":
            assert message["tool_call_id"] in open_ids, f"orphan tool result: {message}"
            open_ids.remove(message["tool_call_id"])
            continue
        assert not open_ids, f"tool calls without results before a {message['role']} message: {open_ids}"
        if message["role"] == "assistant":
            open_ids = [call["id"] for call in message.get("tool_calls") or []]
    assert not open_ids


def assert_consistent(agent: Agent, result: TurnResult) -> None:
    """The stored conversation ends with the reply the shopper got, its tool calls all have
    results, and a handoff the shopper was told about is in the merchant's queue."""
    record = conversation.load_or_create(agent.db, MERCHANT, result.session_id)
    assert record.messages[-1].role == "assistant" and record.messages[-1].content == result.reply
    ids = [c.id for m in record.messages for c in m.tool_calls]
    answered = [m.tool_call_id for m in record.messages if m.role == "tool"]
    assert sorted(ids) == sorted(answered)
    with agent.db.session() as session:
        row = session.get(Conversation, result.session_id)
        assert row is not None and (row.handoff == "requested" or not result.handoff)
    assert "Traceback" not in result.reply and "status 5" not in result.reply


def cart_of(result: TurnResult) -> dict[str, int]:
    return {line["sku"]: line["quantity"] for line in result.cart["lines"]}


def count(db: Database, model: type[Any]) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# -- 429, 500, resets -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("headers", "waited"),
    [({"retry-after": "3"}, 3.0), ({"retry-after-ms": "1500"}, 1.5)],
)
def test_429_waits_as_long_as_the_provider_asks(
    make_agent: MakeAgent, clock: Clock, headers: dict[str, str], waited: float
) -> None:
    provider = Provider(status(429, **headers), answer("Hello! How can I help?"))
    result = make_agent(provider).turn(MERCHANT, None, "hello")
    assert result.reply == "Hello! How can I help?" and result.model == "openai:test-model"
    assert clock.slept == [waited] and len(provider.requests) == 2
    assert_consistent(make_agent(provider), result)


def test_a_retry_after_longer_than_the_budget_is_not_waited_for(make_agent: MakeAgent, clock: Clock) -> None:
    provider = Provider(status(429, **{"retry-after": "120"}))
    result = make_agent(provider).turn(MERCHANT, None, "Do you have a sleeping bag?")
    assert clock.slept == [] and clock.now <= BUDGET
    assert len(provider.requests) == 1
    assert result.model == "offline" and "Polar" in result.reply  # the offline engine answered
    assert_consistent(make_agent(provider), result)


def test_a_provider_failing_after_a_tool_call_leaves_the_cart_as_committed(
    make_agent: MakeAgent, db: Database, clock: Clock
) -> None:
    provider = Provider(
        calls(tool_call("add_to_cart", {"sku": "BAG-SYN-0", "quantity": 1})),
        status(500),
    )
    agent = make_agent(provider)
    result = agent.turn(MERCHANT, None, "add the Polar synthetic sleeping bag to my cart")
    assert cart_of(result) == {"BAG-SYN-0": 1}  # added once: the fallback did not add it again
    assert [r.name for r in result.tool_calls if r.name == "add_to_cart"] == ["add_to_cart"]
    assert result.model == "offline" and "Polar Synthetic Sleeping Bag" in result.reply
    assert len(provider.requests) == 1 + 3  # the tool step, then one try and two retries
    assert clock.now <= BUDGET
    assert_consistent(agent, result)

    provider.steps = [answer("It is in your cart.")]  # the provider is back
    after = agent.turn(MERCHANT, result.session_id, "is it in my cart?")
    assert after.reply == "It is in your cart." and cart_of(after) == {"BAG-SYN-0": 1}
    assert_valid_openai_history(provider.requests[-1]["messages"])


@pytest.mark.parametrize(
    "failure",
    [
        fails(httpx.ReadError, "Connection reset by peer"),
        fails(httpx.RemoteProtocolError, "Server disconnected without sending a response."),
        fails(httpx.ConnectError, "Connection refused"),
    ],
    ids=["reset", "disconnected", "refused"],
)
def test_dropped_connections_are_retried_and_writes_happen_once(
    make_agent: MakeAgent, payment: TestProvider, failure: Step
) -> None:
    provider = Provider(
        calls(tool_call("add_to_cart", {"sku": "STOVE-GAS", "quantity": 2})),
        failure,
        answer("Two gas stoves are in your cart."),
    )
    agent = make_agent(provider)
    result = agent.turn(MERCHANT, None, "two gas stoves please")
    assert result.reply.startswith("Two gas stoves are in your cart.") and cart_of(result) == {"STOVE-GAS": 2}
    assert len(provider.requests) == 3 and payment.charged == []
    assert_consistent(agent, result)


# -- time budget ----------------------------------------------------------------------------
def test_a_hanging_provider_is_given_only_the_time_the_turn_has_left(
    make_agent: MakeAgent, db: Database, clock: Clock
) -> None:
    provider = Provider(hangs(clock))
    agent = make_agent(provider)
    result = agent.turn(MERCHANT, None, "hello?")
    # Without the cap the first request alone would wait the adapter's 30 s.
    assert provider.timeouts[0] <= BUDGET and clock.now <= BUDGET
    assert len(provider.requests) == 1  # no time was left to retry
    # Out of time even for the offline engine: an apology, and the shopper is told a person
    # will follow up exactly when the merchant's queue has the conversation.
    assert result.reply.startswith("Sorry") and CONTACT in result.reply
    with db.session() as session:
        row = session.get(Conversation, result.session_id)
        assert row is not None and row.handoff == "requested" and result.handoff
    assert_consistent(agent, result)


def test_a_slow_tool_step_leaves_the_next_request_only_the_rest_of_the_budget(
    make_agent: MakeAgent, clock: Clock
) -> None:
    def slow_tool_call(request: httpx.Request) -> httpx.Response:
        clock.now += 4.0  # the provider took 4 of the 5 seconds to ask for a search
        return calls(tool_call("search_products", {"query": "tent"}))(request)

    provider = Provider(slow_tool_call, answer("We have tents."))
    result = make_agent(provider).turn(MERCHANT, None, "tents?")
    assert result.reply == "We have tents."
    assert provider.timeouts[0] == pytest.approx(BUDGET)
    assert provider.timeouts[1] == pytest.approx(BUDGET - 4.0)


def test_a_stream_that_never_ends_is_cut_at_the_deadline(
    make_agent: MakeAgent, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    offline_down(monkeypatch)
    provider = Provider(trickles(clock))
    agent = make_agent(provider)
    events: list[AgentEvent] = []
    result = agent.turn(MERCHANT, None, "tell me a long story", on_event=events.append)
    assert clock.now <= BUDGET + 1.0  # stopped within a chunk of the deadline
    assert result.handoff and CONTACT in result.reply
    assert events[-1].type == "done"
    assert_consistent(agent, result)


# -- broken streams and replies -------------------------------------------------------------
def test_a_truncated_stream_is_retried_not_taken_for_the_answer(make_agent: MakeAgent) -> None:
    provider = Provider(
        cut_off("The Polar bag ", "costs 8"),
        streamed("The Polar bag ", "costs 89.00 EUR."),
    )
    agent = make_agent(provider)
    events: list[AgentEvent] = []
    result = agent.turn(MERCHANT, None, "how much is the Polar bag?", on_event=events.append)
    assert result.reply == "The Polar bag costs 89.00 EUR."
    assert len(provider.requests) == 2
    kinds = [e.type for e in events]
    # The partial text was streamed; a retry event tells the client to discard it.
    retry_at = next(i for i, e in enumerate(events) if e.type == "error" and e.data.get("retry"))
    assert "token" in kinds[:retry_at]
    assert "".join(e.data["text"] for e in events[retry_at:] if e.type == "token") == result.reply
    assert_consistent(agent, result)


@pytest.mark.parametrize("broken", [reset_mid_stream, error_mid_stream], ids=["reset", "error-event"])
def test_a_stream_failing_midway_is_retried(make_agent: MakeAgent, broken: Callable[..., Step]) -> None:
    provider = Provider(broken("Our return window "), streamed("Our return window is 45 days."))
    agent = make_agent(provider)
    result = agent.turn(MERCHANT, None, "how long can I return?", on_event=lambda _e: None)
    assert result.reply == "Our return window is 45 days." and result.model == "openai:test-model"
    assert len(provider.requests) == 2
    assert_consistent(agent, result)


def test_malformed_tool_call_arguments_never_reach_a_tool(
    make_agent: MakeAgent, db: Database, clock: Clock
) -> None:
    provider = Provider(calls(tool_call("add_to_cart", '{"sku": "BAG-SYN-0", "quantity": ')))
    agent = make_agent(provider)
    result = agent.turn(MERCHANT, None, "what is in my cart?")
    assert len(provider.requests) == 3  # one try and two retries, then the offline engine
    assert result.model == "offline" and result.reply and cart_of(result) == {}
    assert all(r.name != "add_to_cart" for r in result.tool_calls)
    assert clock.now <= BUDGET
    assert_consistent(agent, result)


@pytest.mark.parametrize("guards", ["off", "on"])
def test_a_model_looping_on_tool_calls_stops_at_the_step_limit(make_agent: MakeAgent, guards: str) -> None:
    queries = iter(f"tent {n}" for n in range(100))  # never the same call twice

    def searching(request: httpx.Request) -> httpx.Response:
        return calls(
            tool_call("search_products", {"query": next(queries)}, f"call_{len(provider.requests)}")
        )(request)

    provider = Provider(searching)
    agent = make_agent(provider, max_steps=4, guards=guards)
    result = agent.turn(MERCHANT, None, "find me a tent")
    assert len(provider.requests) <= 4  # the reply checks too stay inside the step limit
    if guards == "off":
        assert result.reply.startswith("Sorry") and CONTACT in result.reply
    else:  # the guards answer from what the searches found instead of apologising
        found = {p["title"] for r in result.tool_calls if r.result for p in r.result.get("results", [])}
        assert any(title in result.reply for title in found)
    assert_consistent(agent, result)

    provider.steps = [answer("Here is the Kestrel Trail 3 Tent.")]
    after = agent.turn(MERCHANT, result.session_id, "just one tent please")
    assert after.reply == "Here is the Kestrel Trail 3 Tent."
    assert_valid_openai_history(provider.requests[-1]["messages"])


# -- checkout across a failing provider -------------------------------------------------------
def test_a_provider_outage_during_checkout_never_places_or_charges_twice(
    make_agent: MakeAgent, db: Database, payment: TestProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = Provider(
        calls(tool_call("add_to_cart", {"sku": "FOOT-ALP2", "quantity": 1})),
        calls(tool_call("prepare_checkout", {"email": "ruta@example.com"}, "call_2")),
        status(503),
    )
    agent = make_agent(provider)
    offline_down(monkeypatch)
    first = agent.turn(MERCHANT, None, "buy the footprint, my email is ruta@example.com")
    assert first.handoff and cart_of(first) == {"FOOT-ALP2": 1}
    assert "43.99" in first.reply  # the summary awaiting a yes still reached the shopper
    assert count(db, Order) == 3 and payment.charged == []
    assert_consistent(agent, first)

    # The shopper says yes while the provider is still down: the server carries out the yes
    # (the guards run a confirmed write themselves), once, and the reply says so.
    second = agent.turn(MERCHANT, first.session_id, "yes")
    assert count(db, Order) == 4 and [p.total.minor for p in payment.charged] == [4399]
    placed = [r for r in second.tool_calls if r.name == "place_order" and r.error is None]
    assert len(placed) == 1 and placed[0].result["order_id"] in second.reply and second.handoff
    with db.session() as session:
        assert session.scalar(select(Product.stock).where(Product.sku == "FOOT-ALP2")) == 11
    assert_consistent(agent, second)

    # The provider is back and the model tries to place it again: still one order, one charge.
    assert conversation.load_or_create(db, MERCHANT, first.session_id).state.pending is None
    provider.steps = [
        calls(tool_call("place_order", {}, "call_3")),
        answer("Your order is placed."),
    ]
    third = agent.turn(MERCHANT, first.session_id, "so is it ordered?")
    assert count(db, Order) == 4 and [p.total.minor for p in payment.charged] == [4399]
    assert not [r for r in third.tool_calls if r.name == "place_order" and r.error is None]
    assert_consistent(agent, third)
