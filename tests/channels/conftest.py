"""Channel fixtures: the whole app in process with every platform configured, platform APIs
answered by a recording fake (``httpx.MockTransport``), and a clock the tests control."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from agent.fakes import FunctionModel
from agent.service import Agent
from api.keys import create_api_key
from channels.hub import ChannelHub
from server import create_app
from shop.db import Database
from shop.payments import TestProvider
from shop.settings import Settings
from tests.channels.payloads import META_SECRET, TG_SECRET, WA_PHONE_ID
from tests.conftest import MERCHANT, KeywordRetriever
from tests.server.conftest import server_settings, shop_brain

NOW = datetime.fromtimestamp(1_790_000_060, UTC)
"""One minute after the recorded payloads were sent."""


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Sent:
    host: str
    path: str
    params: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakePlatforms:
    """Answers Bot API and Graph API calls the way the platforms do, and records them."""

    sent: list[Sent] = field(default_factory=list)
    fail_with: int | None = None

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        self.sent.append(Sent(request.url.host, request.url.path, dict(request.url.params), body))
        if self.fail_with:
            return httpx.Response(self.fail_with, json={"ok": False, "description": "Bad Request: chat not found",
                                                        "error": {"message": "(#100) Invalid parameter"}})  # fmt: skip
        n = len(self.sent)
        if request.url.host == "api.telegram.org":
            return httpx.Response(200, json={"ok": True, "result": {"message_id": n}})
        if request.url.path.endswith("/me/messages"):
            return httpx.Response(
                200, json={"recipient_id": body.get("recipient", {}).get("id"), "message_id": f"m_{n}"}
            )
        return httpx.Response(200, json={"messaging_product": "whatsapp", "messages": [{"id": f"wamid.{n}"}]})

    def calls(self, suffix: str) -> list[dict[str, Any]]:
        return [s.body for s in self.sent if s.path.endswith(suffix)]

    def texts(self) -> list[str]:
        """Every text that reached a shopper, whatever the platform."""
        found = []
        for s in self.sent:
            b = s.body
            if "text" in b and isinstance(b["text"], str):
                found.append(b["text"])
            elif isinstance(b.get("text"), dict):
                found.append(b["text"]["body"])
            elif isinstance(b.get("message"), dict) and "text" in b["message"]:
                found.append(b["message"]["text"])
            elif b.get("type") == "interactive":
                found.append(b["interactive"]["body"]["text"])
        return found


def channel_settings(settings: Settings, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": "123456:TEST-TOKEN",
        "telegram_secret_token": TG_SECRET,
        "whatsapp_token": "wa-token",
        "whatsapp_phone_number_id": WA_PHONE_ID,
        "whatsapp_app_secret": META_SECRET,
        "whatsapp_verify_token": "wa-verify",
        "messenger_page_token": "page-token",
        "messenger_app_secret": META_SECRET,
        "messenger_verify_token": "msg-verify",
        "public_url": "https://shop.example",
    }
    values.update(overrides)
    secrets = {name for name, f in Settings.model_fields.items() if "SecretStr" in str(f.annotation)}
    values = {k: SecretStr(v) if k in secrets and isinstance(v, str) else v for k, v in values.items()}
    return server_settings(settings).model_copy(update=values)


@pytest.fixture
def platforms() -> FakePlatforms:
    return FakePlatforms()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def model() -> FunctionModel:
    return FunctionModel(shop_brain, name="brain")


@pytest.fixture
def chan_settings(settings: Settings) -> Settings:
    return channel_settings(settings)


@pytest.fixture
def agent(chan_settings: Settings, db: Database, retriever: KeywordRetriever, model: FunctionModel) -> Agent:
    return Agent(chan_settings, db, retriever, model, TestProvider())


@pytest.fixture
def client(agent: Agent, platforms: FakePlatforms, clock: Clock) -> Iterator[TestClient]:
    app = create_app(agent.settings, agent)
    http = httpx.Client(transport=httpx.MockTransport(platforms.handle))
    app.state.channel_http = http
    with TestClient(app) as test_client:
        app.state.channel_hub.clock = clock
        yield test_client
    http.close()


@pytest.fixture
def hub(client: TestClient) -> ChannelHub:
    found: ChannelHub = client.app.state.channel_hub  # type: ignore[attr-defined]
    return found


@pytest.fixture
def auth(db: Database) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_api_key(db, MERCHANT).key}"}
