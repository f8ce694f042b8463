"""The agent loop: call the model, run the tools it asks for, append the results, repeat.

A turn ends when the model answers in text, or at the step limit, or when the time budget
is spent, or when the model is unavailable and no fallback model is left. Each ending is
an explicit value of :class:`LoopResult`; the service turns the non-answers into a polite
server-written reply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agent import budget, resilience
from agent.context import ToolContext
from agent.events import AgentEvent, EventSink, ToolCallRecord
from agent.llm import ChatModel, Message, ModelError, ToolCall, Usage
from agent.resilience import RetryPolicy
from agent.toolkit import Tool, ToolOutcome

Ending = Literal["answer", "step_limit", "timeout", "unavailable"]


@dataclass
class LoopResult:
    text: str
    ending: Ending
    model: str
    records: list[ToolCallRecord] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    prompt_tokens: list[int] = field(default_factory=list)


def run_tool(call: ToolCall, tools: dict[str, Tool], ctx: ToolContext) -> ToolOutcome:
    tool = tools.get(call.name)
    if tool is None:
        return ToolOutcome(None, f"there is no tool {call.name!r}; use one of: {', '.join(tools)}")
    return tool.run(ctx, call.arguments)


def run(
    model: ChatModel,
    system: Message,
    history: list[Message],
    tools: Sequence[Tool],
    ctx: ToolContext,
    emit: EventSink,
    policy: RetryPolicy,
    fallback: Callable[[ChatModel], ChatModel | None],
    cart: Callable[[], dict[str, Any]],
    stream: bool = False,
) -> LoopResult:
    """Run one shopper turn; ``history`` (ending with the shopper's message) grows in place."""
    settings = ctx.settings
    specs = [t.spec for t in tools]
    by_name = {t.name: t for t in tools}
    deadline = policy.clock() + settings.turn_timeout_s
    result = LoopResult(text="", ending="step_limit", model=model.name)

    def on_token(text: str) -> None:
        emit(AgentEvent("token", {"text": text}))

    def on_retry(attempt: int, error: Exception) -> None:
        emit(AgentEvent("error", {"message": "the model is slow to answer; retrying", "retry": attempt}))

    steps = 0
    while steps < settings.max_steps:
        if policy.clock() >= deadline:
            result.ending = "timeout"
            return result
        steps += 1
        prompt = budget.fit(system, history, specs, settings.prompt_token_budget, ctx.state.summary)
        result.prompt_tokens.append(budget.count_prompt(prompt, specs))
        try:
            reply = resilience.request(
                model, prompt, specs, policy, deadline, on_token if stream else None, on_retry
            )
        except ModelError:
            substitute = fallback(model)
            if substitute is None:
                result.ending = "unavailable"
                return result
            emit(
                AgentEvent(
                    "error", {"message": "the model is unavailable; answering with the built-in assistant"}
                )
            )
            model = substitute
            result.model = model.name
            steps -= 1  # the fallback gets the full step allowance
            continue
        result.usage += reply.usage
        history.append(Message("assistant", reply.text, list(reply.tool_calls)))
        if not reply.tool_calls:
            result.text, result.ending = reply.text, "answer"
            return result
        for call in reply.tool_calls:
            emit(AgentEvent("tool_started", {"name": call.name, "arguments": call.arguments}))
            outcome = run_tool(call, by_name, ctx)
            history.append(Message("tool", outcome.to_content(), tool_call_id=call.id, name=call.name))
            result.records.append(ToolCallRecord(call.name, call.arguments, outcome.result, outcome.error))
            emit(
                AgentEvent(
                    "tool_finished", {"name": call.name, "ok": outcome.error is None, "error": outcome.error}
                )
            )
            if ctx.cart_changed:
                ctx.cart_changed = False
                emit(AgentEvent("cart", cart()))
    return result
