"""Operations: log redaction, rate limits, CORS allowlist, the widget files and the demo page."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agent.fakes import FunctionModel
from agent.llm import Message, ToolSpec
from agent.service import Agent
from api.limits import TokenBucket
from api.logs import client_network, make_handler, redact, redact_text
from server import create_app
from shop.db import Database
from shop.payments import TestProvider
from shop.settings import Settings
from tests.conftest import KeywordRetriever
from tests.server.conftest import server_settings

STATIC = Path(__file__).resolve().parents[2] / "api" / "static"


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("order for Ruta.K+shop@example.co.uk please", "Ruta.K+shop@example.co.uk"),
        ("card 4111 1111 1111 1111 exp 12/29", "4111 1111 1111 1111"),
        ("card 4111-1111-1111-1111", "4111-1111-1111-1111"),
        ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
        ("key sa_1a2b3c4d_Zm9vYmFyYmF6cXV4cXV1eA was used", "sa_1a2b3c4d_Zm9vYmFyYmF6cXV4cXV1eA"),
        ("call +370 5 200 0000 now", "200 0000"),
        ("session Xq3vVb8Jz0PpL2mN7rT5yW1sK9dF4gH6 started", "Xq3vVb8Jz0PpL2mN7rT5yW1sK9dF4gH6"),
    ],
)
def test_redact_text(text: str, hidden: str) -> None:
    assert hidden not in redact_text(text)


def test_redaction_keeps_ordinary_operational_text() -> None:
    line = "POST /v1/chat 200 in 41.5 ms, order A1002, 3 items, SKU TENT-ALP2-GRN"
    assert redact_text(line) == line


def test_structured_extras_with_personal_keys_are_redacted() -> None:
    data = {"order": "A1", "shipping_address": {"line1": "Gedimino pr. 1"}, "items": [{"email": "x@y.lt"}]}
    assert redact(data) == {
        "order": "A1",
        "shipping_address": "[redacted]",
        "items": [{"email": "[redacted]"}],
    }


def test_client_addresses_are_truncated() -> None:
    assert client_network("203.0.113.77") == "203.0.113.0/24"
    assert client_network("2001:db8:1:2::5") == "2001:db8:1::/48"
    assert client_network("testclient") == "[host]"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = make_handler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def test_logs_of_real_requests_hold_no_personal_data(
    settings: Settings, db: Database, retriever: KeywordRetriever, log_stream: io.StringIO
) -> None:
    def crash(_messages: list[Message], _tools: list[ToolSpec]) -> str:
        raise RuntimeError("charge 4111 1111 1111 1111 for ruta@example.com at Gedimino pr. 1")

    app_settings = server_settings(settings, model_retries=0)
    agent = Agent(app_settings, db, retriever, FunctionModel(crash), TestProvider())
    with TestClient(create_app(app_settings, agent)) as client:
        assert client.post("/v1/chat", json={"message": "my email is ruta@example.com"}).status_code == 200
        client.post("/v1/orders/lookup", json={"order_id": "A1001", "email": "ruta@example.com"})
        client.post("/v1/cart/items?email=ruta@example.com", json={"sku": "STOVE-GAS"})
    output = log_stream.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    assert any(line.get("path") == "/v1/orders/lookup" and line.get("status") == 200 for line in lines)
    assert any("turn failed" in line["msg"] or "exc" in line for line in lines)  # the crash was logged...
    assert "ruta@example.com" not in output and "4111 1111" not in output  # ...without the data in it


def test_rate_limits_answer_429_with_retry_after(
    settings: Settings, db: Database, retriever: KeywordRetriever
) -> None:
    from tests.server.conftest import make_agent

    limited = server_settings(settings, rate_limit_per_session=2, lookup_limit_per_session=1)
    with TestClient(create_app(limited, make_agent(limited, db, retriever))) as client:
        assert [client.post("/v1/chat", json={"message": "hi"}).status_code for _ in range(2)] == [200, 200]
        third = client.post("/v1/chat", json={"message": "hi"})
        assert third.status_code == 429 and int(third.headers["retry-after"]) >= 1
        body = {"order_id": "A1001", "email": "ruta@example.com"}
        assert client.post("/v1/orders/lookup", json=body).status_code == 200
        assert client.post("/v1/orders/lookup", json=body).status_code == 429
        client.cookies.clear()  # a new session, same address: the per-session bucket is fresh
        assert client.post("/v1/orders/lookup", json=body).status_code == 200


def test_token_bucket_refills() -> None:
    now = [0.0]
    bucket = TokenBucket(2, 60.0, clock=lambda: now[0])
    assert [bucket.take("a"), bucket.take("a")] == [0.0, 0.0]
    assert bucket.take("a") == pytest.approx(30.0)
    assert bucket.take("b") == 0.0
    now[0] = 30.0
    assert bucket.take("a") == 0.0


def test_cors_is_an_allowlist(client: TestClient) -> None:
    allowed = client.options(
        "/v1/chat",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type,x-session-id"},
    )  # fmt: skip
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    denied = client.options(
        "/v1/chat", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in denied.headers
    simple = client.get("/v1/cart", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_demo_page_widget_and_images(client: TestClient) -> None:
    page = client.get("/", params={"lang": "ar"})
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'data-merchant="shop1"' in page.text and 'data-lang="ar"' in page.text
    assert 'data-lang=""' in client.get("/", params={"lang": "<script>"}).text
    js = client.get("/widget.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert client.get("/widget.css").headers["content-type"].startswith("text/css")
    svg = client.get("/static/demo/tents.svg")
    assert svg.status_code == 200 and "<svg" in svg.text


def test_widget_never_writes_html_from_strings() -> None:
    source = (STATIC / "widget.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in source
    # Labels exist for every language the widget offers, with the same keys.
    for lang in ("en", "lt", "tr", "ar", "zh"):
        assert f"\n    {lang}: {{" in source


def test_clients_without_cookies_cannot_create_sessions_without_limit(
    settings: Settings, db: Database, retriever: KeywordRetriever
) -> None:
    from tests.server.conftest import make_agent

    limited = server_settings(settings, rate_limit_per_address=3)
    with TestClient(create_app(limited, make_agent(limited, db, retriever))) as client:
        statuses = []
        for _ in range(5):
            client.cookies.clear()
            statuses.append(client.get("/v1/cart").status_code)
    assert statuses == [200, 200, 200, 429, 429]
