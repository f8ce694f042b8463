"""Optional LLM-as-judge: a second model scores helpfulness and tone with ``prompts/judge.md``.

The scores are opinions, so they are reported beside pass/fail and never change it. A
judge that fails or answers out of format leaves a note instead of a score.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import prompts
from agent.llm import ChatModel, Message
from evals.records import TrialResult

SCORES = ("helpfulness", "tone")
_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def transcript(trial: TrialResult) -> str:
    turns = [
        {
            "shopper": turn.user,
            "tools": [
                {"name": c.name, "arguments": c.arguments, "result": c.result, "error": c.error}
                for c in turn.tool_calls
            ],
            "assistant": turn.reply,
        }
        for turn in trial.turns
    ]
    return json.dumps(turns, ensure_ascii=False, default=str)


def parse_scores(text: str) -> dict[str, Any]:
    """``{"helpfulness": int, "tone": int, "comment": str}``; ValueError when not in that shape."""
    match = _OBJECT.search(text)
    if match is None:
        raise ValueError("the judge did not answer with a JSON object")
    data = json.loads(match.group(0))
    scores: dict[str, Any] = {}
    for name in SCORES:
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 5:
            raise ValueError(f"the judge's {name} is not a score from 1 to 5: {value!r}")
        scores[name] = float(value)
    scores["comment"] = str(data.get("comment", ""))[:500]
    return scores


def judge_trial(model: ChatModel, trial: TrialResult) -> dict[str, Any]:
    messages = [Message("system", prompts.load("judge.md")), Message("user", transcript(trial))]
    try:
        reply = model.complete(messages, [])
        return {"id": trial.dialogue_id, "trial": trial.trial, **parse_scores(reply.text)}
    except Exception as exc:  # a judge failing must not lose the run it is grading
        return {"id": trial.dialogue_id, "trial": trial.trial, "error": f"{type(exc).__name__}: {exc}"}


def judge_run(model: ChatModel, trials: Sequence[TrialResult]) -> dict[str, Any]:
    """Scores of every trial, with means overall and per language."""
    scored = [judge_trial(model, trial) for trial in trials]
    langs = {(t.dialogue_id, t.trial): t.lang or "mixed" for t in trials}
    by_lang: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in scored:
        if "error" not in item:
            by_lang[langs[(item["id"], item["trial"])]].append(item)

    def means(items: list[dict[str, Any]]) -> dict[str, float | int]:
        result: dict[str, float | int] = {"scored": len(items)}
        for name in SCORES:
            result[name] = round(sum(i[name] for i in items) / len(items), 3) if items else 0.0
        return result

    ok = [item for item in scored if "error" not in item]
    return {
        "model": model.name,
        "summary": {
            **means(ok),
            "errors": len(scored) - len(ok),
            "by_lang": {k: means(v) for k, v in sorted(by_lang.items())},
        },
        "scores": scored,
    }
