"""The one seam to a language model: small message and tool types, and the ChatModel protocol.

Everything outside the adapters speaks these types; the OpenAI SDK is imported only in
:mod:`agent.openai_model` and LangChain only in :mod:`agent.langchain_model`.

Errors of a model call::

    ModelError                 the provider failed; the turn degrades instead of crashing
    └── TransientModelError    worth retrying (429, 5xx, timeout, connection, malformed reply)
        └── MalformedReply     the reply could not be parsed (bad tool-call JSON, truncated stream)
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from shop.errors import ConfigError
from shop.settings import Settings

Role = Literal["system", "user", "assistant", "tool"]


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]
    raw_arguments: str = ""
    """The arguments as the model wrote them, kept for logs when parsing needed help."""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}


@dataclass
class Message:
    role: Role
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str = ""
    name: str = ""
    """For tool messages: the tool that produced the result."""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            data["tool_calls"] = [call.to_dict() for call in self.tool_calls]
        if self.tool_call_id:
            data["tool_call_id"] = self.tool_call_id
        if self.name:
            data["name"] = self.name
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        calls = [
            ToolCall(id=str(c["id"]), name=str(c["name"]), arguments=dict(c.get("arguments") or {}))
            for c in data.get("tool_calls") or []
        ]
        return cls(
            role=data["role"],
            content=str(data.get("content") or ""),
            tool_calls=calls,
            tool_call_id=str(data.get("tool_call_id") or ""),
            name=str(data.get("name") or ""),
        )


@dataclass
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]
    """JSON schema of the arguments object."""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens
        )

    def to_dict(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}


@dataclass
class Reply:
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)


class ChatModel(Protocol):
    name: str

    def complete(self, messages: list[Message], tools: list[ToolSpec]) -> Reply: ...

    def stream(self, messages: list[Message], tools: list[ToolSpec]) -> Iterator[str | Reply]:
        """Text deltas as they arrive, then the complete :class:`Reply` as the last item."""
        ...


ToolChoice = Literal["auto", "required", "none"]


class ChoosesTools(Protocol):
    """A model whose provider honours ``tool_choice`` (its ``supports_tool_choice`` is true):
    "required" makes the reply a tool call (on llama.cpp, under a JSON grammar), "none" text."""

    name: str
    supports_tool_choice: bool

    def complete(
        self, messages: list[Message], tools: list[ToolSpec], tool_choice: ToolChoice = "auto"
    ) -> Reply: ...


class ModelError(Exception):
    """The model provider failed in a way retrying will not fix (bad key, bad request)."""


class TransientModelError(ModelError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        """Seconds the provider asked us to wait (``Retry-After``), if it said."""


class MalformedReply(TransientModelError):
    pass


def stream_by_completing(
    model: ChatModel, messages: list[Message], tools: list[ToolSpec]
) -> Iterator[str | Reply]:
    """A ``stream`` for models that cannot stream: the whole text as one delta, then the reply."""
    reply = model.complete(messages, tools)
    if reply.text:
        yield reply.text
    yield reply


def new_call_id() -> str:
    """An id for a tool call the provider left without one (ids must not repeat in a conversation)."""
    return f"call_{secrets.token_hex(6)}"


def parse_arguments(raw: str | dict[str, Any] | None) -> dict[str, Any]:
    """Tool-call arguments as a dict; :class:`MalformedReply` when they are not a JSON object."""
    if isinstance(raw, dict):
        return raw
    if raw is None or not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise MalformedReply(f"tool-call arguments are not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise MalformedReply("tool-call arguments must be a JSON object")
    return value


def get_model(name: str, settings: Settings) -> ChatModel:
    """Build a model from its name: ``offline``, ``openai:MODEL``, ``langchain:PROVIDER:MODEL``,
    or the fakes ``fake`` / ``scripted`` (an echoing stand-in for smoke runs)."""
    if name == "offline":
        from agent.offline import OfflineModel

        return OfflineModel(settings)
    if name.startswith("openai:"):
        from agent.openai_model import OpenAIModel

        model = name.removeprefix("openai:").strip()
        if not model:
            raise ConfigError("SHOPAGENT_MODEL=openai:MODEL needs a model name, e.g. openai:gpt-4o-mini")
        return OpenAIModel.from_settings(model, settings)
    if name.startswith("langchain:"):
        from agent.langchain_model import LangChainModel

        provider, _, model = name.removeprefix("langchain:").partition(":")
        if not provider or not model:
            raise ConfigError(
                "SHOPAGENT_MODEL=langchain:PROVIDER:MODEL needs both, e.g. langchain:openai:gpt-4o-mini"
            )
        return LangChainModel.from_name(provider, model, settings)
    if name in ("fake", "scripted") or name.startswith(("fake:", "scripted:")):
        from agent.fakes import echo_model

        return echo_model()
    raise ConfigError(f"unknown model {name!r}: use 'offline', 'openai:MODEL' or 'langchain:PROVIDER:MODEL'")
