"""Scoring a τ² trial as τ²-bench does.

A trial passes when the conversation ended properly (the simulated customer stopped,
rather than running out of turns), the store's final state equals the state the task's
reference actions produce, and every ``communicate_info`` string appears in one of the
agent's messages (case-insensitive, commas removed from the message, as τ² matches).
τ²'s current task files also list LLM-judged ``NL_ASSERTION`` criteria; like τ²'s original
retail scoring, this one uses the database and ``communicate_info`` only.
"""

from __future__ import annotations

from collections.abc import Sequence

from evals.records import CheckResult
from evals.tau2.tasks import Task

ENDINGS_SCORED = ("user_stop", "transfer", "out_of_scope")
"""Endings τ² scores; anything else (turn limit, a crash) is a failed trial."""


def communicated(info: str, agent_messages: Sequence[str]) -> bool:
    needle = info.lower()
    return any(needle in message.lower().replace(",", "") for message in agent_messages)


def score(
    task: Task, ending: str, db_differences: list[str], agent_messages: Sequence[str]
) -> list[CheckResult]:
    """The checks of one trial; ``db_differences`` from :func:`evals.tau2.state.compare`."""
    checks = [
        CheckResult(
            "ended",
            ending in ENDINGS_SCORED,
            "" if ending in ENDINGS_SCORED else f"the conversation did not end properly ({ending})",
        )
    ]
    checks.append(CheckResult("db", not db_differences, "; ".join(db_differences)))
    for info in task.communicate_info:
        told = communicated(info, agent_messages)
        checks.append(CheckResult("communicate", told, "" if told else f"never told the customer {info!r}"))
    return checks
