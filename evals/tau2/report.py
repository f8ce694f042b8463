"""The τ² run report: the ⚑ report keys of DESIGN.md, per-task pass^1 / pass^k, and the
published reference figures beside ours."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals import metrics
from evals.tau2.runner import Tau2Run, Trial

PUBLISHED_PASS_1 = {"gpt-4o": 0.60, "claude-3.5-sonnet": 0.69, "gpt-4.1": 0.74, "gpt-5": 0.82}
"""τ²-bench retail pass^1 from its leaderboard and papers (approximate; see the domain's README)."""
MAX_RESULT_CHARS = 1500


def _cut(value: Any) -> Any:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return value if len(text) <= MAX_RESULT_CHARS else text[: MAX_RESULT_CHARS - 1] + "…"


def _trial(trial: Trial) -> dict[str, Any]:
    result = trial.result
    failures = [f.to_dict() for f in result.failures]
    if result.error:
        failures.append({"check": "error", "turn": None, "reason": result.error})
    turns = []
    for turn in result.turns:
        data = turn.to_dict()
        for call in data["tool_calls"]:
            call["result"] = _cut(call["result"])
        turns.append(data)
    return {
        "trial": result.trial,
        "passed": result.passed,
        "ending": trial.ending,
        "failures": failures,
        "tokens": {
            "prompt": result.prompt_tokens,
            "completion": result.completion_tokens,
            "total": result.prompt_tokens + result.completion_tokens,
        },
        "user_tokens": {
            "prompt": trial.user_usage.prompt_tokens,
            "completion": trial.user_usage.completion_tokens,
        },
        "latency_s": round(result.latency_s, 3),
        "turns": turns,
    }


def build_report(run: Tau2Run, tasks_spec: str = "all") -> dict[str, Any]:
    results = [t.result for t in run.trials]
    outcomes = metrics.outcomes(results)
    by_id = {o.id: o for o in outcomes}
    per_task = []
    for task in run.tasks:
        mine = sorted(
            (t for t in run.trials if t.result.dialogue_id == task.id), key=lambda t: t.result.trial
        )
        if not mine:
            continue
        outcome = by_id[task.id]
        per_task.append(
            {
                "id": task.id,
                "passed_trials": outcome.passed,
                "pass^1": round(metrics.pass_hat(outcome.trials, outcome.passed, 1), 4),
                "pass^k": round(metrics.pass_hat(outcome.trials, outcome.passed, outcome.trials), 4),
                "reference_refused": [
                    {"action": r.name, "arguments": r.arguments, "error": r.error}
                    for r in run.refused_reference.get(task.id, [])
                ],
                "trials": [_trial(t) for t in mine],
            }
        )
    prompt = sum(r.prompt_tokens for r in results)
    completion = sum(r.completion_tokens for r in results)
    return {
        "model": run.model,
        "user_model": run.user_model,
        "suite": "tau2-retail",
        "tasks": tasks_spec,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "store": run.import_summary,
        "dialogues": {
            "total": len(outcomes),
            "k": run.k,
            "pass^1": round(metrics.pass_k(outcomes, 1), 4),
            "pass^k": round(metrics.pass_k(outcomes, run.k), 4) if outcomes else 0.0,
            "pass^j": {str(j): round(metrics.pass_k(outcomes, j), 4) for j in range(1, run.k + 1)},
            "trials": len(results),
            "trials_passed": sum(1 for r in results if r.passed),
            "failures_by_check": metrics.failures_by_check(results),
            "results": per_task,
        },
        "tokens": {"prompt": prompt, "completion": completion},
        "user_tokens": {
            "prompt": sum(t.user_usage.prompt_tokens for t in run.trials),
            "completion": sum(t.user_usage.completion_tokens for t in run.trials),
        },
        "reference": {"published_pass^1": PUBLISHED_PASS_1},
        "timing": {"seconds": round(run.seconds, 2)},
    }


def write_report(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str), encoding="utf-8")


def summary_lines(report: dict[str, Any]) -> list[str]:
    d = report["dialogues"]
    lines = [
        f"τ² retail: {d['total']} tasks x {d['k']} trials, model {report['model']}, user {report['user_model']}",
        f"pass^1 {d['pass^1']:.3f}   pass^{d['k']} {d['pass^k']:.3f}   ({d['trials_passed']}/{d['trials']} trials passed)",
        "published pass^1: " + ", ".join(f"{m} {v:.2f}" for m, v in PUBLISHED_PASS_1.items()),
    ]
    if d["failures_by_check"]:
        lines.append("failures: " + ", ".join(f"{k} {v}" for k, v in d["failures_by_check"].items()))
    return lines
