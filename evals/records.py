"""What a run records: per turn the tool calls, reply, tokens and latency; per trial the verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ToolCallLog:
    name: str
    arguments: dict[str, Any]
    result: Any = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments, "result": self.result, "error": self.error}


@dataclass
class TurnLog:
    user: str
    reply: str = ""
    tool_calls: list[ToolCallLog] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    handoff: bool = False
    lang: str = ""
    """The language the agent believed it was answering in."""
    error: str | None = None
    """Set when the turn raised instead of answering (counts as a failure)."""
    model: str = ""
    """The model that wrote the reply (``offline`` when the agent fell back to the offline engine)."""

    def called(self, name: str) -> list[ToolCallLog]:
        return [call for call in self.tool_calls if call.name == name]

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "reply": self.reply,
            "tool_calls": [call.to_dict() for call in self.tool_calls],
            "tokens": {"prompt": self.prompt_tokens, "completion": self.completion_tokens},
            "latency_s": round(self.latency_s, 4),
            "handoff": self.handoff,
            "lang": self.lang,
            "error": self.error,
            "model": self.model,
        }


@dataclass
class FinalState:
    """The store after the last turn, as far as ``final:`` expectations ask about it."""

    cart: dict[str, int] = field(default_factory=dict)
    orders_placed: int = 0
    order_status: dict[str, str | None] = field(default_factory=dict)
    """Status of each order the dialogue asks about (None: no such order)."""


@dataclass(frozen=True)
class CheckResult:
    check: str
    """Name of the check, e.g. ``tools``, ``grounding``, ``final.cart``."""
    passed: bool
    reason: str = ""
    turn: int | None = None
    """0-based turn index, None for dialogue-level checks."""

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "turn": self.turn, "reason": self.reason}


@dataclass
class TrialResult:
    dialogue_id: str
    trial: int
    lang: str
    turns: list[TurnLog]
    checks: list[CheckResult] = field(default_factory=list)
    error: str | None = None
    """Set when the trial could not run to the end (agent crash, setup failure)."""

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]

    @property
    def passed(self) -> bool:
        return self.error is None and not self.failures

    @property
    def prompt_tokens(self) -> int:
        return sum(t.prompt_tokens for t in self.turns)

    @property
    def completion_tokens(self) -> int:
        return sum(t.completion_tokens for t in self.turns)

    @property
    def latency_s(self) -> float:
        return sum(t.latency_s for t in self.turns)
