"""Run τ² retail tasks: a simulated customer talks to our agent on a fresh copy of the store.

Per trial: copy the imported store, greet the customer with τ²'s fixed first message, then
alternate the simulator's message and one :meth:`agent.service.Agent.turn` (the agent
works exactly as it does for shoppers: its own prompts plus the store's policy, the τ²
tool set, server-recorded confirmations) until the customer sends a stop token or the turn
limit is reached. The end state is then scored against the reference replay
(:mod:`evals.tau2.scoring`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.events import TurnResult
from agent.llm import ChatModel, Usage
from agent.resilience import RetryPolicy
from agent.service import Agent
from evals.records import ToolCallLog, TrialResult, TurnLog
from evals.tau2 import user_sim
from evals.tau2.replay import WRITE_ACTIONS, Refused, replay
from evals.tau2.scoring import score
from evals.tau2.state import Fingerprint, State, differences, fingerprint, snapshot
from evals.tau2.store import TemplateStore
from evals.tau2.tasks import Task
from shop.db import Database
from shop.payments import ManualProvider
from shop.settings import Settings

DEFAULT_MAX_TURNS = 30
TAU2_SETTINGS: dict[str, Any] = {
    "prompt_token_budget": 16_000,
    "max_steps": 12,
    "turn_timeout_s": 600.0,
    "model_timeout_s": 300.0,
}
"""What a τ² conversation needs (the policy alone is ~1,500 tokens); values set explicitly
in the environment win."""


class _NoRetrieval:
    """The τ² tools read the store directly; nothing searches."""

    def search_products(
        self,
        merchant_id: str,
        query: str,
        filters: Any | None = None,
        limit: int = 10,
        catalog_query: str | None = None,
    ) -> list[Any]:
        return []

    def search_policies(
        self, merchant_id: str, query: str, limit: int = 5, catalog_query: str | None = None
    ) -> list[Any]:
        return []


def turn_log(user_text: str, result: TurnResult) -> TurnLog:
    return TurnLog(
        user=user_text,
        reply=result.reply,
        tool_calls=[ToolCallLog(c.name, c.arguments, c.result, c.error) for c in result.tool_calls],
        prompt_tokens=result.usage.prompt_tokens,
        completion_tokens=result.usage.completion_tokens,
        latency_s=result.latency_s,
        handoff=result.handoff
        or any(c.name == "transfer_to_human_agents" and c.error is None for c in result.tool_calls),
        lang=result.lang,
    )


def tau2_settings(settings: Settings, home: Path) -> Settings:
    overrides = {k: v for k, v in TAU2_SETTINGS.items() if k not in settings.model_fields_set}
    return settings.model_copy(update={**overrides, "home": home})


@dataclass(frozen=True)
class Expected:
    fingerprint: Fingerprint
    refused: list[Refused]
    """Reference actions the rules refused (τ² refuses the same ones)."""


@dataclass
class Trial:
    result: TrialResult
    ending: str
    user_usage: Usage = field(default_factory=Usage)


@dataclass
class Tau2Run:
    model: str
    user_model: str
    tasks: list[Task]
    k: int
    trials: list[Trial] = field(default_factory=list)
    refused_reference: dict[str, list[Refused]] = field(default_factory=dict)
    """Reference actions the rules refused (τ² refuses the same ones), per task."""
    import_summary: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


class Runner:
    def __init__(
        self,
        store: TemplateStore,
        settings: Settings,
        agent_model: ChatModel,
        user_model: ChatModel,
        max_turns: int = DEFAULT_MAX_TURNS,
    ) -> None:
        self.store = store
        self.settings = settings
        self.agent_model = agent_model
        self.user_model = user_model
        self.max_turns = max_turns
        self._expected: dict[str, Expected] = {}
        self._expected_states: dict[str, State] = {}

    @contextmanager
    def _replay(self, task: Task) -> Iterator[tuple[Database, list[Refused]]]:
        """A fresh copy with the task's reference writes applied (reads cannot change it: skipped)."""
        writes = [(name, args) for name, args in task.actions if name in WRITE_ACTIONS]
        with self.store.fresh() as db:
            yield db, replay(db, self.store.merchant_id, writes)

    def expected(self, task: Task) -> Expected:
        if task.id not in self._expected:
            with self._replay(task) as (db, refused):
                self._expected[task.id] = Expected(fingerprint(db, self.store.merchant_id), refused)
        return self._expected[task.id]

    def expected_state(self, task: Task) -> State:
        """The expected state decoded, needed only to show how a failed trial differs."""
        if task.id not in self._expected_states:
            with self._replay(task) as (db, _refused):
                self._expected_states[task.id] = snapshot(db, self.store.merchant_id)
        return self._expected_states[task.id]

    def run_trial(self, task: Task, trial: int) -> Trial:
        expected = self.expected(task)
        turns: list[TurnLog] = []
        agent_messages = [user_sim.GREETING]
        user = user_sim.UserSimulator(
            self.user_model,
            task.scenario,
            RetryPolicy(retries=self.settings.model_retries),
            self.settings.turn_timeout_s,
        )
        user_usage = Usage()
        ending, error = "max_turns", None
        with self.store.fresh() as db:
            agent = Agent(self.settings, db, _NoRetrieval(), self.agent_model, ManualProvider())
            session_id: str | None = None
            try:
                for _ in range(self.max_turns):
                    said = user.respond(agent_messages[-1])
                    user_usage = user_usage + said.usage
                    if said.stop is not None:
                        ending = {
                            user_sim.STOP: "user_stop",
                            user_sim.TRANSFER: "transfer",
                            user_sim.OUT_OF_SCOPE: "out_of_scope",
                        }[said.stop]
                        break
                    result = agent.turn(self.store.merchant_id, session_id, said.text)
                    session_id = result.session_id
                    turns.append(turn_log(said.text, result))
                    agent_messages.append(result.reply)
            except Exception as exc:  # a failing model or simulator ends this trial, not the run
                ending, error = "error", f"{type(exc).__name__}: {exc}"
            same = fingerprint(db, self.store.merchant_id) == expected.fingerprint
            final = None if same else snapshot(db, self.store.merchant_id)
        diffs = [] if final is None else differences(self.expected_state(task), final)
        checks = score(task, ending, diffs, agent_messages)
        result_ = TrialResult(
            dialogue_id=task.id, trial=trial, lang="en", turns=turns, checks=checks, error=error
        )
        return Trial(result_, ending, user_usage)


def run(
    tasks: Sequence[Task],
    runner: Runner,
    trials: int,
    on_trial: Callable[[Trial], None] | None = None,
) -> Tau2Run:
    started = time.perf_counter()
    summary = runner.store.summary or runner.store.build()
    outcome = Tau2Run(
        model=runner.agent_model.name,
        user_model=runner.user_model.name,
        tasks=list(tasks),
        k=trials,
        import_summary={
            "products": summary.products,
            "variants": summary.variants,
            "customers": summary.customers,
            "orders": summary.orders,
            "rejected": len(summary.errors),
        },
    )
    for task in tasks:
        refused = runner.expected(task).refused
        if refused:
            outcome.refused_reference[task.id] = refused
        for trial in range(trials):
            done = runner.run_trial(task, trial)
            outcome.trials.append(done)
            if on_trial is not None:
                on_trial(done)
    outcome.seconds = time.perf_counter() - started
    return outcome
