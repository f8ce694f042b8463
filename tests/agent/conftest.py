"""Agent fixtures: an Agent over the seeded store driven by a scripted model."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agent.context import ToolContext
from agent.fakes import ScriptedModel, Step
from agent.llm import ChatModel
from agent.resilience import RetryPolicy
from agent.service import Agent
from agent.state import ConversationState
from shop.db import Database
from shop.payments import TestProvider
from shop.settings import Settings
from tests.conftest import MERCHANT, KeywordRetriever

MakeAgent = Callable[..., Agent]


def no_sleep_policy(retries: int = 3) -> RetryPolicy:
    slept: list[float] = []
    return RetryPolicy(retries=retries, sleep=slept.append)


@pytest.fixture
def payment() -> TestProvider:
    return TestProvider()


@pytest.fixture
def make_agent(
    settings: Settings, db: Database, retriever: KeywordRetriever, payment: TestProvider
) -> MakeAgent:
    def make(*script: Step, model: ChatModel | None = None, **overrides: object) -> Agent:
        agent_settings = settings.model_copy(update=overrides) if overrides else settings
        return Agent(
            agent_settings,
            db,
            retriever,
            model or ScriptedModel(script),
            payment,
            retry=no_sleep_policy(agent_settings.model_retries),
        )

    return make


@pytest.fixture
def ctx(settings: Settings, db: Database, retriever: KeywordRetriever, payment: TestProvider) -> ToolContext:
    return ToolContext(
        settings, db, retriever, payment, MERCHANT, "sess-tools-0000000001", ConversationState(turn=1)
    )
