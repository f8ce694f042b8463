"""Load test of the chat API: hundreds of concurrent shoppers against a real server on loopback.

    python -m benchmarks.load_chat [--sessions 300] [--turns 3] [--latency 0.05] [--stream]

A child process serves the app with uvicorn on 127.0.0.1 and a fake model that takes
``--latency`` seconds per call (no LLM, no network). The parent opens ``--sessions``
conversations at once with httpx and asyncio; each sends ``--turns`` messages in a row,
continuing its session by id. It reports latency percentiles, the server overhead (latency
minus the model's time) and errors, then checks through the merchant API that every
conversation stored every turn: nothing lost, nothing mixed up between sessions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

MERCHANT = "load"
ROOT = Path(__file__).resolve().parents[1]


# -- the server (child process) -------------------------------------------------------------
class _NoRetrieval:
    def search_products(
        self, merchant_id: str, query: str, filters: Any = None, limit: int = 10
    ) -> list[Any]:
        return []

    def search_policies(self, merchant_id: str, query: str, limit: int = 5) -> list[Any]:
        return []


def serve(port: int, home: Path, latency: float, concurrency: int, key_file: Path) -> None:
    import uvicorn

    from agent.fakes import FunctionModel, last_user_text
    from agent.service import Agent
    from api.keys import create_api_key
    from server import create_app
    from shop.catalog import ensure_merchant
    from shop.db import open_database
    from shop.payments import TestProvider
    from shop.settings import Settings

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        home=home,
        merchant=MERCHANT,
        embedder="hash",
        payment_provider="test",
        rate_limit_per_session=10_000,
        rate_limit_per_address=1_000_000,
        chat_concurrency=concurrency,
    )
    db = open_database(settings)
    with db.session() as session:
        ensure_merchant(session, MERCHANT, "EUR", "Load Test Shop").languages = ["en"]
    key_file.write_text(create_api_key(db, MERCHANT, "load test").key)

    def slow_echo(messages: list[Any], _tools: list[Any]) -> str:
        time.sleep(latency)  # a provider answering in `latency` seconds; the thread waits, as with a real SDK
        return f"You said: {last_user_text(messages)}"

    agent = Agent(settings, db, _NoRetrieval(), FunctionModel(slow_echo, name="slow-echo"), TestProvider())
    uvicorn.run(
        create_app(settings, agent),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        log_level="warning",
        backlog=2048,
        timeout_keep_alive=75,  # longer than the client's keep-alive, so the client always closes first
    )


# -- the shoppers (parent process) ---------------------------------------------------------
@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sessions: dict[str, int] = field(default_factory=dict)
    """session id -> turns answered"""


async def _turn(client: httpx.AsyncClient, session_id: str | None, text: str, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"message": text}
    if session_id:
        body["session_id"] = session_id
    if not stream:
        response = await client.post(f"/v1/chat?merchant={MERCHANT}", json=body)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]
    done: dict[str, Any] | None = None
    async with client.stream("POST", f"/v1/chat/stream?merchant={MERCHANT}", json=body) as response:
        response.raise_for_status()
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "done":
                done = json.loads(line[6:])
    if done is None:
        raise RuntimeError("stream ended without a done event")
    return done


async def shopper(client: httpx.AsyncClient, n: int, turns: int, stream: bool, results: Results) -> None:
    session_id: str | None = None
    for t in range(turns):
        text = f"shopper {n} turn {t}"
        started = time.perf_counter()
        try:
            answer = await _turn(client, session_id, text, stream)
        except Exception as exc:  # every failure counts, whatever its kind
            results.errors.append(f"shopper {n} turn {t}: {type(exc).__name__}: {exc}")
            return
        results.latencies.append(time.perf_counter() - started)
        if answer["reply"] != f"You said: {text}" or (session_id and answer["session_id"] != session_id):
            results.errors.append(f"shopper {n} turn {t}: wrong reply or session")
            return
        session_id = answer["session_id"]
        results.sessions[session_id] = t + 1


async def verify(client: httpx.AsyncClient, key: str, results: Results) -> int:
    """Conversations whose stored history lacks an answered turn (0 means nothing was lost)."""
    missing = 0
    headers = {"Authorization": f"Bearer {key}"}
    for session_id, answered in results.sessions.items():
        response = await client.get(f"/v1/merchants/{MERCHANT}/conversations/{session_id}", headers=headers)
        stored = response.json().get("messages") or []
        users = [m["content"] for m in stored if m["role"] == "user"]
        if response.status_code != 200 or len(users) < answered or len(set(u.split()[1] for u in users)) != 1:
            missing += 1  # a turn lost, or another shopper's message in this conversation
    return missing


async def solo(client: httpx.AsyncClient, turns: int, stream: bool) -> list[float]:
    """Latency of one shopper alone: the per-turn cost without any queueing."""
    latencies = []
    session_id = None
    for t in range(turns):
        started = time.perf_counter()
        answer = await _turn(client, session_id, f"solo 0 turn {t}", stream)
        latencies.append(time.perf_counter() - started)
        session_id = answer["session_id"]
    return latencies


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def run_load(base_url: str, key: str, args: argparse.Namespace) -> dict[str, Any]:
    results = Results()
    timeout = httpx.Timeout(args.timeout)
    # One client per shopper, as each browser has its own cookie jar and connection.
    clients = [
        httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=httpx.Limits(keepalive_expiry=30))
        for _ in range(args.sessions + 1)
    ]
    try:
        alone = await solo(clients[-1], 30, args.stream)
        started = time.perf_counter()
        tasks = [shopper(clients[n], n, args.turns, args.stream, results) for n in range(args.sessions)]
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=args.time_limit)
        except TimeoutError:
            results.errors.append(f"time limit of {args.time_limit} s reached")
        wall = time.perf_counter() - started
        lost = await verify(clients[-1], key, results)
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
    overhead = [max(0.0, x - args.latency) for x in results.latencies]
    alone_overhead = sorted(max(0.0, x - args.latency) for x in alone[5:])  # the first turns warm caches
    return {
        "solo_overhead_ms": {
            "p50": round(statistics.median(alone_overhead) * 1000, 1),
            "p95": round(_percentile(alone_overhead, 0.95) * 1000, 1),
        },
        "sessions": args.sessions,
        "turns_per_session": args.turns,
        "stream": args.stream,
        "model_latency_ms": args.latency * 1000,
        "concurrency": args.concurrency,
        "requests_ok": len(results.latencies),
        "errors": len(results.errors),
        "error_samples": results.errors[:5],
        "conversations_missing_turns": lost,
        "wall_s": round(wall, 2),
        "throughput_rps": round(len(results.latencies) / wall, 1) if wall else 0.0,
        "latency_ms": {
            "p50": round(statistics.median(results.latencies) * 1000, 1) if results.latencies else None,
            "p95": round(_percentile(results.latencies, 0.95) * 1000, 1),
            "max": round(max(results.latencies, default=float("nan")) * 1000, 1),
        },
        "overhead_ms": {
            "p50": round(statistics.median(overhead) * 1000, 1) if overhead else None,
            "p95": round(_percentile(overhead, 0.95) * 1000, 1),
        },
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_ready(url: str, child: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"the server exited with code {child.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("the server did not become ready in time")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.05, help="fake model seconds per call")
    parser.add_argument("--concurrency", type=int, default=64, help="agent turns the server runs at once")
    parser.add_argument("--stream", action="store_true", help="use the SSE endpoint")
    parser.add_argument("--timeout", type=float, default=60.0, help="per request, seconds")
    parser.add_argument("--time-limit", type=float, default=180.0, help="whole run, seconds")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--key-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.serve:
        serve(args.serve, args.home, args.latency, args.concurrency, args.key_file)
        return 0

    with tempfile.TemporaryDirectory(prefix="shopagent-load-") as tmp:
        port = _free_port()
        key_file = Path(tmp) / "key"
        command = [
            sys.executable, "-m", "benchmarks.load_chat", "--serve", str(port), "--home", tmp,
            "--latency", str(args.latency), "--concurrency", str(args.concurrency), "--key-file", str(key_file),
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        child = subprocess.Popen(command, cwd=ROOT, env=env)
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_ready(base_url, child)
            figures = asyncio.run(run_load(base_url, key_file.read_text().strip(), args))
        finally:
            child.terminate()
            child.wait(timeout=30)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if figures["errors"] == 0 and figures["conversations_missing_turns"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
