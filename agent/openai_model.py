"""``openai:MODEL``: chat completions with tools through the OpenAI SDK (the only module importing it).

Works unchanged against any OpenAI-compatible server (vLLM, Ollama, llama.cpp) through
``OPENAI_BASE_URL``. Quirks of such servers are absorbed here: an assistant message with
tool calls carries ``""`` rather than ``null`` content (some servers reject null), and a
tool call written as JSON in the text is read as a call. The SDK's own retries are off;
errors are translated into :mod:`agent.llm` errors for :mod:`agent.resilience` to retry.
(The SDK's HTTP layer is ``httpx2``; tests hand it an ``httpx2.Client`` with a MockTransport.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import openai

from agent.llm import (
    MalformedReply,
    Message,
    ModelError,
    Reply,
    ToolCall,
    ToolChoice,
    ToolSpec,
    TransientModelError,
    Usage,
    new_call_id,
    parse_arguments,
)
from agent.resilience import call_timeout
from agent.text_tool_calls import calls_in_text, may_be_call
from shop.errors import ConfigError
from shop.settings import Settings

RETRYABLE_STATUS = {408, 409, 425, 429}


def _retry_after(response: httpx2.Response | None) -> float | None:
    if response is None:
        return None
    millis = response.headers.get("retry-after-ms")
    seconds = response.headers.get("retry-after")
    try:
        if millis is not None:
            return float(millis) / 1000
        if seconds is not None:
            return float(seconds)
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
    return None


def translate(exc: Exception) -> ModelError:
    """The SDK's exception as one of ours: transient ones get retried, the rest do not."""
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status in RETRYABLE_STATUS or status >= 500:
            return TransientModelError(f"provider answered HTTP {status}", _retry_after(exc.response))
        return ModelError(f"provider refused the request (HTTP {status}): {exc.message}")
    if isinstance(exc, openai.APITimeoutError | openai.APIConnectionError | httpx2.TransportError):
        return TransientModelError(f"provider unreachable: {exc.__class__.__name__}")
    if isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError):
        return MalformedReply(f"provider sent an unreadable response: {exc}")
    if isinstance(exc, openai.APIError):  # an error event inside a stream: the server failed mid-reply
        return TransientModelError(f"provider failed while answering: {exc.message}")
    return ModelError(f"provider call failed: {exc.__class__.__name__}: {exc}")


def to_openai(message: Message) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    data: dict[str, Any] = {"role": message.role, "content": message.content or ""}
    if message.tool_calls:
        data["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False)},
            }
            for call in message.tool_calls
        ]
    return data


class OpenAIModel:
    def __init__(
        self,
        model: str,
        client: openai.OpenAI,
        supports_tool_choice: bool = True,
        max_tokens: int | None = None,
    ) -> None:
        self.model = model
        self.client = client
        self.max_tokens = max_tokens
        """Cap on the reply's tokens (a weak model can repeat itself until the context is full)."""
        self.name = f"openai:{model}"
        self.supports_tool_choice = supports_tool_choice
        """Send ``tool_choice`` when the loop asks for one (``SHOPAGENT_TOOL_CHOICE=guided``)."""

    @classmethod
    def from_settings(
        cls, model: str, settings: Settings, http_client: httpx2.Client | None = None
    ) -> OpenAIModel:
        if settings.openai_api_key is not None:
            key = settings.openai_api_key.get_secret_value()
        elif settings.openai_base_url:
            key = "not-needed"  # local servers accept any key
        else:
            raise ConfigError("openai:MODEL needs OPENAI_API_KEY, or OPENAI_BASE_URL for a local server")
        client = openai.OpenAI(
            api_key=key,
            base_url=settings.openai_base_url,
            max_retries=0,  # retries happen once, in agent.resilience
            timeout=settings.model_timeout_s,
            http_client=http_client,
        )
        return cls(
            model,
            client,
            supports_tool_choice=settings.tool_choice == "guided",
            max_tokens=settings.max_output_tokens,
        )

    def _timeout(self) -> Any:
        """The client's timeout, shortened to the time the turn has left."""
        own = self.client.timeout
        return call_timeout(float(own)) if isinstance(own, int | float) else own

    def _body(
        self, messages: list[Message], tools: list[ToolSpec], tool_choice: ToolChoice = "auto"
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": [to_openai(m) for m in messages]}
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if tools:
            body["tools"] = [{"type": "function", "function": t.to_dict()} for t in tools]
            if tool_choice != "auto" and self.supports_tool_choice:
                body["tool_choice"] = tool_choice
        return body

    def complete(
        self, messages: list[Message], tools: list[ToolSpec], tool_choice: ToolChoice = "auto"
    ) -> Reply:
        try:
            response = self.client.chat.completions.create(
                **self._body(messages, tools, tool_choice), timeout=self._timeout()
            )
        except Exception as exc:
            raise translate(exc) from exc
        if not response.choices:
            raise MalformedReply("the response has no choices")
        message = response.choices[0].message
        calls = [
            ToolCall(
                id=tc.id or new_call_id(),
                name=tc.function.name,
                arguments=parse_arguments(tc.function.arguments),
                raw_arguments=tc.function.arguments or "",
            )
            for tc in message.tool_calls or []
            if tc.type == "function"
        ]
        text = message.content or ""
        if not calls and tool_choice != "none" and (written := calls_in_text(text, [t.name for t in tools])):
            calls, text = written, ""
        usage = response.usage
        return Reply(
            text=text,
            tool_calls=calls,
            usage=Usage(usage.prompt_tokens, usage.completion_tokens) if usage else Usage(),
        )

    def stream(self, messages: list[Message], tools: list[ToolSpec]) -> Iterator[str | Reply]:
        body = self._body(messages, tools)
        parts: list[str] = []
        slots: dict[int, dict[str, str]] = {}
        usage = Usage()
        holding = bool(tools)  # text that may be a JSON tool call is held back until we know
        finished = False
        try:
            with self.client.chat.completions.create(
                **body, stream=True, stream_options={"include_usage": True}, timeout=self._timeout()
            ) as chunks:
                for chunk in chunks:
                    if chunk.usage is not None:
                        usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                    if not chunk.choices:
                        continue
                    finished = finished or chunk.choices[0].finish_reason is not None
                    delta = chunk.choices[0].delta
                    for tc in delta.tool_calls or []:
                        slot = slots.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                        slot["id"] = tc.id or slot["id"]
                        if tc.function is not None:
                            slot["name"] += tc.function.name or ""
                            slot["arguments"] += tc.function.arguments or ""
                    if delta.content:
                        parts.append(delta.content)
                        if holding and not may_be_call("".join(parts)):
                            holding = False
                            yield "".join(parts)
                        elif not holding:
                            yield delta.content
        except Exception as exc:
            raise translate(exc) from exc
        if not finished:
            # Every OpenAI-compatible server ends a reply with a finish_reason; without one the
            # connection was cut mid-reply, and the partial text must not pass for an answer.
            raise MalformedReply("the stream was cut off before the reply was complete")
        text = "".join(parts)
        calls = [
            ToolCall(
                id=s["id"] or new_call_id(),
                name=s["name"],
                arguments=parse_arguments(s["arguments"]),
                raw_arguments=s["arguments"],
            )
            for _, s in sorted(slots.items())
        ]
        if not calls and (written := calls_in_text(text, [t.name for t in tools])):
            calls, text = written, ""
        elif holding and text:
            yield text
        yield Reply(text=text, tool_calls=calls, usage=usage)
