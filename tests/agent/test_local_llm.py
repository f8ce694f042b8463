"""Opt-in: a short real conversation with a local OpenAI-compatible server.

Run with a server up (see ../shared/llm/README.md, e.g. ``local-llm.sh start``):

    OPENAI_BASE_URL=http://127.0.0.1:8080/v1 pytest -m local_llm tests/agent/test_local_llm.py
"""

from __future__ import annotations

import os

import pytest

from agent.openai_model import OpenAIModel
from agent.service import Agent
from shop.db import Database
from shop.payments import TestProvider
from shop.settings import Settings
from tests.conftest import MERCHANT, KeywordRetriever

pytestmark = [
    pytest.mark.local_llm,
    # A small model on a CPU reads the system prompt and tools (~2,000 tokens) in one to two
    # minutes on a cold server; the suite's default 300 s per test is too short for two turns.
    pytest.mark.timeout(1800),
    pytest.mark.skipif(not os.environ.get("OPENAI_BASE_URL"), reason="set OPENAI_BASE_URL to a local server"),
]


def test_a_short_conversation_with_a_real_model(
    settings: Settings, db: Database, retriever: KeywordRetriever
) -> None:
    configured = settings.model_copy(
        update={
            "openai_base_url": os.environ["OPENAI_BASE_URL"],
            "model_timeout_s": 120.0,
            "turn_timeout_s": 300.0,
        }
    )
    model = OpenAIModel.from_settings(os.environ.get("SHOPAGENT_LOCAL_MODEL", "local"), configured)
    agent = Agent(configured, db, retriever, model, TestProvider())

    first = agent.turn(MERCHANT, None, "Do you sell sleeping bags? I need one for about 0C.")
    assert first.reply and "Traceback" not in first.reply
    assert any(c.name == "search_products" for c in first.tool_calls), first.tool_calls
    assert max(first.prompt_tokens) <= configured.prompt_token_budget

    second = agent.turn(
        MERCHANT, first.session_id, "Please add the Polar Synthetic Sleeping Bag (BAG-SYN-0) to my cart."
    )
    assert second.reply
    called = [c.name for c in second.tool_calls]
    assert "add_to_cart" in called or second.cart["lines"], called
    assert all(c.name != "place_order" for c in first.tool_calls + second.tool_calls)
