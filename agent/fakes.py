"""Test doubles of :class:`agent.llm.ChatModel`, beside the interface they stand in for.

``ScriptedModel`` plays a queue of replies (or raises queued errors); ``FunctionModel``
computes each reply from the history. Both record what they were sent, so tests can
assert on prompts, and both stream their text word by word like a real provider.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from agent.llm import Message, Reply, ToolCall, ToolSpec, Usage, new_call_id


def call(name: str, /, **arguments: Any) -> ToolCall:
    """A tool call with a fresh id, for building scripts: ``call("view_cart")``."""
    return ToolCall(id=new_call_id(), name=name, arguments=arguments)


def reply(text: str = "", *calls: ToolCall) -> Reply:
    return Reply(text=text, tool_calls=list(calls))


def _with_usage(result: Reply, messages: list[Message]) -> Reply:
    if result.usage.prompt_tokens or result.usage.completion_tokens:
        return result
    # A rough count keeps usage totals meaningful in tests without a tokenizer.
    prompt = sum(len(m.content.split()) + 4 * len(m.tool_calls) for m in messages)
    return Reply(result.text, result.tool_calls, Usage(prompt, len(result.text.split())))


def _words(text: str) -> Iterator[str]:
    yield from re.findall(r"\S+\s*|\s+", text)


@dataclass
class Sent:
    messages: list[Message]
    tools: list[ToolSpec]


Step = Reply | str | ToolCall | list[ToolCall] | Exception


class ScriptedModel:
    """Plays ``script`` in order: a str is a text answer, a ToolCall (or list) is a tool step,
    an exception is raised as the provider failing. Running past the end is a test bug."""

    def __init__(self, script: Iterable[Step] = (), name: str = "scripted") -> None:
        self.script: list[Step] = list(script)
        self.name = name
        self.sent: list[Sent] = []

    def push(self, *steps: Step) -> None:
        self.script.extend(steps)

    def _next(self, messages: list[Message], tools: list[ToolSpec]) -> Reply:
        self.sent.append(Sent(list(messages), list(tools)))
        if not self.script:
            raise AssertionError(f"ScriptedModel ran out of replies after {len(self.sent) - 1} calls")
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        if isinstance(step, str):
            return _with_usage(Reply(text=step), messages)
        if isinstance(step, ToolCall):
            return _with_usage(Reply(tool_calls=[step]), messages)
        if isinstance(step, list):
            return _with_usage(Reply(tool_calls=list(step)), messages)
        return _with_usage(step, messages)

    def complete(self, messages: list[Message], tools: list[ToolSpec]) -> Reply:
        return self._next(messages, tools)

    def stream(self, messages: list[Message], tools: list[ToolSpec]) -> Iterator[str | Reply]:
        result = self._next(messages, tools)
        yield from _words(result.text)
        yield result


ReplyFunction = Callable[[list[Message], list[ToolSpec]], Reply | str]


@dataclass
class FunctionModel:
    """Each reply is ``function(messages, tools)``: a Reply, or a str for a plain answer."""

    function: ReplyFunction
    name: str = "function"
    sent: list[Sent] = field(default_factory=list)

    def complete(self, messages: list[Message], tools: list[ToolSpec]) -> Reply:
        self.sent.append(Sent(list(messages), list(tools)))
        result = self.function(messages, tools)
        return _with_usage(Reply(text=result) if isinstance(result, str) else result, messages)

    def stream(self, messages: list[Message], tools: list[ToolSpec]) -> Iterator[str | Reply]:
        result = self.complete(messages, tools)
        yield from _words(result.text)
        yield result


def last_user_text(messages: list[Message]) -> str:
    return next((m.content for m in reversed(messages) if m.role == "user"), "")


def echo_model() -> FunctionModel:
    """A stand-in that answers without tools, for smoke and load runs without an LLM."""
    return FunctionModel(lambda messages, _tools: f"You said: {last_user_text(messages)}", name="fake")
