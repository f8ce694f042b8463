"""What a turn reports while it runs (for streaming) and when it ends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from agent.llm import Usage

EventType = Literal["token", "tool_started", "tool_finished", "cart", "done", "error"]


@dataclass
class AgentEvent:
    type: EventType
    data: dict[str, Any] = field(default_factory=dict)


EventSink = Callable[[AgentEvent], None]


@dataclass
class ToolCallRecord:
    name: str
    arguments: dict[str, Any]
    result: Any
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments, "result": self.result, "error": self.error}


@dataclass
class TurnResult:
    session_id: str
    reply: str
    tool_calls: list[ToolCallRecord]
    cart: dict[str, Any]
    usage: Usage
    latency_s: float
    handoff: bool
    lang: str
    model: str = ""
    """The model that wrote the reply (``offline`` after a fallback)."""
    prompt_tokens: list[int] = field(default_factory=list)
    """Prompt tokens of each model call in this turn, as counted before sending."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "reply": self.reply,
            "cart": self.cart,
            "tool_calls": [c.to_dict() for c in self.tool_calls],
            "usage": self.usage.to_dict(),
            "latency_s": self.latency_s,
            "handoff": self.handoff,
            "lang": self.lang,
        }
