"""Retries, backoff and time limits for model calls: the one layer that does them.

The SDKs' own retries are switched off (``max_retries=0``), so a failing provider is
retried here and only here: transient errors (429 honouring ``Retry-After``, 5xx,
timeouts, dropped connections, malformed tool calls) are retried with exponential backoff
and jitter, within the retry count and the turn's deadline. Past either, the caller gets
:class:`ModelUnavailable` and degrades the turn instead of failing it.

The deadline also bounds each attempt: adapters shorten their HTTP timeout to the time the
turn has left (:func:`call_timeout`), and a stream that is still talking at the deadline
is cut off, so a hanging or trickling provider cannot hold a turn past its budget.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

from agent.llm import ChatModel, MalformedReply, Message, ModelError, Reply, ToolSpec, TransientModelError

log = logging.getLogger(__name__)
T = TypeVar("T")


class ModelUnavailable(ModelError):
    """Retries or time ran out; the turn falls back to the offline engine or an apology."""


_time_left: ContextVar[float | None] = ContextVar("shopagent_model_time_left", default=None)


@contextmanager
def _limited(seconds: float) -> Iterator[None]:
    token = _time_left.set(seconds)
    try:
        yield
    finally:
        _time_left.reset(token)


def call_timeout(default: float) -> float:
    """Seconds an adapter may wait for the provider: its own ``default``, or less when the
    current turn has less time left (set around every attempt by :func:`request`)."""
    left = _time_left.get()
    return default if left is None else max(0.01, min(default, left))


@dataclass
class RetryPolicy:
    retries: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    sleep: Callable[[float], None] = field(default=time.sleep)
    clock: Callable[[], float] = field(default=time.monotonic)

    def delay(self, attempt: int, error: TransientModelError) -> float:
        wait: float | None = error.retry_after
        if wait is not None:
            return max(0.0, wait)
        backoff = min(self.max_delay_s, self.base_delay_s * 2.0 ** (attempt - 1))
        return backoff * random.uniform(0.5, 1.0)  # jitter spreads out clients retrying together


def retrying(
    action: Callable[[], T],
    policy: RetryPolicy,
    deadline: float,
    on_retry: Callable[[int, Exception], None] | None = None,
) -> T:
    """Run ``action``, retrying transient model errors within ``policy`` and ``deadline``."""
    attempt = 0
    while True:
        try:
            return action()
        except TransientModelError as exc:
            attempt += 1
            if attempt > policy.retries:
                raise ModelUnavailable(f"model failed after {policy.retries} retries: {exc}") from exc
            wait = policy.delay(attempt, exc)
            if policy.clock() + wait >= deadline:
                raise ModelUnavailable(f"no time left to retry: {exc}") from exc
            log.warning("model call failed (%s); retry %d in %.1fs", exc, attempt, wait)
            if on_retry is not None:
                on_retry(attempt, exc)
            policy.sleep(wait)


def request(
    model: ChatModel,
    messages: list[Message],
    tools: list[ToolSpec],
    policy: RetryPolicy,
    deadline: float,
    on_token: Callable[[str], None] | None = None,
    on_retry: Callable[[int, Exception], None] | None = None,
) -> Reply:
    """One model reply, streamed to ``on_token`` when given, with retries."""

    def once() -> Reply:
        final: Reply | None = None
        with _limited(deadline - policy.clock()):
            if on_token is None:
                final = model.complete(messages, tools)
            else:
                items = model.stream(messages, tools)
                try:
                    for item in items:
                        if isinstance(item, Reply):
                            final = item
                        else:
                            on_token(item)
                        if final is None and policy.clock() >= deadline:
                            raise ModelUnavailable(
                                "the reply was still streaming when the turn's time ran out"
                            )
                finally:
                    close = getattr(items, "close", None)
                    if close is not None:
                        close()  # release the provider's connection now, not when collected
        if final is None:
            raise MalformedReply("the stream ended before the reply was complete")
        if not final.text.strip() and not final.tool_calls:
            raise MalformedReply("the model returned an empty reply")
        return final

    return retrying(once, policy, deadline, on_retry)
