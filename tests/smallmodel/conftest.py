"""An agent with the small-model guards switched on, driven by scripted models."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agent.fakes import ScriptedModel, Step
from agent.llm import ChatModel
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
