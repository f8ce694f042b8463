"""Rate limits (token buckets per session and per client address) and request body caps.

Buckets live in memory: one server process is the deployment this project targets, and a
restart forgiving everyone is harmless. Keys are bounded (oldest evicted) so a flood of
fresh session ids or addresses cannot grow memory without limit.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, status
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_KEYS = 100_000
JSON_BODY_LIMIT = 256 * 1024
"""Shopper and merchant JSON bodies: a chat message is capped far below this anyway."""


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucket:
    """``capacity`` requests at once, refilled at ``capacity / period_s`` per second."""

    def __init__(self, capacity: int, period_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(capacity)
        self.rate = capacity / period_s
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()  # sync dependencies run in worker threads

    def take(self, key: str) -> float:
        """Spend one token; returns 0 when allowed, else the seconds until one is available."""
        with self._lock:
            now = self.clock()
            bucket = self._buckets.pop(key, None) or _Bucket(self.capacity, now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            self._buckets[key] = bucket
            if len(self._buckets) > MAX_KEYS:
                self._buckets.popitem(last=False)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate


@dataclass(frozen=True)
class Quota:
    per_session: TokenBucket
    per_address: TokenBucket
    what: str

    def check(self, session_key: str, address: str) -> None:
        """Raise 429 with ``Retry-After`` when either the session or the address is over its rate."""
        wait = max(
            self.per_session.take(session_key) if session_key else 0.0,
            self.per_address.take(address) if address else 0.0,
        )
        if wait > 0:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                detail=f"too many {self.what} requests: try again in {math.ceil(wait)} s",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )


@dataclass(frozen=True)
class RateLimits:
    chat: Quota
    """Chat turns and cart or checkout writes."""
    lookup: Quota
    """Order lookups and privacy requests: the routes that take an email."""

    def new_session(self, address: str) -> None:
        """Creating a session costs the address one chat request (bounds rows per client)."""
        self.chat.check("", address)

    @classmethod
    def build(
        cls,
        per_session_per_min: int,
        per_address_per_min: int,
        lookups_per_hour: int,
        lookup_address_per_hour: int,
    ) -> RateLimits:
        return cls(
            chat=Quota(
                TokenBucket(per_session_per_min, 60.0), TokenBucket(per_address_per_min, 60.0), "chat"
            ),
            lookup=Quota(
                TokenBucket(lookups_per_hour, 3600.0), TokenBucket(lookup_address_per_hour, 3600.0), "lookup"
            ),
        )


class BodyLimitMiddleware:
    """Refuse request bodies over a size with 413, whether or not a Content-Length is sent.

    ``limit_for(path)`` gives the cap for a route (uploads get the configured upload size).
    Counting the stream matters: a chunked body has no length to check up front.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _too_large(send, limit)
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail=_too_large_text(limit))
            return message

        await self.app(scope, counting_receive, send)


def _too_large_text(limit: int) -> str:
    return f"request body too large: the limit is {limit} bytes"


async def _too_large(send: Send, limit: int) -> None:
    body = ('{"detail":"' + _too_large_text(limit) + '","code":"too_large"}').encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
