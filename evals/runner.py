"""Run a suite: every dialogue K times through ``Agent.turn``, exactly as the server calls it.

Each trial gets a fresh session and its own copy of the ingested store, so carts, orders
and stock never leak between dialogues or trials. Trials run on a thread pool
(``workers``); a runaway dialogue is stopped by the agent's own step limit and time budget.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from tqdm import tqdm

from agent.llm import ChatModel, get_model
from evals.checks import evaluate
from evals.records import FinalState, ToolCallLog, TrialResult, TurnLog
from evals.report import RunResult
from evals.retrieval import evaluate_suite_retrieval
from evals.schema import Dialogue
from evals.suite import Suite
from evals.workspace import EvalSetupError, Workspace, default_embed_cache
from shop import carts, shoppers
from shop.db import Database
from shop.models import Order
from shop.payments import get_provider
from shop.settings import Settings

ModelFactory = Callable[[Dialogue, int, Settings], ChatModel]
"""Builds the model for one trial (tests give each dialogue its own scripted model)."""


@dataclass
class RunOptions:
    model: str = "offline"
    """Model name as ``get_model`` understands it; also what the report calls the model."""
    trials: int = 1
    workers: int = 1
    merchant_id: str = "demo"
    embedder: str | None = None
    """Embedder for ingest and retrieval (default: the settings' default)."""
    embed_cache: Path | None = field(default_factory=default_embed_cache)
    """Embeddings kept between runs (None: always embed from scratch)."""
    progress: bool = True
    judge_model: str | None = None
    dialogue_ids: list[str] = field(default_factory=list)
    """Run only these dialogues (all when empty)."""
    model_factory: ModelFactory | None = None


def shared_model(model: ChatModel) -> ModelFactory:
    """One model instance for the whole run (providers and the offline engine are stateless)."""

    def factory(_dialogue: Dialogue, _trial: int, _settings: Settings) -> ChatModel:
        return model

    return factory


def build_model(name: str, settings: Settings) -> ChatModel:
    """The model under test, built before any dialogue runs so a setup problem stops the run once."""
    try:
        return get_model(name, settings)
    except ImportError as exc:
        raise EvalSetupError(f"model {name!r} is not available: {exc}") from None


def _log_turn(message: str, result: Any, elapsed: float) -> TurnLog:
    return TurnLog(
        user=message,
        reply=result.reply,
        tool_calls=[
            ToolCallLog(c.name, dict(c.arguments or {}), c.result, c.error) for c in result.tool_calls
        ],
        prompt_tokens=result.usage.prompt_tokens,
        completion_tokens=result.usage.completion_tokens,
        latency_s=result.latency_s or elapsed,
        handoff=bool(result.handoff),
        lang=result.lang or "",
        model=result.model or "",
    )


def read_final_state(
    db: Database, merchant_id: str, session_id: str | None, dialogue: Dialogue, baseline: int
) -> FinalState:
    """What the dialogue's ``final:`` asks about, read from its own copy of the store."""
    with db.session() as session:
        cart = carts.view_cart(session, merchant_id, session_id).quantities() if session_id else {}
        placed = session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.merchant_id == merchant_id, Order.checkout_id.is_not(None))
        )
        statuses: dict[str, str | None] = {}
        for order_id in dialogue.final.order_status if dialogue.final else {}:
            statuses[order_id] = session.scalar(
                select(Order.status).where(Order.merchant_id == merchant_id, Order.order_id == order_id)
            )
    return FinalState(cart=cart, orders_placed=int(placed or 0) - baseline, order_status=statuses)


def come_back(db: Database, merchant_id: str, session_id: str, days: int) -> str:
    """A new session in the same browser: a remembered shopper's cookie links it to their profile,
    exactly as the HTTP API does; anyone else starts a conversation that knows nothing."""
    from agent.state import load_or_create_in, new_session_id

    fresh = new_session_id()
    with db.session() as session:
        load_or_create_in(session, merchant_id, fresh)
        customer = shoppers.linked_customer(session, merchant_id, session_id)
        if customer is not None:
            token = shoppers.issue_token(session, merchant_id, customer.id, days)
            recognised = shoppers.customer_of_token(session, merchant_id, token)
            if recognised is not None:
                shoppers.link(session, merchant_id, fresh, recognised)
    return fresh


def run_trial(
    workspace: Workspace, dialogue: Dialogue, index: int, trial: int, factory: ModelFactory
) -> TrialResult:
    """One dialogue once, in a fresh session on a private copy of the store."""
    from agent.service import Agent

    name = f"{index:04d}-{trial}"
    settings, db = workspace.fork(name)
    turns: list[TurnLog] = []
    try:
        # Wired as build_agent wires it; only the retriever's query vectors come from the run's cache.
        model = factory(dialogue, trial, settings)
        agent = Agent(settings, db, workspace.retriever(db), model, get_provider(settings))
        session_id: str | None = None
        for turn in dialogue.turns:
            if turn.new_session and session_id is not None:
                session_id = come_back(db, workspace.merchant_id, session_id, settings.remember_days)
            started = time.perf_counter()
            try:
                result = agent.turn(workspace.merchant_id, session_id, turn.user)
            except Exception as exc:  # the agent must not raise; record it as this turn's failure
                turns.append(
                    TurnLog(
                        turn.user,
                        error=f"{type(exc).__name__}: {exc}",
                        latency_s=time.perf_counter() - started,
                    )
                )
                break
            session_id = result.session_id
            turns.append(_log_turn(turn.user, result, time.perf_counter() - started))
        state = read_final_state(db, workspace.merchant_id, session_id, dialogue, workspace.baseline_orders)
        checks = evaluate(dialogue, turns, state, workspace.catalog)
        return TrialResult(dialogue.id, trial, dialogue.lang or "", turns, checks)
    except Exception as exc:
        return TrialResult(
            dialogue.id, trial, dialogue.lang or "", turns, error=f"{type(exc).__name__}: {exc}"
        )
    finally:
        workspace.discard(name, db)


def run_dialogues(
    workspace: Workspace,
    dialogues: list[Dialogue],
    trials: int,
    workers: int,
    factory: ModelFactory,
    progress: bool = True,
) -> list[TrialResult]:
    tasks = [(index, dialogue, trial) for index, dialogue in enumerate(dialogues) for trial in range(trials)]
    results: list[TrialResult] = []
    bar = tqdm(total=len(tasks), desc="dialogues", unit="trial", disable=not progress, file=sys.stderr)
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [pool.submit(run_trial, workspace, d, i, t, factory) for i, d, t in tasks]
            for future in as_completed(futures):
                result = future.result()
                results.append(result)
                bar.update(1)
                bar.set_postfix(passed=sum(1 for r in results if r.passed))
    finally:
        bar.close()
    order = {d.id: i for i, d in enumerate(dialogues)}
    return sorted(results, key=lambda r: (order[r.dialogue_id], r.trial))


def run_suite(suite: Suite, options: RunOptions) -> RunResult:
    """Prepare the store, run every dialogue ``options.trials`` times, score retrieval."""
    timing: dict[str, float] = {}
    started = time.perf_counter()
    dialogues = suite.dialogues
    if options.dialogue_ids:
        wanted = set(options.dialogue_ids)
        dialogues = [d for d in dialogues if d.id in wanted]
    workspace = Workspace.create(
        suite.store, options.merchant_id, options.embedder, options.embed_cache, options.progress
    )
    try:
        timing["ingest_s"] = time.perf_counter() - started
        factory = options.model_factory or shared_model(build_model(options.model, workspace.settings))
        mark = time.perf_counter()
        trials = run_dialogues(
            workspace, dialogues, options.trials, options.workers, factory, options.progress
        )
        timing["dialogues_s"] = time.perf_counter() - mark
        mark = time.perf_counter()
        retrieval = evaluate_suite_retrieval(workspace, suite.queries, options.workers)
        timing["retrieval_s"] = time.perf_counter() - mark
        judge = None
        if options.judge_model:
            from evals.judge import judge_run

            mark = time.perf_counter()
            judge = judge_run(get_model(options.judge_model, workspace.settings), trials)
            timing["judge_s"] = time.perf_counter() - mark
    finally:
        workspace.close()
    timing["total_s"] = time.perf_counter() - started
    return RunResult(
        model=options.model,
        suite=suite.name,
        k=options.trials,
        dialogues=dialogues,
        trials=trials,
        retrieval=retrieval,
        judge=judge,
        timing=timing,
        settings={
            "trials": options.trials,
            "workers": options.workers,
            "embedder": workspace.settings.embedder,
            "merchant_id": options.merchant_id,
            "judge_model": options.judge_model,
            "ingest": workspace.ingest_summary,
            "ingest_rejected": workspace.rejected[:50],
        },
    )
