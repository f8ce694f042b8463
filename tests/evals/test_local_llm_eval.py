"""Opt-in: the bundled suite's dialogues against a real local OpenAI-compatible server.

Run with a server up (see ../shared/llm/README.md):

    set -a; eval "$(../shared/llm/local-llm.sh start 8089)"; set +a
    pytest -m local_llm tests/evals/test_local_llm_eval.py

It checks the run, not the model's grades: every turn was answered by the real model (no
fallback to the offline engine), tokens and latency were recorded, the report and the HTML
render, and no reply states a price or product that no tool result gave (the guards'
promise, which holds for any model).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from evals.html import render
from evals.report import build_report
from evals.runner import RunOptions, run_suite
from evals.suite import load_suite

SUITE = Path(__file__).resolve().parents[2] / "evals" / "suites" / "demo"
DIALOGUES = ["policy-returns-window-en", "search-headlamp-en", "policy-returns-lt"]

pytestmark = [
    pytest.mark.local_llm,
    pytest.mark.timeout(3600),
    pytest.mark.skipif(not os.environ.get("OPENAI_BASE_URL"), reason="set OPENAI_BASE_URL to a local server"),
]


def test_bundled_dialogues_against_a_local_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", os.environ.get("OPENAI_API_KEY", "sk-local"))
    monkeypatch.setenv("SHOPAGENT_MODEL_TIMEOUT_S", os.environ.get("SHOPAGENT_MODEL_TIMEOUT_S", "300"))
    monkeypatch.setenv("SHOPAGENT_TURN_TIMEOUT_S", os.environ.get("SHOPAGENT_TURN_TIMEOUT_S", "600"))
    name = os.environ.get("OPENAI_MODEL", "qwen2.5-coder-1.5b-instruct")
    options = RunOptions(model=f"openai:{name}", progress=False, dialogue_ids=DIALOGUES)

    report = build_report(run_suite(load_suite(SUITE), options))

    dialogues = report["dialogues"]
    assert report["model"] == f"openai:{name}" and dialogues["total"] == len(DIALOGUES)
    assert dialogues["fallback_turns"] == 0, "a turn fell back to the offline engine: is the server up?"
    turns = [turn for r in dialogues["results"] for t in r["trials"] for turn in t["turns"]]
    assert turns and all(turn["model"] == f"openai:{name}" and turn["reply"] for turn in turns), turns
    assert all(turn["tokens"]["prompt"] > 0 and turn["latency_s"] > 0 for turn in turns), turns
    assert report["tokens"]["prompt"] > 0 and report["tokens"]["completion"] > 0
    assert dialogues["checks"]["grounding"]["failed"] == 0, json.dumps(dialogues["results"], indent=1)
    assert 0.0 <= dialogues["pass^1"] <= 1.0 and report["retrieval"]["queries"] > 0
    html = render(report)
    assert "<html" in html and "policy-returns-window-en" in html
