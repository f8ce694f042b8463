"""Structured (JSON-lines) logs with personal and secret data redacted before they are written.

Redaction runs in a logging *filter* on the handler, so every record that reaches the
output is cleaned: emails, card-like numbers, API keys, bearer tokens and long random
tokens in the text; and whole values under keys that name personal data (address, email,
phone, name, ...) in structured extras. Logs are kept for operators, who need the shape of
a request, not who made it.

(Named ``logs`` rather than ``logging`` so it never shadows the standard library module.)
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("shopagent.http")

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)\bbearer\s+[^\s\"',]+"), "Bearer [token]"),
    (re.compile(r"\bsa_[A-Za-z0-9]{6,}_[A-Za-z0-9_-]{10,}"), "[api-key]"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    # 13-19 digits, optionally grouped by spaces or dashes: card numbers (PAN).
    (re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])"), "[card]"),
    (re.compile(r"\+\d[\d ()-]{7,}\d"), "[phone]"),
    (re.compile(r"\b[A-Za-z0-9_-]{32,}\b"), "[token]"),
]
SENSITIVE_KEYS = frozenset(
    {
        "address",
        "shipping_address",
        "billing_address",
        "line1",
        "line2",
        "street",
        "postal_code",
        "zip",
        "city",
        "email",
        "phone",
        "name",
        "first_name",
        "last_name",
        "authorization",
        "x-api-key",
        "api_key",
        "cookie",
        "set-cookie",
        "password",
        "token",
        "card",
        "card_number",
        "idempotency-key",
        "idempotency_key",
        "message",
        "comment",
    }
)
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}


def redact_text(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any, key: str = "") -> Any:
    """``value`` with personal data and secrets replaced, recursively through dicts and lists."""
    if key.lower() in SENSITIVE_KEYS and value not in (None, "", [], {}):
        return "[redacted]"
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def fingerprint(secret: str) -> str:
    """A short stable tag for a session id or key: enough to follow a session through logs."""
    return hashlib.sha256(secret.encode()).hexdigest()[:10] if secret else ""


def client_network(host: str | None) -> str:
    """The client's address truncated to its network (/24 or /48): coarse on purpose."""
    if not host:
        return ""
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return "[host]"
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))


class RedactingFilter(logging.Filter):
    """Rewrites each record in place: the formatted message and every extra, redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_ATTRS:
                setattr(record, name, redact(value, name))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update({k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS})
        if record.exc_text:
            data["exc"] = record.exc_text
        return json.dumps(data, ensure_ascii=False, default=str)


def make_handler(stream: TextIO | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    return handler


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send all logs (ours, uvicorn's, libraries') through one redacting JSON handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_shopagent", False):
            root.removeHandler(handler)
    handler = make_handler(stream)
    handler._shopagent = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


class AccessLogMiddleware:
    """One structured line per request: method, path (no query), status, duration, session tag.

    Query strings and bodies are never logged: they are where shoppers' emails would be.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = uuid.uuid4().hex[:16]
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            client = scope.get("client")
            state = scope.get("state") or {}
            log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "client": client_network(client[0] if client else None),
                    "session": state.get("session_tag", ""),
                    "merchant": state.get("merchant_id", ""),
                },
            )
