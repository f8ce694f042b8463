"""The shared shape of the engine's decisions: a step either calls tools or answers.

Handlers (in :mod:`shopping`, :mod:`ordering` and :mod:`talk`) receive a :class:`Context`
holding the parsed conversation, the understood request and the tool calls already made in
this turn, and return the next :class:`Step`. Being called again after the tools ran, a
handler reads their results from ``ctx.step`` and decides again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.llm import ToolCall
from agent.offline.history import Conversation, Event
from agent.offline.render import Writer
from agent.offline.slots import Slots


@dataclass
class Frame:
    """What the shopper asked for in this turn."""

    intent: str
    slots: Slots
    text: str
    carried: bool = False
    """True when the intent continues the previous turn's request (e.g. an email was missing)."""
    sure: bool = True
    """False when the intent is a fallback (nothing matched well enough)."""
    score: float = 1.0
    preface: str = ""
    """A reply template said before the answer (e.g. refusing an instruction in the message)."""


@dataclass
class Step:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    text: str = ""

    @classmethod
    def say(cls, text: str) -> Step:
        return cls(text=text)

    @classmethod
    def call(cls, name: str, **arguments: Any) -> Step:
        return cls(calls=[(name, {k: v for k, v in arguments.items() if v is not None})])


@dataclass
class Context:
    conv: Conversation
    frame: Frame
    writer: Writer
    tools: frozenset[str]
    similar: Callable[[str, list[str]], list[float]] | None = None
    """Meaning similarity of a text to candidate texts (the embedder), when available."""

    @property
    def step(self) -> list[Event]:
        """Tool calls already made in this turn, with their results."""
        return self.conv.current.events

    def ran(self, name: str) -> list[Event]:
        return [e for e in self.step if e.name == name]

    def last(self) -> Event | None:
        return self.step[-1] if self.step else None

    def can(self, tool: str) -> bool:
        return tool in self.tools

    @property
    def slots(self) -> Slots:
        return self.frame.slots


def tool_calls(step: Step, history: str) -> list[ToolCall]:
    """ToolCalls with ids derived from the history they answer: unique within a conversation
    (every step sees a longer history), and the same for the same history."""
    digest = hashlib.sha1(history.encode("utf-8")).hexdigest()[:12]
    return [
        ToolCall(id=f"offline-{digest}-{i}", name=name, arguments=args)
        for i, (name, args) in enumerate(step.calls)
    ]
