"""The background worker (``shopagent worker``): delivers merchant webhooks from the outbox.

Each pass runs every task with the current time: turn new outbox events into deliveries,
attempt the deliveries that are due, and now and then forget old platform update ids.
When a pass finds nothing to do the worker sleeps ``worker_poll_s``. Other periodic jobs
(abandoned-cart reminders, ...) join by adding a task: a function of the time returning
counts of what it did.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from channels import dedup, webhooks
from channels.outbox import install
from channels.reminders import ReminderTasks
from shop.db import Database
from shop.models import utcnow
from shop.settings import Settings

log = logging.getLogger("shopagent.worker")
Task = Callable[[datetime], dict[str, int]]
PRUNE_EVERY = timedelta(hours=1)


@dataclass
class Worker:
    db: Database
    client: httpx.Client
    policy: webhooks.RetryPolicy
    poll_s: float = 2.0
    clock: Callable[[], datetime] = utcnow
    tasks: list[Task] = field(default_factory=list)
    _pruned_at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.tasks:
            self.tasks = [self.dispatch, self.deliver, self.prune]

    def dispatch(self, now: datetime) -> dict[str, int]:
        return {"dispatched": webhooks.dispatch(self.db, now)}

    def deliver(self, now: datetime) -> dict[str, int]:
        return webhooks.deliver_due(self.db, self.client, now, self.policy)

    def prune(self, now: datetime) -> dict[str, int]:
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return {}
        self._pruned_at = now
        return {"pruned": dedup.prune(self.db, now - timedelta(days=dedup.RETENTION_DAYS))}

    def run_once(self) -> dict[str, int]:
        """One pass over every task; returns the summed counts."""
        totals: dict[str, int] = {}
        for task in self.tasks:
            try:
                counts = task(self.clock())
            except Exception:  # a failing task must not stop the others or the loop
                log.exception("worker task %s failed", getattr(task, "__name__", task))
                continue
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
        return totals

    def run(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        while not stop.is_set():
            counts = self.run_once()
            if any(counts.values()):
                log.info("worker pass", extra={"counts": counts})
            else:
                stop.wait(self.poll_s)


def build_worker(settings: Settings, db: Database, client: httpx.Client) -> Worker:
    install()
    worker = Worker(db, client, webhooks.RetryPolicy.from_settings(settings), poll_s=settings.worker_poll_s)
    cart_reminders = ReminderTasks(settings, db, client)
    worker.tasks += [cart_reminders.produce, cart_reminders.send]
    return worker


def run_worker(settings: Settings, once: bool = False) -> dict[str, int]:
    """The ``shopagent worker`` loop until interrupted (or one pass with ``once``)."""
    from channels.base import make_client
    from shop.db import open_database

    db = open_database(settings)
    client = make_client(settings.webhook_timeout_s)
    worker = build_worker(settings, db, client)
    try:
        if once:
            return worker.run_once()
        worker.run()
    except KeyboardInterrupt:
        pass
    finally:
        client.close()
        db.dispose()
    return {}
