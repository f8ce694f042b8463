"""Checks of the checks: a scripted agent runs a small suite through the real runner.

Every dialogue of ``tests/fixtures/evals/selftest`` is built either to pass all its checks
or to fail exactly one; ``scripts.yaml`` holds what the scripted model does in each and
which checks must fail. A check that cannot fail (or cannot pass) shows up here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from agent.fakes import ScriptedModel, Step, call
from agent.llm import ChatModel
from evals.cli import eval_command
from evals.report import build_report
from evals.runner import RunOptions, run_suite
from evals.schema import Dialogue
from evals.suite import load_suite
from shop.settings import Settings

SUITE = Path(__file__).resolve().parents[1] / "fixtures" / "evals" / "selftest"


def _steps(raw: list[dict[str, Any]]) -> list[Step]:
    steps: list[Step] = []
    for step in raw:
        if "say" in step:
            steps.append(str(step["say"]))
        else:
            steps.append(call(step["call"], **step.get("args", {})))
    return steps


@pytest.fixture(scope="module")
def scripts() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((SUITE / "scripts.yaml").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def report(scripts: dict[str, Any]) -> dict[str, Any]:
    suite = load_suite(SUITE)

    def factory(dialogue: Dialogue, _trial: int, _settings: Settings) -> ChatModel:
        return ScriptedModel(_steps(scripts[dialogue.id]["steps"]))

    options = RunOptions(
        model="scripted",
        trials=1,
        workers=2,
        embedder="hash",
        embed_cache=None,
        progress=False,
        model_factory=factory,
    )
    return build_report(run_suite(suite, options))


def test_every_dialogue_has_a_script(scripts: dict[str, Any]) -> None:
    ids = {d.id for d in load_suite(SUITE).dialogues}
    assert ids == set(scripts)
    # every check the runner knows is exercised by a dialogue built to fail it
    failing = {check for script in scripts.values() for check in script["fails"]}
    assert failing >= {
        "tools", "no_tools", "any_tools", "args", "reply_matches", "reply_not_matches", "handoff", "lang",
        "reply_lang", "final.cart", "final.orders_placed", "final.order_status", "grounding",
    }  # fmt: skip


def test_each_dialogue_fails_exactly_the_checks_it_was_built_to_fail(
    report: dict[str, Any], scripts: dict[str, Any]
) -> None:
    outcome = {}
    for result in report["dialogues"]["results"]:
        (trial,) = result["trials"]
        outcome[result["id"]] = sorted({f["check"] for f in trial["failures"]})
    expected = {did: sorted(script["fails"]) for did, script in scripts.items()}
    assert outcome == expected, json.dumps(
        {r["id"]: r["trials"][0]["failures"] for r in report["dialogues"]["results"]},
        indent=1,
        ensure_ascii=False,
    )


def test_report_numbers_follow_the_outcomes(report: dict[str, Any], scripts: dict[str, Any]) -> None:
    d = report["dialogues"]
    passing = sum(1 for s in scripts.values() if not s["fails"])
    assert d["total"] == len(scripts)
    assert d["pass^1"] == pytest.approx(round(passing / len(scripts), 4))
    assert d["failures_by_check"]["grounding"] == 3
    (result,) = [r for r in d["results"] if r["id"] == "pass-policy-cart"]
    turn = result["trials"][0]["turns"][0]
    assert turn["tool_calls"][0]["name"] == "search_policies" and turn["tokens"]["prompt"] > 0


def test_cli_writes_reports_and_fails_under_threshold(tmp_path: Path) -> None:
    report_path, html_path = tmp_path / "r.json", tmp_path / "r.html"
    with pytest.raises(typer.Exit) as exited:
        eval_command(
            str(SUITE),
            [],
            "fake",
            report_path=report_path,
            html_path=html_path,
            fail_under=0.5,
            embedder="hash",
            only=["pass-policy-cart", "fail-tools"],
            progress=False,
            embed_cache=False,
        )
    assert exited.value.exit_code == 1
    written = json.loads(report_path.read_text(encoding="utf-8"))
    assert written["model"] == "fake" and written["dialogues"]["total"] == 2
    assert "<svg" in html_path.read_text(encoding="utf-8")


def test_cli_reports_an_invalid_suite_without_a_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "dialogues").mkdir()
    (tmp_path / "dialogues" / "x.yaml").write_text("id: x\nturns:\n  - usr: hi\n", encoding="utf-8")
    with pytest.raises(typer.Exit) as exited:
        eval_command(str(tmp_path), [], "fake", progress=False)
    assert exited.value.exit_code == 2
    err = capsys.readouterr().err
    assert "x.yaml:3: turns.0.usr: unknown key" in err and "Traceback" not in err
