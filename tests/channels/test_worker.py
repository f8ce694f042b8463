"""The worker loop and the ``shopagent worker`` command."""

from __future__ import annotations

import json
import threading
from datetime import datetime

import httpx
import pytest
from typer.testing import CliRunner

from channels.webhooks import RetryPolicy
from channels.worker import Worker
from cli import app
from shop.db import Database
from tests.channels.conftest import Clock


def test_a_failing_task_does_not_stop_the_others(db: Database, clock: Clock) -> None:
    ran: list[str] = []

    def broken(now: datetime) -> dict[str, int]:
        raise RuntimeError("boom")

    def counting(now: datetime) -> dict[str, int]:
        ran.append(now.isoformat())
        return {"reminded": 2}

    w = Worker(db, httpx.Client(), RetryPolicy(), clock=clock, tasks=[broken, counting, counting])
    assert w.run_once() == {"reminded": 4}
    assert ran == [clock.now.isoformat()] * 2


def test_the_loop_stops_when_asked(db: Database, clock: Clock) -> None:
    stop = threading.Event()
    passes: list[int] = []

    def task(now: datetime) -> dict[str, int]:
        passes.append(1)
        if len(passes) == 3:
            stop.set()
        return {}

    Worker(db, httpx.Client(), RetryPolicy(), poll_s=0.001, clock=clock, tasks=[task]).run(stop)
    assert len(passes) == 3


def test_default_tasks_dispatch_deliver_and_prune(db: Database, clock: Clock) -> None:
    counts = Worker(db, httpx.Client(), RetryPolicy(), clock=clock).run_once()
    assert counts == {"dispatched": 0, "delivered": 0, "retrying": 0, "failed": 0, "pruned": 0}


def test_worker_command_runs_one_pass(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SHOPAGENT_HOME", str(tmp_path))
    monkeypatch.delenv("SHOPAGENT_DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["delivered"] == 0
