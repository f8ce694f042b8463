"""The JSON report: the ⚑ keys of DESIGN.md plus breakdowns, transcripts and timings.

Fixed keys (other tools read them): ``model``, ``dialogues.total``, ``dialogues.pass^1``,
``dialogues.pass^k``, ``dialogues.k``, ``dialogues.results[].id``,
``dialogues.results[].trials[].{passed, failures, tokens, latency_s}``,
``retrieval.{queries, recall@1, recall@5, recall@10, mrr, by_lang}``,
``tokens.{prompt, completion}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals import metrics
from evals.records import TrialResult, TurnLog
from evals.schema import Dialogue

REPORT_VERSION = 1
MAX_RESULT_CHARS = 2000
"""Tool results are cut to this many characters of JSON in the report, to keep it readable."""


@dataclass
class RunResult:
    """Everything a run produced, before it is turned into a report."""

    model: str
    suite: str
    k: int
    dialogues: list[Dialogue]
    trials: list[TrialResult]
    retrieval: dict[str, Any] = field(default_factory=dict)
    judge: dict[str, Any] | None = None
    timing: dict[str, float] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


def _cut(value: Any) -> Any:
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= MAX_RESULT_CHARS:
        return value
    return text[: MAX_RESULT_CHARS - 1] + "…"


def _turn(turn: TurnLog) -> dict[str, Any]:
    data = turn.to_dict()
    for call in data["tool_calls"]:
        call["result"] = _cut(call["result"])
    return data


def _trial(trial: TrialResult) -> dict[str, Any]:
    return {
        "trial": trial.trial,
        "passed": trial.passed,
        "failures": [f.to_dict() for f in trial.failures]
        + ([{"check": "error", "turn": None, "reason": trial.error}] if trial.error else []),
        "tokens": {
            "prompt": trial.prompt_tokens,
            "completion": trial.completion_tokens,
            "total": trial.prompt_tokens + trial.completion_tokens,
        },
        "latency_s": round(trial.latency_s, 4),
        "turns": [_turn(t) for t in trial.turns],
    }


def empty_retrieval() -> dict[str, Any]:
    """The retrieval section of a suite without retrieval.jsonl (keys present, values null)."""
    return {"queries": 0, "recall@1": None, "recall@5": None, "recall@10": None, "mrr": None, "by_lang": {}}


def build_report(run: RunResult) -> dict[str, Any]:
    outcomes = metrics.outcomes(run.trials)
    by_id = {o.id: o for o in outcomes}
    results = []
    for dialogue in run.dialogues:
        trials = sorted((t for t in run.trials if t.dialogue_id == dialogue.id), key=lambda t: t.trial)
        if not trials:
            continue
        results.append(
            {
                "id": dialogue.id,
                "lang": dialogue.lang or "",
                "description": dialogue.description,
                "tags": list(dialogue.tags),
                "passed_trials": by_id[dialogue.id].passed,
                "trials": [_trial(t) for t in trials],
            }
        )
    turns = [turn for trial in run.trials for turn in trial.turns]
    prompt = sum(t.prompt_tokens for t in run.trials)
    completion = sum(t.completion_tokens for t in run.trials)
    # Turns the offline engine answered because the run's model failed (provider down, timeout).
    fallbacks = 0 if run.model == "offline" else sum(1 for t in turns if t.model == "offline")
    return {
        "version": REPORT_VERSION,
        "model": run.model,
        "suite": run.suite,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": run.settings,
        "dialogues": {
            "total": len(outcomes),
            "k": run.k,
            "pass^1": round(metrics.pass_k(outcomes, 1), 4),
            "pass^k": round(metrics.pass_all(outcomes), 4),
            "pass^j": {str(j): round(metrics.pass_k(outcomes, j), 4) for j in range(1, run.k + 1)},
            "trials": len(run.trials),
            "trials_passed": sum(1 for t in run.trials if t.passed),
            "by_lang": metrics.by_language(outcomes),
            "checks": metrics.checks_by_name(run.trials),
            "failures_by_check": metrics.failures_by_check(run.trials),
            "results": results,
            "fallback_turns": fallbacks,
        },
        "retrieval": run.retrieval or empty_retrieval(),
        "tokens": {
            "prompt": prompt,
            "completion": completion,
            "total": prompt + completion,
            "per_trial": metrics.summary(
                [float(t.prompt_tokens + t.completion_tokens) for t in run.trials], 1
            ),
            "per_turn": metrics.summary([float(t.prompt_tokens + t.completion_tokens) for t in turns], 1),
        },
        "latency_s": {
            "per_turn": metrics.summary([t.latency_s for t in turns]),
            "per_trial": metrics.summary([t.latency_s for t in run.trials]),
        },
        "judge": run.judge,
        "timing": {key: round(value, 2) for key, value in run.timing.items()},
    }


def write_report(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")


def read_report(path: Path) -> dict[str, Any]:
    """A report written by :func:`write_report`; ValueError naming the file when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable eval report ({exc})") from None
    if not isinstance(data, dict) or "dialogues" not in data or "model" not in data:
        raise ValueError(f"{path}: not an eval report (no 'model' and 'dialogues' keys)")
    return data
