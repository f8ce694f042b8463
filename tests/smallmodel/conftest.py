"""An agent with the small-model guards switched on, driven by scripted models."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2 as httpx
import pytest
from pydantic import SecretStr

from agent.fakes import ScriptedModel, Step
from agent.llm import ChatModel
from agent.openai_model import OpenAIModel
from agent.service import Agent
from shop.db import Database
from shop.payments import TestProvider
from shop.settings import Settings
from tests.agent.conftest import no_sleep_policy
from tests.conftest import KeywordRetriever

GuardedAgent = Callable[..., tuple[Agent, ScriptedModel]]


@pytest.fixture
def guarded(settings: Settings, db: Database, retriever: KeywordRetriever) -> GuardedAgent:
    def make(
        *script: Step, model: ChatModel | None = None, **overrides: object
    ) -> tuple[Agent, ScriptedModel]:
        configured = settings.model_copy(update={"guards": "on", **overrides})
        scripted = ScriptedModel(script)
        agent = Agent(configured, db, retriever, model or scripted, TestProvider(), retry=no_sleep_policy(0))
        return agent, scripted

    return make


def canned_openai_agent(
    settings: Settings, db: Database, retriever: KeywordRetriever, answers: list[dict[str, Any]]
) -> tuple[Agent, list[dict[str, Any]]]:
    """An agent on the OpenAI adapter whose server plays ``answers`` in order; the request
    bodies it received are in the returned list."""
    bodies: list[dict[str, Any]] = []

    def server(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=answers[len(bodies) - 1])

    configured = settings.model_copy(
        update={"openai_api_key": SecretStr("sk-test"), "openai_base_url": "http://llm.test/v1"}
    )
    model = OpenAIModel.from_settings(
        "small", configured, http_client=httpx.Client(transport=httpx.MockTransport(server))
    )
    return Agent(configured, db, retriever, model, TestProvider(), retry=no_sleep_policy(0)), bodies
