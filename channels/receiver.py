"""A webhook receiver for testing an integration: checks signatures the way a merchant's
system should, and keeps what it received.

``WebhookReceiver.handle`` takes an ``httpx.Request`` and returns an ``httpx.Response``, so it
plugs into ``httpx.MockTransport`` in tests; ``python -m channels.receiver --secret whsec_...``
serves it on a local port and prints each verified event, for trying a real setup::

    python -m channels.receiver --port 9000 --secret "$SECRET"
    # then register http://127.0.0.1:9000/ as a webhook endpoint and send a test event
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from channels.base import ChannelError
from channels.signing import DELIVERY_HEADER, verify
from shop.models import utcnow


@dataclass
class WebhookReceiver:
    secret: str
    tolerance_s: int = 300
    clock: Callable[[], datetime] = utcnow
    fail_next: int = 0
    """Answer this many requests with 503 first (to watch retries)."""
    events: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def receive(self, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return 503, "try again later"
            try:
                verify(self.secret, headers, body, self.clock(), self.tolerance_s)
            except ChannelError as exc:
                self.refused.append(str(exc))
                return exc.status_code, str(exc)
            delivery = headers.get(DELIVERY_HEADER, "")
            if delivery in self._seen:  # at-least-once delivery: acknowledge, do not apply twice
                return 200, "duplicate"
            self._seen.add(delivery)
            self.events.append(json.loads(body))
            return 200, "ok"

    def handle(self, request: httpx.Request) -> httpx.Response:
        headers = {key.title(): value for key, value in request.headers.items()}
        status, text = self.receive(headers, request.read())
        return httpx.Response(status, text=text)


def serve(receiver: WebhookReceiver, host: str = "127.0.0.1", port: int = 9000) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server naming)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {key.title(): value for key, value in self.headers.items()}
            status, text = receiver.receive(headers, body)
            if status == 200 and text == "ok":
                print(json.dumps(receiver.events[-1], ensure_ascii=False, indent=2), flush=True)
            else:
                print(f"{status}: {text}", flush=True)
            self.send_response(status)
            self.end_headers()
            self.wfile.write(text.encode())

    ThreadingHTTPServer((host, port), Handler).serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Receive and verify shopagent webhooks locally.")
    parser.add_argument("--secret", required=True, help="The merchant's signing secret (whsec_...).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--tolerance", type=int, default=300, help="Replay window in seconds.")
    args = parser.parse_args(argv)
    print(f"listening on http://{args.host}:{args.port}/", flush=True)
    serve(WebhookReceiver(args.secret, args.tolerance), args.host, args.port)


if __name__ == "__main__":
    main()
