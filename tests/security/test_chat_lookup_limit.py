"""S7 through the chat: the agent's order tools share the per-address lookup limit of the
lookup route, so opening new sessions does not multiply an attacker's guesses."""

from __future__ import annotations

from fastapi.testclient import TestClient

from agent.fakes import FunctionModel, call
from agent.llm import Message, Reply, ToolSpec
from agent.service import Agent
from server import create_app
from shop.db import Database
from shop.payments import TestProvider
from shop.settings import Settings
from tests.conftest import KeywordRetriever
from tests.server.conftest import server_settings


def guesser(messages: list[Message], _tools: list[ToolSpec]) -> Reply | str:
    """Tries one order/email pair per turn, then reports what the tool said."""
    if messages[-1].role == "tool":
        return f"tool said: {messages[-1].content}"
    return Reply(tool_calls=[call("lookup_order", order_id="A1002", email="guess@example.org")])


def test_new_sessions_share_the_addresss_lookup_limit(
    settings: Settings, db: Database, retriever: KeywordRetriever
) -> None:
    limited = server_settings(settings, lookup_limit_per_address=3, lookup_limit_per_session=5)
    agent = Agent(limited, db, retriever, FunctionModel(guesser, name="guesser"), TestProvider())
    with TestClient(create_app(limited, agent)) as client:
        replies = []
        for _ in range(5):
            client.cookies.clear()  # a fresh session each time
            replies.append(client.post("/v1/chat", json={"message": "where is A1002?"}).json()["reply"])
    assert all("too many order lookups from this address" not in r for r in replies[:3])
    assert all("too many order lookups from this address" in r for r in replies[3:])
