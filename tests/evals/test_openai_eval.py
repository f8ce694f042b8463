"""`--model openai:...` runs a suite against an OpenAI-compatible server (here a canned one on loopback)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from evals.report import build_report
from evals.runner import RunOptions, run_suite
from evals.suite import load_suite

SUITE = Path(__file__).resolve().parents[1] / "fixtures" / "evals" / "selftest"


def _completion(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "canned",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
    }


class Canned(BaseHTTPRequestHandler):
    """Searches the policies first, then answers from what the tool returned."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        last = body["messages"][-1]
        message: dict[str, Any]
        if last["role"] == "tool":
            message = {
                "role": "assistant",
                "content": "You can return unused items within 45 days of delivery.",
            }
        else:
            call = {
                "id": "call_1",
                "type": "function",
                "function": {"name": "search_policies", "arguments": '{"query": "returns"}'},
            }
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
        data = json.dumps(_completion(message)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: Any) -> None:
        return None


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Canned)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_suite_runs_against_an_openai_compatible_server(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    # The model's own search is what this canned server plays (the guards would search first).
    monkeypatch.setenv("SHOPAGENT_GUARDS", "off")
    options = RunOptions(
        model="openai:canned",
        embedder="hash",
        embed_cache=None,
        progress=False,
        dialogue_ids=["fail-reply-matches"],  # expects search_policies and "45": this server does both
    )
    report = build_report(run_suite(load_suite(SUITE), options))
    (result,) = report["dialogues"]["results"]
    (trial,) = result["trials"]
    assert trial["passed"], trial["failures"]
    assert trial["tokens"] == {"prompt": 200, "completion": 20, "total": 220}
    assert report["model"] == "openai:canned"
