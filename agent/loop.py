"""The agent loop: call the model, run the tools it asks for, append the results, repeat.

A turn ends when the model answers in text, or at the step limit, or when the time budget
is spent, or when the model is unavailable and no fallback model is left. Each ending is
an explicit value of :class:`LoopResult`; the service turns the non-answers into a polite
server-written reply.

Weak models get help on the way (:mod:`agent.call_repair`): a call written as JSON in the
text is run as a call, near-valid arguments are repaired and the model is told what was
corrected, and a call repeated in one turn is not run again: the model gets the earlier
result back and is asked, with no tools offered, to answer from it. The first request of a
turn may force a tool call (``tool_choice``) when the service knows one is needed and the
model supports it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from agent import budget, call_repair, resilience
from agent.context import ToolContext
from agent.events import AgentEvent, EventSink, ToolCallRecord
from agent.llm import (
    ChatModel,
    ChoosesTools,
    Message,
    ModelError,
    Reply,
    ToolCall,
    ToolChoice,
    ToolSpec,
    Usage,
)
from agent.resilience import RetryPolicy
from agent.text_tool_calls import calls_in_text
from agent.toolkit import Tool, ToolOutcome

log = logging.getLogger(__name__)

WRITE_TOOLS = frozenset(
    {"add_to_cart", "update_cart", "prepare_checkout", "place_order", "cancel_order", "return_items"}
)
"""The shopping tools that change the cart, a checkout or an order."""
READ_ONLY = frozenset({"search_products", "get_product", "compare_products", "search_policies", "view_cart"})
"""Tools whose repeat is worth running again after a write (the cart may have changed)."""
REPEATED = (
    "You already made this call in this turn; its result is repeated here. Do not call it again: "
    "answer the shopper now from the results you have."
)

CHANGED_ONCE = (
    "Not done: {sku} was already put in the cart or changed in this turn. Do not change it again; "
    "answer the shopper now from the results you have."
)
CART_WRITES = ("add_to_cart", "update_cart")

NOT_ASKED = (
    "Not done: the shopper's message did not ask for {name}. Do not change the cart, checkout or "
    "orders unless the shopper asks; answer the shopper's message now."
)

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


def repair_calls(reply: Reply, tools: dict[str, Tool], history: list[Message]) -> dict[str, list[str]]:
    """Turn a reply's text calls into calls and repair each call in place; notes by call id."""
    if not reply.tool_calls and (written := calls_in_text(reply.text, tools)):
        reply.tool_calls, reply.text = written, ""
    known = call_repair.known_products(history) if reply.tool_calls else {}
    emails = call_repair.shopper_emails(history) if reply.tool_calls else []
    notes: dict[str, list[str]] = {}
    for call in reply.tool_calls:
        name = call_repair.tool_name(call.name, tools)
        if name is None:
            continue
        fixed = call_repair.repair(call, tools[name].spec.parameters, known, emails)
        if name != call.name:
            fixed.notes.insert(0, f"tool {call.name!r} was read as {name!r}")
        call.name, call.arguments = name, fixed.arguments
        if fixed.notes:
            notes[call.id] = fixed.notes
    return notes


def _noted(outcome: ToolOutcome, notes: list[str]) -> ToolOutcome:
    """The outcome with the corrections made to its call, so the model sees them."""
    if not notes:
        return outcome
    if outcome.error is not None:
        return ToolOutcome(None, f"{outcome.error} (corrected in your call: {'; '.join(notes)})")
    result = outcome.result if isinstance(outcome.result, dict) else {"result": outcome.result}
    return ToolOutcome({"corrected": notes, **result})


def _refused(outcome: ToolOutcome) -> bool:
    """A write the store refused by its rules, as opposed to a call the model got wrong."""
    error = outcome.error or ""
    return (
        bool(error)
        and not error.startswith(("invalid arguments", "there is no tool"))
        and "unknown" not in error
    )


def _sku(call: ToolCall) -> str:
    return str(call.arguments.get("sku", "")).strip().upper()


def _key(call: ToolCall) -> str:
    return call.name + json.dumps(call.arguments, sort_keys=True, ensure_ascii=False, default=str)


class Choosing:
    """A model seen through the loop's ``tool_choice`` for one request: forced choices go to
    models that support them; "none" elsewhere means offering no tools."""

    def __init__(self, model: ChatModel, choice: ToolChoice) -> None:
        self.model, self.choice, self.name = model, choice, model.name
        self.native = choice != "auto" and bool(getattr(model, "supports_tool_choice", False))

    def complete(self, messages: list[Message], tools: list[ToolSpec]) -> Reply:
        if self.native:
            return cast(ChoosesTools, self.model).complete(messages, tools, tool_choice=self.choice)
        return self.model.complete(messages, [] if self.choice == "none" else tools)

    def stream(self, messages: list[Message], tools: list[ToolSpec]) -> Iterator[str | Reply]:
        if self.native:
            yield self.complete(messages, tools)
            return
        yield from self.model.stream(messages, [] if self.choice == "none" else tools)


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
    first_choice: ToolChoice = "auto",
    preamble: Message | None = None,
    stop_repeats: bool = False,
    allowed_writes: frozenset[str] | None = None,
    done_before: Sequence[tuple[ToolCall, ToolOutcome]] = (),
) -> LoopResult:
    """Run one shopper turn; ``history`` (ending with the shopper's message) grows in place.

    ``first_choice`` is the ``tool_choice`` of the turn's first request ("required" when a
    tool call is known to be needed). ``preamble`` is a second system message sent right after
    the system prompt: what changes between sessions goes there, so that a local server can
    reuse its cache of the system prompt and the tool list, which it renders first.
    ``stop_repeats`` answers a repeated call from its earlier result, and makes the request
    after a refused write and the last request of the turn ones without tools (for weak
    models). ``allowed_writes``, when given, are the only tools of :data:`WRITE_TOOLS` the shopper's
    message asked for: a call of another write tool is not run (nor recorded as a call of the
    turn); the model is told so and asked to answer. ``done_before`` are calls the server made
    for this turn before the loop (auto-retrieved context): with ``stop_repeats`` the model
    repeating one gets its result back instead of a second run."""
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
    choice: ToolChoice = first_choice
    done: dict[str, tuple[ToolOutcome, int]] = {_key(call): (outcome, 0) for call, outcome in done_before}
    writes = 0
    touched = {
        _sku(call) for call, outcome in done_before if call.name in CART_WRITES and outcome.error is None
    }
    while steps < settings.max_steps:
        if policy.clock() >= deadline:
            result.ending = "timeout"
            return result
        steps += 1
        room = settings.prompt_token_budget - (budget.count_message(preamble) if preamble else 0)
        prompt = budget.fit(system, history, specs, room, ctx.state.summary)
        if preamble is not None:
            prompt.insert(1, preamble)
        result.prompt_tokens.append(budget.count_prompt(prompt, specs))
        try:
            if stop_repeats and steps == settings.max_steps:
                choice = "none"  # the last request must answer
            asked = Choosing(model, choice) if choice != "auto" else model
            reply = resilience.request(
                asked, prompt, specs, policy, deadline, on_token if stream else None, on_retry
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
        notes = repair_calls(reply, by_name, history) if choice != "none" else {}
        if choice == "none" and stop_repeats:
            reply.tool_calls = []  # asked for an answer: calls made anyway are not run
        choice = "auto"
        history.append(Message("assistant", reply.text, list(reply.tool_calls)))
        if not reply.tool_calls:
            result.text, result.ending = reply.text, "answer"
            return result
        for call in reply.tool_calls:
            earlier = done.get(_key(call))
            if stop_repeats and earlier is not None and (call.name not in READ_ONLY or earlier[1] == writes):
                # A weak model's loop (or the fallback redoing the model's call): answer from the
                # earlier result instead of running it again.
                content = earlier[0].to_content() + "\n" + REPEATED
                history.append(Message("tool", content, tool_call_id=call.id, name=call.name))
                choice = "none"
                continue
            if allowed_writes is not None and call.name in WRITE_TOOLS and call.name not in allowed_writes:
                log.info("not running %s: the shopper's message did not ask for it", call.name)
                content = ToolOutcome(None, NOT_ASKED.format(name=call.name)).to_content()
                history.append(Message("tool", content, tool_call_id=call.id, name=call.name))
                choice = "none"
                continue
            if stop_repeats and call.name in CART_WRITES and _sku(call) in touched:
                # "add one" became add, then 2, 3, 4 of the same line: one change per line and turn
                content = ToolOutcome(None, CHANGED_ONCE.format(sku=_sku(call))).to_content()
                history.append(Message("tool", content, tool_call_id=call.id, name=call.name))
                choice = "none"
                continue
            emit(AgentEvent("tool_started", {"name": call.name, "arguments": call.arguments}))
            outcome = _noted(run_tool(call, by_name, ctx), notes.get(call.id, []))
            if call.name in CART_WRITES and outcome.error is None:
                touched.add(_sku(call))
            writes += call.name not in READ_ONLY
            done[_key(call)] = (outcome, writes)
            if stop_repeats and call.name not in READ_ONLY and _refused(outcome):
                choice = (
                    "none"  # the store said no (sold out, not allowed): tell the shopper, try nothing else
                )
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
