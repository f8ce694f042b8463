"""``langchain:PROVIDER:MODEL``: any LangChain chat model, through ``init_chat_model`` and ``bind_tools``.

LangChain's provider classes raise their SDKs' exceptions; they are sorted into transient
(rate limits, 5xx, timeouts, connections) and permanent ones by status code and name, so
:mod:`agent.resilience` retries them like any other model's.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from agent.llm import (
    MalformedReply,
    Message,
    ModelError,
    Reply,
    ToolCall,
    ToolSpec,
    TransientModelError,
    Usage,
    new_call_id,
)
from agent.resilience import call_timeout
from agent.text_tool_calls import calls_in_text
from shop.errors import ConfigError
from shop.settings import Settings

_TRANSIENT_NAMES = (
    "RateLimit",
    "Timeout",
    "Connection",
    "ServiceUnavailable",
    "InternalServer",
    "Overloaded",
)


def translate(exc: Exception) -> ModelError:
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    name = type(exc).__name__
    if (isinstance(status, int) and (status == 429 or status >= 500)) or any(
        n in name for n in _TRANSIENT_NAMES
    ):
        headers = getattr(getattr(exc, "response", None), "headers", None) or {}
        try:
            retry_after: float | None = (
                float(str(headers["retry-after"])) if "retry-after" in headers else None
            )
        except (TypeError, ValueError):
            retry_after = None
        return TransientModelError(f"provider failed: {name}", retry_after)
    return ModelError(f"provider call failed: {name}: {exc}")


def to_langchain(message: Message) -> BaseMessage:
    if message.role == "system":
        return SystemMessage(content=message.content)
    if message.role == "user":
        return HumanMessage(content=message.content)
    if message.role == "tool":
        return ToolMessage(
            content=message.content, tool_call_id=message.tool_call_id, name=message.name or None
        )
    return AIMessage(
        content=message.content,
        tool_calls=[
            {"name": c.name, "args": c.arguments, "id": c.id, "type": "tool_call"} for c in message.tool_calls
        ],
    )


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            b if isinstance(b, str) else str(b.get("text", "")) for b in content if isinstance(b, str | dict)
        )
    return ""


def from_langchain(ai: AIMessage, tools: list[ToolSpec]) -> Reply:
    if ai.invalid_tool_calls:
        raise MalformedReply(f"invalid tool call from the model: {ai.invalid_tool_calls[0].get('error')}")
    calls = [
        ToolCall(id=c.get("id") or new_call_id(), name=c["name"], arguments=dict(c.get("args") or {}))
        for c in ai.tool_calls
    ]
    text = _text(ai.content)
    if not calls and (written := calls_in_text(text, [t.name for t in tools])):
        calls, text = written, ""
    meta = ai.usage_metadata
    usage = Usage(meta["input_tokens"], meta["output_tokens"]) if meta else Usage()
    return Reply(text, calls, usage)


_calls = ThreadPoolExecutor(max_workers=4, thread_name_prefix="langchain-call")
"""Where provider calls run, so that the caller can stop waiting at the turn's deadline."""


class LangChainModel:
    def __init__(self, chat: BaseChatModel, name: str = "langchain", timeout_s: float = 30.0) -> None:
        self.chat = chat
        self.name = name
        self.timeout_s = timeout_s
        """The longest wait for one reply; shorter when the turn has less time left."""

    def _invoke(self, tools: list[ToolSpec], messages: list[Message]) -> Any:
        """The provider's reply, waited for no longer than the turn's time allows. Providers
        differ in how (and whether) they take a per-call timeout, so the wait is capped here;
        a call still running past it finishes in the background under the provider's own timeout."""
        limit = call_timeout(self.timeout_s)
        future = _calls.submit(self._bound(tools).invoke, [to_langchain(m) for m in messages])
        try:
            return future.result(timeout=limit)
        except FutureTimeout:
            future.cancel()
            raise TransientModelError(f"no reply within {limit:.1f} s") from None

    @classmethod
    def from_name(cls, provider: str, model: str, settings: Settings) -> LangChainModel:
        from langchain.chat_models import init_chat_model

        try:
            chat = init_chat_model(
                model, model_provider=provider, timeout=settings.model_timeout_s, max_retries=0
            )
        except (ImportError, ValueError) as exc:
            raise ConfigError(f"langchain:{provider}:{model} cannot be used: {exc}") from None
        if not isinstance(chat, BaseChatModel):
            raise ConfigError(f"langchain:{provider}:{model} did not give a chat model")
        return cls(chat, f"langchain:{provider}:{model}", settings.model_timeout_s)

    def _bound(self, tools: list[ToolSpec]) -> Any:
        if not tools:
            return self.chat
        return self.chat.bind_tools([{"type": "function", "function": t.to_dict()} for t in tools])

    def complete(self, messages: list[Message], tools: list[ToolSpec]) -> Reply:
        try:
            ai = self._invoke(tools, messages)
        except ModelError:
            raise
        except Exception as exc:
            raise translate(exc) from exc
        if not isinstance(ai, AIMessage):
            raise MalformedReply(f"expected an AI message, got {type(ai).__name__}")
        return from_langchain(ai, tools)

    def stream(self, messages: list[Message], tools: list[ToolSpec]) -> Iterator[str | Reply]:
        merged: AIMessage | AIMessageChunk | None = None
        try:
            for chunk in self._bound(tools).stream([to_langchain(m) for m in messages]):
                merged = chunk if merged is None else merged + chunk
                if text := _text(chunk.content):
                    yield text
        except Exception as exc:
            raise translate(exc) from exc
        if merged is None:
            raise MalformedReply("the stream ended without a message")
        final = AIMessage(
            content=merged.content,
            tool_calls=merged.tool_calls,
            invalid_tool_calls=merged.invalid_tool_calls,
            usage_metadata=merged.usage_metadata,
        )
        yield from_langchain(final, tools)
