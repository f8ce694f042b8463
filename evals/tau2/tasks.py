"""τ² retail tasks (``tasks.json``, ``split_tasks.json``): the scenario a simulated customer
plays, the reference actions, and the facts the agent must tell."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shop.errors import ConfigError

SCENARIO_PARTS = (
    ("reason_for_call", "Reason for call"),
    ("known_info", "Known info"),
    ("unknown_info", "Unknown info"),
    ("task_instructions", "Task instructions"),
)


@dataclass(frozen=True)
class Task:
    id: str
    scenario: str
    """The instructions the user simulator plays, rendered as text."""
    actions: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    communicate_info: list[str] = field(default_factory=list)
    reward_basis: list[str] = field(default_factory=list)


def scenario_text(instructions: Any) -> str:
    if isinstance(instructions, str):
        return instructions.strip()
    if not isinstance(instructions, dict):
        raise ValueError("user_scenario.instructions must be text or an object")
    parts = [f"Domain: {instructions.get('domain', 'retail')}"]
    for key, title in SCENARIO_PARTS:
        value = instructions.get(key)
        if value not in (None, ""):
            parts.append(f"{title}:\n\t{value}")
    return "\n".join(parts)


def _task(data: dict[str, Any]) -> Task:
    criteria = data.get("evaluation_criteria") or {}
    scenario = (data.get("user_scenario") or {}).get("instructions")
    actions = [(str(a["name"]), dict(a.get("arguments") or {})) for a in criteria.get("actions") or []]
    return Task(
        id=str(data["id"]),
        scenario=scenario_text(scenario),
        actions=actions,
        communicate_info=[str(i) for i in criteria.get("communicate_info") or []],
        reward_basis=[str(r) for r in criteria.get("reward_basis") or []],
    )


def load_tasks(folder: Path) -> list[Task]:
    path = Path(folder) / "tasks.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return [_task(item) for item in raw]
    except FileNotFoundError:
        raise ConfigError(
            f"{path} not found: --tau2 takes the folder with db.json, tasks.json and policy.md"
        ) from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path} is not a τ² tasks file: {exc}") from None


def load_splits(folder: Path) -> dict[str, list[str]]:
    path = Path(folder) / "split_tasks.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): [str(i) for i in v] for k, v in data.items()}


def select(tasks: list[Task], spec: str, splits: dict[str, list[str]]) -> list[Task]:
    """``all``, a split name (``test``, ``train``) or comma-separated task ids."""
    wanted = spec.strip() or "all"
    if wanted == "all":
        return list(tasks)
    by_id = {t.id: t for t in tasks}
    if wanted in splits:
        ids = splits[wanted]
    else:
        ids = [part.strip() for part in wanted.split(",") if part.strip()]
        unknown = [i for i in ids if i not in by_id]
        if unknown:
            choices = ", ".join(["all", *splits])
            raise ConfigError(
                f"--tasks {spec!r}: unknown task ids {unknown}; use {choices} or ids like 0,5,12"
            )
    return [by_id[i] for i in ids if i in by_id]
