"""The JSON report carries the ⚑ keys; compare says better/worse; HTML is self-contained and escaped."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from agent.fakes import FunctionModel
from agent.llm import Message, Reply, ToolSpec
from evals.cli import compare_command, summary
from evals.compare import changes, compare
from evals.html import render
from evals.judge import judge_run, parse_scores
from evals.records import CheckResult, ToolCallLog, TrialResult, TurnLog
from evals.report import RunResult, build_report, read_report, write_report
from evals.schema import Dialogue

NASTY = "<script>alert('x')</script>"


def _run(second_passes: bool = False, model: str = "offline") -> RunResult:
    dialogues = [
        Dialogue.model_validate({"id": "returns-en", "lang": "en", "turns": [{"user": "q"}]}),
        Dialogue.model_validate({"id": "cart-lt", "lang": "lt", "turns": [{"user": "q"}]}),
    ]
    ok_turn = TurnLog(
        "How long?",
        "45 days",
        [ToolCallLog("search_policies", {"query": "returns"}, {"passages": []})],
        120,
        8,
        0.2,
    )
    bad_turn = TurnLog(
        NASTY,
        f"reply {NASTY}",
        [ToolCallLog("add_to_cart", {"sku": "X"}, None, "out of stock")],
        100,
        10,
        0.4,
    )
    fail = [CheckResult("tools", False, f"did not call {NASTY}", 0)]
    trials = [
        TrialResult("returns-en", 0, "en", [ok_turn], [CheckResult("tools", True, turn=0)]),
        TrialResult("returns-en", 1, "en", [ok_turn], [CheckResult("tools", True, turn=0)]),
        TrialResult("cart-lt", 0, "lt", [bad_turn], [] if second_passes else fail),
        TrialResult("cart-lt", 1, "lt", [bad_turn], [CheckResult("tools", True, turn=0)]),
    ]
    retrieval = {"queries": 2, "recall@1": 0.5, "recall@5": 1.0, "recall@10": 1.0, "mrr": 0.75,
                 "by_lang": {"en": {"queries": 2, "recall@1": 0.5, "recall@5": 1.0, "recall@10": 1.0, "mrr": 0.75}}}  # fmt: skip
    return RunResult(model, "demo", 2, dialogues, trials, retrieval, timing={"total_s": 1.234})


def test_report_has_the_fixed_keys(tmp_path: Path) -> None:
    report = build_report(_run())
    assert report["model"] == "offline"
    d = report["dialogues"]
    assert (d["total"], d["k"], d["pass^1"], d["pass^k"]) == (2, 2, 0.75, 0.5)
    result = d["results"][1]
    assert result["id"] == "cart-lt"
    first = result["trials"][0]
    assert set(first) >= {"passed", "failures", "tokens", "latency_s"}
    assert first["passed"] is False and first["failures"][0]["check"] == "tools"
    assert first["tokens"] == {"prompt": 100, "completion": 10, "total": 110} and first["latency_s"] == 0.4
    r = report["retrieval"]
    assert r["queries"] == 2 and r["mrr"] == 0.75 and r["by_lang"]["en"]["recall@5"] == 1.0
    for key in ("recall@1", "recall@5", "recall@10"):
        assert key in r
    assert (report["tokens"]["prompt"], report["tokens"]["completion"]) == (440, 36)
    assert d["by_lang"]["lt"] == {"dialogues": 1, "pass^1": 0.5, "pass^k": 0.0}
    assert d["failures_by_check"] == {"tools": 1}
    path = tmp_path / "r.json"
    write_report(report, path)
    assert read_report(path)["dialogues"]["pass^1"] == 0.75
    json.loads(path.read_text(encoding="utf-8"))


def test_report_counts_turns_the_offline_engine_answered_for_the_model() -> None:
    run = _run(model="openai:small")
    for trial in run.trials:
        trial.turns[0].model = "openai:small"
    run.trials[2].turns = [dataclasses.replace(run.trials[2].turns[0], model="offline")]
    report = build_report(run)
    assert report["dialogues"]["fallback_turns"] == 1
    turn = report["dialogues"]["results"][1]["trials"][0]["turns"][0]
    assert turn["model"] == "offline"
    assert build_report(_run())["dialogues"]["fallback_turns"] == 0  # the offline engine itself
    assert "warning: 1 turns were answered by the offline engine" in summary(report)
    assert "warning" not in summary(build_report(_run()))


def test_report_without_retrieval_keeps_the_keys() -> None:
    run = _run()
    run.retrieval = {}
    r = build_report(run)["retrieval"]
    assert r["queries"] == 0 and r["recall@5"] is None and r["mrr"] is None and r["by_lang"] == {}


def test_read_report_refuses_other_json(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="not an eval report"):
        read_report(path)


def test_compare_reports_better_and_worse(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    before, after = build_report(_run()), build_report(_run(second_passes=True, model="openai:x"))
    after["retrieval"]["mrr"] = 0.5
    verdicts = {c.what: c.verdict for c in changes(before, after)}
    assert verdicts["dialogues pass^1"] == "better"
    assert verdicts["pass^1 [lt]"] == "better" and verdicts["pass^1 [en]"] == "same"
    assert verdicts["failed trials [tools]"] == "better"
    assert verdicts["retrieval mrr"] == "worse"
    text = compare(before, after)
    assert "better dialogues now passing: cart-lt" in text
    assert re.search(r"worse\s+retrieval mrr: 0.750 -> 0.500", text)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    write_report(before, a)
    write_report(after, b)
    compare_command([a, b])
    assert "better dialogues now passing: cart-lt" in capsys.readouterr().out


def test_html_is_self_contained_and_escaped() -> None:
    html = render(build_report(_run()))
    assert html.startswith("<!DOCTYPE html>")
    assert NASTY not in html and "&lt;script&gt;" in html
    assert "<svg" in html and "pass^1 per language" in html
    assert "<details" in html and "cart-lt" in html
    assert not re.search(r"(?:src|href)=['\"]?(?:https?:)?//", html)  # no CDN, no remote assets
    assert "<script" not in html


def test_judge_scores_apart_from_pass_fail() -> None:
    assert parse_scores('Sure: {"helpfulness": 4, "tone": 5, "comment": "fine"}') == {
        "helpfulness": 4.0, "tone": 5.0, "comment": "fine"}  # fmt: skip
    with pytest.raises(ValueError):
        parse_scores('{"helpfulness": 9, "tone": 5}')
    seen: list[str] = []

    def grade(messages: list[Message], _tools: list[ToolSpec]) -> Reply | str:
        seen.append(messages[0].content)
        return (
            '{"helpfulness": 3, "tone": 4, "comment": "ok"}'
            if "45 days" in messages[1].content
            else "no idea"
        )

    result = judge_run(FunctionModel(grade, name="judge"), _run().trials)
    assert "grading one conversation" in seen[0]
    summary: dict[str, Any] = result["summary"]
    assert summary["scored"] == 2 and summary["errors"] == 2 and summary["helpfulness"] == 3.0
    assert summary["by_lang"]["en"]["tone"] == 4.0
